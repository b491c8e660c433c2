"""scikit-learn's bundled 8x8 digits as a gaekit dataset, split by a fixed-seed permutation (no download).

scikit-learn is imported only when :func:`load_digits` is called.
"""

from __future__ import annotations

import numpy as np

from gaekit.data.containers import ArrayDataset
from gaekit.data.lookup import PathLike, check_split

__all__ = ["load_digits"]

_DIGITS_SIZES = {"train": 1297, "validation": 200, "test": 300}
_DIGITS_SEED = 20240611
_DIGITS_CACHE: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _clear_cache() -> None:
    """Forget the loaded digits (for tests)."""
    _DIGITS_CACHE.clear()


def _fixed_permutation(n: int, seed: int) -> np.ndarray:
    """A permutation of ``range(n)`` that depends on nothing but ``seed`` (Fisher-Yates driven by
    splitmix64), so splits are identical across numpy and torch versions."""
    mask = (1 << 64) - 1
    state = seed & mask
    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        j = z % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


def load_digits(split: str = "train", root: PathLike | None = None) -> ArrayDataset:
    """Load scikit-learn's bundled 8x8 digits (1797 images) as float32 in [0, 1], shape ``(N, 1, 8, 8)``.

    A fixed-seed permutation splits them into "train" (1297), "validation" (200) and "test" (300);
    "train_full" is train + validation (1497). Needs no download.

    Parameters
    ----------
    split : {"train", "validation", "test", "train_full"}
        Which part.
    root : ignored
        Accepted so that every registered loader has the same signature.

    Returns
    -------
    ArrayDataset
        Float32 images and int64 labels.
    """
    check_split(split)
    if "all" not in _DIGITS_CACHE:
        from sklearn.datasets import load_digits as _sk_load_digits

        bunch = _sk_load_digits()
        images = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0)).reshape(-1, 1, 8, 8)
        labels = np.asarray(bunch.target, dtype=np.int64)
        perm = _fixed_permutation(images.shape[0], _DIGITS_SEED)
        for a in (images, labels, perm):
            a.flags.writeable = False
        _DIGITS_CACHE["all"] = (images, labels, perm)
    images, labels, perm = _DIGITS_CACHE["all"]
    n_tr, n_va = _DIGITS_SIZES["train"], _DIGITS_SIZES["validation"]
    idx = {
        "train": perm[:n_tr],
        "validation": perm[n_tr : n_tr + n_va],
        "test": perm[n_tr + n_va :],
        "train_full": perm[: n_tr + n_va],
    }[split]
    return ArrayDataset(images[idx], labels[idx])  # fancy indexing copies
