"""Binarized MNIST: dynamic (a fresh Bernoulli draw of every training batch), Larochelle & Murray's static files,
and a seeded fixed binarization standing in for those files.

Three kinds, as the papers use them:

- **dynamic** (Burda et al. 2016, ICLR, arXiv:1509.00519, Sec. 5; Rainforth et al. 2018, ICML,
  arXiv:1802.04537, Sec. 5): MNIST intensities ``p`` in [0, 1] are the probabilities of independent Bernoulli
  pixels, ``x ~ Bernoulli(p)``, drawn afresh for every training batch; validation and test are binarized once,
  with a fixed seed. See :class:`DynamicBinarizedDataset` for how a batch's draw is made resumable.
- **static** (Larochelle & Murray 2011, AISTATS, "The neural autoregressive distribution estimator"; used by
  Rezende & Mohamed 2015, Burda et al. 2016, Salimans et al. 2015, Tomczak & Welling 2018): the files
  ``binarized_mnist_{train,valid,test}.amat`` (50,000 / 10,000 / 10,000 images, one image a line, 784 values
  ``0``/``1`` separated by single spaces), read from the data lookup (folder ``binarized-mnist``) and checked
  against the sha256 sums TensorFlow Datasets publishes for them (``binarized_mnist/checksums.tsv``).
- **stand-in**: a seeded fixed binarization of gaekit's MNIST splits, for when Larochelle's files are absent.
  It is *not* Larochelle's binarization (another draw of the same kind): results on it are marked as a
  stand-in by whoever reports them.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gaekit.data.containers import ArrayDataset, Batch
from gaekit.data.lookup import PathLike, candidate_dirs, check_split, file_key, not_found
from gaekit.data.mnist import load_mnist
from gaekit.data.tensors import DeviceLike, as_device, labels_to
from gaekit.errors import ConfigError, DataError

__all__ = ["AMAT_FILES", "DynamicBinarizedDataset", "binarize_fixed", "load_binarized_mnist", "read_amat"]

KINDS = ("dynamic", "static", "stand-in")

# Larochelle's files by gaekit split; "train_full" is train followed by valid.
AMAT_FILES = {
    "train": "binarized_mnist_train.amat",
    "validation": "binarized_mnist_valid.amat",
    "test": "binarized_mnist_test.amat",
}
# (size in bytes, sha256) of the uncompressed files, as TensorFlow Datasets publishes them
# (tensorflow_datasets/datasets/binarized_mnist/checksums.tsv): 1,568 bytes a line = 784 values and separators.
AMAT_SUMS = {
    "binarized_mnist_train.amat": (78_400_000, "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d"),
    "binarized_mnist_valid.amat": (15_680_000, "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2"),
    "binarized_mnist_test.amat": (15_680_000, "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c"),
}
AMAT_URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
_PIXELS = 784
_CHUNK = 10_000  # rows of a fixed binarization drawn from one generator (aligned with gaekit's MNIST splits)
_VERIFIED: set[tuple[str, int, int]] = set()  # files whose sha256 matched, by file_key
_FIXED_CACHE: dict[tuple[str, int, str], np.ndarray] = {}  # recent fixed draws, by (file, seed, images' sha256)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r} is invalid: expected a non-negative int")
    return seed


def _generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded by a hash of ``parts`` (bytes or str), the same on every platform."""
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\x00")
    return torch.Generator().manual_seed(int.from_bytes(h.digest(), "little") & (2**63 - 1))


def _bernoulli(probs: Tensor, gen: torch.Generator) -> Tensor:
    """Float32 0/1 draws of ``Bernoulli(probs)``: uniforms drawn on the CPU (device-independent), compared where
    ``probs`` lives."""
    u = torch.rand(probs.shape, generator=gen, dtype=torch.float32)
    return (u.to(probs.device) < probs).to(torch.float32)


def binarize_fixed(images: np.ndarray, seed: int = 0, tag: str = "") -> np.ndarray:
    """A fixed binarization ``x ~ Bernoulli(images / 255)`` of uint8 images, as uint8 0/255.

    Rows ``[c * 10000, (c + 1) * 10000)`` are drawn from a generator seeded by a hash of ``(seed, tag, c)``,
    so a split that starts on a multiple of 10,000 rows of the same file (gaekit's MNIST splits do) gets the
    same bits whether it is binarized alone or as part of the whole file.

    Parameters
    ----------
    images : numpy.ndarray
        uint8 intensities, shape ``(N, ...)``.
    seed : int
        Seed of the draw.
    tag : str
        Names the source (e.g. "mnist/train"), so that two files never share a draw.

    Returns
    -------
    numpy.ndarray
        uint8 array of 0 and 255, shaped like ``images``.
    """
    _check_seed(seed)
    if images.dtype != np.uint8:
        raise DataError(f"binarize_fixed needs uint8 intensities in 0..255; got dtype {images.dtype}")
    out = np.empty_like(images)
    for c, start in enumerate(range(0, images.shape[0], _CHUNK)):
        probs = torch.from_numpy(np.ascontiguousarray(images[start:start + _CHUNK])).to(torch.float32) / 255.0
        out[start:start + _CHUNK] = (_bernoulli(probs, _generator("fixed", seed, tag, c)) * 255).to(torch.uint8)
    return out


class DynamicBinarizedDataset(ArrayDataset):
    """MNIST-like intensities whose every batch is a fresh Bernoulli draw (dynamic binarization).

    The stored data are the intensities (uint8 0..255 or float in [0, 1]); :meth:`get_batch` returns
    ``x ~ Bernoulli(p)`` with ``p`` the batch's intensities (Burda et al. 2016, Sec. 5).

    Why this hook: the trainer (``gaekit.trainers.Trainer``) draws each epoch's permutation from its data
    generator, whose state at the start of the epoch is checkpointed, and gathers batch ``b`` with
    ``get_batch(perm[b * B:(b + 1) * B])`` (``gaekit.data.batching``). So the batch's index tensor is a pure
    function of the checkpointed data-order state and of ``b``, and a draw seeded by a hash of ``(seed, the
    batch's indices)`` is too: a run resumed mid-epoch regathers the same indices and draws the same bits, with
    no new state to save and no change to the trainer. Every process of a data-parallel run gathers the same
    global batch, so all draw the bits of a one-process run. A new epoch's permutation gives new index
    tensors, hence fresh bits. The uniforms are drawn on the CPU, so the bits do not depend on the device.

    Limits: with ``shuffle=False`` (or one sample a batch) the batches, and so the bits, repeat every epoch:
    that is a fixed binarization, not a dynamic one; train with ``shuffle=True`` (the default) and batches of
    more than one sample. :meth:`as_float` and :attr:`data` give the intensities, not a draw.

    Parameters
    ----------
    data : numpy.ndarray or Tensor
        Intensities, uint8 (scaled by 1/255) or float in [0, 1].
    labels : array-like, optional
        One label per sample.
    seed : int, default 0
        Seed of the draws (mixed with each batch's indices).
    """

    def __init__(self, data: np.ndarray | Tensor, labels: object = None, *, seed: int = 0):
        super().__init__(data, labels)
        self.seed = _check_seed(seed)

    def get_batch(self, indices: Tensor | Sequence[int] | np.ndarray, device: DeviceLike = None) -> Batch:
        """A float32 0/1 batch drawn from the intensities at ``indices``; the draw is a pure function of
        ``(seed, indices)``."""
        idx = torch.as_tensor(indices, dtype=torch.int64)
        key = idx.cpu().numpy().astype("<i8").tobytes()
        probs = super().get_batch(idx, None)
        dev = as_device(device)
        data = _bernoulli(probs.data, _generator("dynamic", self.seed, key))
        return Batch(data if dev is None else data.to(dev), labels_to(probs.labels, dev))

    def _get_range(self, start: int, stop: int, device: torch.device | None) -> Batch:
        # the unshuffled batch [start, stop) draws as the shuffled batch with the same indices would
        return self.get_batch(torch.arange(start, stop), device)

    def subset(self, indices_or_slice: slice | Tensor | Sequence[int] | np.ndarray) -> DynamicBinarizedDataset:
        """The selected samples, still binarized per batch with the same seed."""
        sub = ArrayDataset.subset(self, indices_or_slice)
        return DynamicBinarizedDataset(sub.data, sub.labels, seed=self.seed)

    def to(self, device: DeviceLike) -> DynamicBinarizedDataset:
        """The dataset with its storage on ``device`` (the bits stay the same: uniforms come from the CPU)."""
        moved = ArrayDataset.to(self, device)
        return self if moved is self else DynamicBinarizedDataset(moved.data, moved.labels, seed=self.seed)

    def __repr__(self) -> str:
        return f"DynamicBinarizedDataset{super().__repr__()[len('ArrayDataset'):-1]}, seed={self.seed})"


# ---------------------------------------------------------------------- Larochelle's .amat files
def _amat_error(path: Path, buf: np.ndarray, pos: int, what: str) -> DataError:
    line = int(np.count_nonzero(buf[:pos] == 10)) + 1
    return DataError(f"{path} line {line}: {what}; expected {_PIXELS} values 0 or 1 separated by spaces, one image "
                     "a line (Larochelle & Murray's binarized MNIST .amat format)")


def read_amat(path: PathLike) -> np.ndarray:
    """Read a binarized-MNIST ``.amat`` file (raw or gzip): one image a line, 784 values ``0``/``1``.

    The format is checked strictly: only the characters ``0``, ``1``, spaces, tabs and line ends; every value
    one character; every non-empty line exactly 784 values; empty lines only at the end.

    Returns
    -------
    numpy.ndarray
        uint8 images of 0 and 255, shape ``(N, 1, 28, 28)``.

    Raises
    ------
    DataError
        A missing file or one that breaks the format (the message names the line).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f".amat file {p} does not exist")
    buf = np.frombuffer(_read_bytes(p), dtype=np.uint8)
    fast = _official_layout(buf)
    if fast is not None:
        return fast
    allowed = np.zeros(256, dtype=bool)
    allowed[np.frombuffer(b"01 \t\r\n", dtype=np.uint8)] = True
    bad = ~allowed[buf]
    if bad.any():
        pos = int(np.argmax(bad))
        char = bytes(buf[pos:pos + 1]).decode("latin-1")
        raise _amat_error(p, buf, pos, f"character {char!r}")
    digit = (buf == 48) | (buf == 49)
    joined = digit[1:] & digit[:-1]
    if joined.any():
        raise _amat_error(p, buf, int(np.argmax(joined)), "a value of more than one character")
    line_of = np.cumsum(buf == 10, dtype=np.int32)[digit]
    counts = np.bincount(line_of) if line_of.size else np.zeros(0, dtype=np.int64)
    wrong = np.flatnonzero(counts != _PIXELS)
    if wrong.size:
        line = int(wrong[0])
        raise _count_error(p, line, int(counts[line]), counts.size)
    if counts.size == 0:
        raise DataError(f"{p} holds no image; expected lines of {_PIXELS} values 0 or 1")
    return ((buf[digit] - 48) * 255).astype(np.uint8).reshape(-1, 1, 28, 28)


def _official_layout(buf: np.ndarray) -> np.ndarray | None:
    """The images when ``buf`` has exactly the published layout (each line: 784 digits 0/1 joined by single
    spaces, then a newline), checked on a reshaped view in one pass; None for any other layout."""
    width = 2 * _PIXELS
    if buf.size == 0 or buf.size % width:
        return None
    rows = buf.reshape(-1, width)
    values = rows[:, 0::2]
    if not ((rows[:, 1:-1:2] == 32).all() and (rows[:, -1] == 10).all() and (values <= 49).all()
            and (values >= 48).all()):
        return None
    return ((values - 48) * 255).astype(np.uint8).reshape(-1, 1, 28, 28)


def _count_error(path: Path, line: int, count: int, lines: int) -> DataError:
    what = "an empty line before the last image" if count == 0 else f"{count} values"
    return DataError(f"{path} line {line + 1}: {what}; expected {_PIXELS} values 0 or 1 separated by spaces on "
                     f"each of its {lines} lines (Larochelle & Murray's binarized MNIST .amat format)")


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path} is not a valid gzip file ({exc}); delete it and get it again") from None


def _verify_amat(path: Path) -> None:
    """Check ``path`` (its uncompressed content) against the published size and sha256."""
    key = file_key(path)
    if key in _VERIFIED:
        return
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    size, sha = AMAT_SUMS[name]
    raw = _read_bytes(path)
    actual = hashlib.sha256(raw).hexdigest()
    if len(raw) != size or actual != sha:
        raise DataError(f"checksum mismatch for {path}: expected {size} bytes with sha256 {sha}, got {len(raw)} "
                        f"bytes with sha256 {actual}; the file is corrupted or not Larochelle's — get it again from "
                        f"{AMAT_URL}{name}, or pass verify=False for a file of your own")
    _VERIFIED.add(key)


def _amat_folder(root: PathLike | None) -> Path:
    """The first lookup folder holding the three .amat files (each possibly .gz), else a DataError naming them."""
    cands = candidate_dirs("binarized-mnist", root)
    for c in cands:
        if c.is_dir() and all((c / f).is_file() or (c / f"{f}.gz").is_file() for f in AMAT_FILES.values()):
            return c
    raise not_found("binarized-mnist", root, cands, f"no folder with {', '.join(AMAT_FILES.values())} (each possibly "
                    ".gz)", f"download the three files from {AMAT_URL} into {{where}}, use the dataset "
                    "'binarized-mnist-stand-in' (a seeded binarization of MNIST, not Larochelle's)")


def _load_static(split: str, root: PathLike | None, verify: bool) -> ArrayDataset:
    folder = _amat_folder(root)
    parts = ("train", "validation") if split == "train_full" else (split,)
    arrays = []
    for part in parts:
        path = folder / AMAT_FILES[part]
        path = path if path.is_file() else path.with_name(path.name + ".gz")
        if verify:
            _verify_amat(path)
        arrays.append(read_amat(path))
    return ArrayDataset(np.concatenate(arrays) if len(arrays) > 1 else arrays[0])


# ---------------------------------------------------------------------- the loader
def _fixed_mnist(split: str, root: PathLike | None, seed: int, verify: bool) -> ArrayDataset:
    """gaekit's MNIST ``split`` binarized once: the draw of its official file, so splits of one file agree."""
    part = "test" if split == "test" else "train"
    full = load_mnist("test" if part == "test" else "train_full", root, verify)
    images = full.data.numpy()
    key = (part, seed, hashlib.sha256(images.data).hexdigest())
    bits = _FIXED_CACHE.get(key)
    if bits is None:
        bits = binarize_fixed(images, seed, f"mnist/{part}")
        bits.flags.writeable = False
        if len(_FIXED_CACHE) >= 3:  # a few draws kept (47 MB for the training file)
            _FIXED_CACHE.pop(next(iter(_FIXED_CACHE)))
        _FIXED_CACHE[key] = bits
    n = images.shape[0]
    rows = {"train": slice(0, n - n // 6), "validation": slice(n - n // 6, n)}.get(split, slice(0, n))
    assert full.labels is not None
    return ArrayDataset(np.array(bits[rows], copy=True), full.labels[rows])


def load_binarized_mnist(split: str = "train", kind: str = "dynamic", root: PathLike | None = None, seed: int = 0,
                         verify: bool = True) -> ArrayDataset:
    """Load binarized MNIST of the given ``kind`` (see the module docstring for the papers).

    Parameters
    ----------
    split : {"train", "validation", "test", "train_full"}
        gaekit's MNIST splits (the last 10,000 official training images are the validation split); for
        "static", Larochelle's train / valid / test files ("train_full": train followed by valid).
    kind : {"dynamic", "static", "stand-in"}
        "dynamic": the training splits ("train", "train_full") are a :class:`DynamicBinarizedDataset` (a fresh
        draw every batch); "validation" and "test" are binarized once (as "stand-in" does). "static":
        Larochelle & Murray's files. "stand-in": every split binarized once with ``seed``.
    root : str or Path, optional
        The folder looked in (see :func:`gaekit.data.find_data_dir`): MNIST's IDX files for "dynamic" and
        "stand-in", a folder holding the three ``.amat`` files (folder name ``binarized-mnist``) for "static".
    seed : int, default 0
        Seed of the dynamic draws and of the fixed binarization (ignored for "static").
    verify : bool, default True
        Check the files' checksums (MNIST's md5; the published sha256 of the .amat files).

    Returns
    -------
    ArrayDataset
        Images ``(N, 1, 28, 28)``: stored as uint8 0/255 when binarized once (so batches are 0.0/1.0), as the
        intensities for a dynamic training split. MNIST's labels, except for "static" (Larochelle's files have
        none).

    Raises
    ------
    ConfigError
        Unknown split or kind, or a bad seed.
    DataError
        Missing or corrupted files; for "static" the message names the three files and every folder searched.
    """
    check_split(split)
    if kind not in KINDS:
        raise ConfigError(f"kind={kind!r} is invalid: expected one of {', '.join(KINDS)}")
    _check_seed(seed)
    if kind == "static":
        return _load_static(split, root, verify)
    if kind == "dynamic" and split in ("train", "train_full"):
        ds = load_mnist(split, root, verify)
        return DynamicBinarizedDataset(ds.data, ds.labels, seed=seed)
    return _fixed_mnist(split, root, seed, verify)


def load_binarized_mnist_static(split: str = "train", root: PathLike | None = None) -> ArrayDataset:
    """Larochelle & Murray's static binarized MNIST (``load_binarized_mnist(split, "static", root)``)."""
    return load_binarized_mnist(split, "static", root)


def load_binarized_mnist_stand_in(split: str = "train", root: PathLike | None = None) -> ArrayDataset:
    """A seeded fixed binarization of MNIST standing in for Larochelle's files (``kind="stand-in"``, seed 0)."""
    return load_binarized_mnist(split, "stand-in", root)
