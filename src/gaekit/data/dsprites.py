"""dSprites generated from its published definition (Matthey, Higgins, Hassabis & Lerchner 2017,
github.com/deepmind/dsprites-dataset), checksummed and cached as packed bits.

The definition (the dataset's README): 64x64 binary images of one white sprite, every combination of six
factors exactly once, 737,280 images, stored in the order of the factors with posY varying fastest:

=====  ============  =====  ===============================
index  factor        count  values
=====  ============  =====  ===============================
0      color         1      1 (white)
1      shape         3      1 square, 2 ellipse, 3 heart
2      scale         6      linspace(0.5, 1, 6)
3      orientation   40     linspace(0, 2 pi, 40) (radians)
4      posX          32     linspace(0, 1, 32)
5      posY          32     linspace(0, 1, 32)
=====  ============  =====  ===============================

``latents_classes`` holds each image's value indices and ``latents_values`` the values, as in the npz file.

What the README leaves open, chosen here (so the images are ours, not DeepMind's pixels; no test claims
pixel equality with their file):

- Geometry. Pixel ``(r, c)`` is the square ``[c, c + 1) x [r, r + 1)``, lit when its centre lies in the sprite.
  The sprite's centre is at ``x = 16 + 31 posX``, ``y = 16 + 31 posY`` (one pixel a position step, the
  smallest step; posY grows downwards); orientation turns it counter-clockwise as displayed.
- Shapes at scale ``s``: a square of side ``20 s``; an ellipse with semi-axes ``10 sqrt(2) s`` and half that;
  a heart, the region ``(x^2 + y^2 - 1)^3 <= x^2 y^3`` centred on its bounding box. All three have the circumradius
  ``10 sqrt(2) s`` of the square, so no sprite leaves the image at any position and orientation, and a sprite's
  pixel count does not depend on its position.
- Randomness: none. Rendering uses only +, -, *, / and comparisons on float64 (cos and sin of the 40 angles are
  rounded to 10 decimals first), so the bits are the same on every IEEE-754 machine; :data:`DSPRITES_SHA256` is
  the sha256 of the whole packed array and is checked after generating and on every load of the cache.

Memory: 512 bytes an image packed, 377 MB for the whole set (3.0 GB as uint8, 12 GB as float32); batches are
unpacked on the fly (:class:`gaekit.data.packed.PackedBitsDataset`). The cache is
``<data folder>/dsprites/dsprites_packed_v1.npy`` (written atomically; plain npy, read without pickle).
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import Tensor

from gaekit.data.lookup import PathLike, candidate_dirs, check_split, file_key
from gaekit.data.packed import PackedBitsDataset
from gaekit.errors import ConfigError, DataError

__all__ = ["DSPRITES_SHA256", "DSpritesDataset", "dsprites_latents", "generate_dsprites", "load_dsprites"]

LATENT_NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
LATENT_SIZES = (1, 3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
NUM_IMAGES = math.prod(LATENT_SIZES)  # 737,280
IMAGE_SHAPE = (1, 64, 64)
ROW_BYTES = 512
DSPRITES_SHA256 = "e801074d4adf49d5bc928cf642c7f4e3c97c9009282affae7ec180c2df966fe4"
CACHE_FILE = "dsprites_packed_v1.npy"

_HALF_SIDE = 10.0  # the square's half side at scale 1, in pixels
_RADIUS = _HALF_SIDE * math.sqrt(2.0)  # every shape's circumradius at scale 1
_HEART_CENTRE_Y = 0.11825  # centre of the heart curve's bounding box, y in [-1, 1.2365]
_HEART_RADIUS = 1.33664  # the heart's circumradius about that centre (rounded up)
_CANVAS = 95  # 64 + 31: every position's 64x64 window of one canvas
_OFFSETS = np.arange(_CANVAS, dtype=np.float64) - 46.5  # pixel-centre offsets from the sprite centre
_VERIFIED: set[tuple[str, int, int]] = set()


def _values() -> list[np.ndarray]:
    return [np.ones(1), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1.0, 6), np.linspace(0.0, 2 * np.pi, 40),
            np.linspace(0.0, 1.0, 32), np.linspace(0.0, 1.0, 32)]


def dsprites_latents(indices: np.ndarray | Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(latents_classes, latents_values)`` of the dSprites images at ``indices`` (default: all 737,280).

    Returns
    -------
    tuple of numpy.ndarray
        int64 value indices and float64 values, each shaped ``(n, 6)`` in :data:`LATENT_NAMES` order.
    """
    idx = np.arange(NUM_IMAGES) if indices is None else _check_indices(indices)
    classes = np.stack(np.unravel_index(idx, LATENT_SIZES), axis=1).astype(np.int64)
    values = np.stack([v[classes[:, k]] for k, v in enumerate(_values())], axis=1)
    return classes, values


def _check_indices(indices: np.ndarray | Sequence[int]) -> np.ndarray:
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise DataError(f"dSprites indices must be a 1-d array of integers; got shape {idx.shape}, dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= NUM_IMAGES):
        raise DataError(f"dSprites indices must lie in [0, {NUM_IMAGES}); got [{idx.min()}, {idx.max()}]")
    return idx.astype(np.int64)


def _inside(shape: int, u: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    """Whether the points ``(u, v)`` (sprite frame, y up) are in ``shape`` (0 square, 1 ellipse, 2 heart)."""
    if shape == 0:
        h = _HALF_SIDE * scale
        return (np.abs(u) <= h) & (np.abs(v) <= h)
    if shape == 1:
        a = _RADIUS * scale
        b = a / 2.0
        return (u * u) / (a * a) + (v * v) / (b * b) <= 1.0
    k = _RADIUS * scale / _HEART_RADIUS
    x = u / k
    y = v / k + _HEART_CENTRE_Y
    r = x * x + y * y - 1.0
    return r * r * r - x * x * (y * y * y) <= 0.0


def _canvas(sprite: int) -> np.ndarray:
    """The 95x95 canvas of sprite ``(shape * 6 + scale) * 40 + orientation`` centred at offset (0, 0)."""
    shape, rest = divmod(sprite, 6 * 40)
    scale_i, orient_i = divmod(rest, 40)
    theta = float(_values()[3][orient_i])
    c, s = round(math.cos(theta), 10), round(math.sin(theta), 10)
    px = _OFFSETS[None, :]  # x to the right
    py = -_OFFSETS[:, None]  # y up (rows grow downwards)
    u = c * px + s * py  # the point turned by -theta: the sprite turned by +theta
    v = c * py - s * px
    return _inside(shape, u, v, float(_values()[2][scale_i]))


def generate_dsprites(indices: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
    """Render the dSprites images at ``indices`` (default: all 737,280), packed 8 pixels a byte.

    Each sprite (shape, scale, orientation) is drawn once on a 95x95 canvas; the image at position
    ``(posX, posY)`` is the canvas's 64x64 window at ``(31 - posY, 31 - posX)``: vectorised, about 10 s for the
    whole set on one core.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(n, 512)``: row ``i`` is ``numpy.packbits`` of image ``indices[i]`` (64x64, row-major).
    """
    idx = np.arange(NUM_IMAGES) if indices is None else _check_indices(indices)
    classes, _ = dsprites_latents(idx)
    sprite = idx // (32 * 32)
    out = np.empty((idx.size, ROW_BYTES), dtype=np.uint8)
    order = np.argsort(sprite, kind="stable")
    bounds = np.flatnonzero(np.diff(sprite[order])) + 1
    for rows in np.split(order, bounds) if idx.size else []:
        windows = np.lib.stride_tricks.sliding_window_view(_canvas(int(sprite[rows[0]])), (64, 64))
        images = windows[31 - classes[rows, 5], 31 - classes[rows, 4]]
        out[rows] = np.packbits(images.reshape(rows.size, -1), axis=1)
    return out


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest()


def _check_full(packed: np.ndarray, where: str) -> None:
    if packed.shape != (NUM_IMAGES, ROW_BYTES) or packed.dtype != np.uint8:
        raise DataError(f"{where} holds an array of shape {packed.shape} and dtype {packed.dtype}; expected uint8 "
                        f"of shape ({NUM_IMAGES}, {ROW_BYTES}); delete it to generate dSprites again")
    actual = _sha256(packed)
    if actual != DSPRITES_SHA256:
        raise DataError(f"checksum mismatch for {where}: sha256 {actual}, expected {DSPRITES_SHA256}; "
                        "delete the cache file to generate dSprites again (a generated set that does not match "
                        "means this platform renders differently: please report it)")


def _read_cache(path: Path) -> np.ndarray:
    try:
        packed = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"the dSprites cache {path} is unreadable ({exc}); delete it to generate dSprites "
                        "again") from None
    if file_key(path) not in _VERIFIED:
        _check_full(packed, str(path))
        _VERIFIED.add(file_key(path))
    return packed


def _write_cache(folders: Sequence[Path], packed: np.ndarray) -> Path | None:
    """Write the cache atomically into the first writable folder; None (with a warning) when none is."""
    reasons = []
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{CACHE_FILE}.", suffix=".part", dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    np.save(f, packed, allow_pickle=False)
                os.replace(tmp, folder / CACHE_FILE)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            return folder / CACHE_FILE
        except OSError as exc:
            reasons.append(f"{folder}: {exc}")
    warnings.warn(f"dSprites could not be cached ({'; '.join(reasons)}); it will be generated again next time",
                  stacklevel=3)
    return None


def _cache_dirs(root: PathLike | None) -> list[Path]:
    """The cache's lookup folders; ``DataError`` when the given ``root`` is an existing file, not a folder."""
    cands = candidate_dirs("dsprites", root)
    if root is not None and cands[0].exists() and not cands[0].is_dir():
        raise DataError(f"dataset 'dsprites': the given data folder root={os.fspath(root)!r} is a file, not a "
                        "folder; give the folder that holds (or is to hold) the dSprites cache, or no root for the "
                        "usual places")
    return cands


def dsprites_packed(root: PathLike | None = None, cache: bool = True) -> np.ndarray:
    """The whole packed dSprites array: read from the cache when one of the lookup folders holds it (checked
    against :data:`DSPRITES_SHA256`), else generated, checked and (with ``cache``) written to the first writable
    folder among ``root/dsprites`` (or ``$GAEKIT_DATA_DIR/dsprites``, then the user data folder); ``DataError``
    when ``root`` is a file."""
    cands = _cache_dirs(root)
    for c in cands:
        if (c / CACHE_FILE).is_file():
            return _read_cache(c / CACHE_FILE)
    packed = generate_dsprites()
    _check_full(packed, "the generated dSprites array")
    if cache:
        _write_cache(cands[1:] if root is not None else cands, packed)
    return packed


def _split_of(indices: np.ndarray) -> np.ndarray:
    """0 test, 1 validation, 2-9 train: the last decimal digit of a splitmix64 hash of each index (no RNG)."""
    with np.errstate(over="ignore"):
        z = indices.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(10)).astype(np.int64)


def split_indices(split: str) -> np.ndarray:
    """The dSprites indices of ``split``: "train_full" all; "train" / "validation" / "test" about 80/10/10 %,
    by a fixed hash of the index (dSprites publishes no split; Chen et al. 2018 train on all of it)."""
    check_split(split)
    idx = np.arange(NUM_IMAGES)
    if split == "train_full":
        return idx
    part = _split_of(idx)
    keep = {"test": part == 0, "validation": part == 1, "train": part >= 2}[split]
    return idx[keep]


class DSpritesDataset(PackedBitsDataset):
    """dSprites images (packed bits, float32 0/1 batches of shape ``(B, 1, 64, 64)``) with their factors.

    ``labels`` are the shape classes (0 square, 1 ellipse, 2 heart); :attr:`index` gives each row's dSprites
    index, and :attr:`latents_classes` / :attr:`latents_values` its six factors (see the module docstring).
    """

    def __init__(self, packed: np.ndarray | Tensor, index: np.ndarray):
        self.index = np.asarray(index, dtype=np.int64)
        super().__init__(packed, IMAGE_SHAPE, dsprites_latents(self.index)[0][:, 1])

    @property
    def latents_classes(self) -> np.ndarray:
        """int64 ``(N, 6)``: each image's factor value indices."""
        return dsprites_latents(self.index)[0]

    @property
    def latents_values(self) -> np.ndarray:
        """float64 ``(N, 6)``: each image's factor values."""
        return dsprites_latents(self.index)[1]

    def _take(self, rows: Tensor) -> DSpritesDataset:
        return DSpritesDataset(self._data.index_select(0, rows), self.index[rows.cpu().numpy()])


def load_dsprites(split: str = "train_full", root: PathLike | None = None, *, num: int | None = None,
                  seed: int = 0, cache: bool = True) -> DSpritesDataset:
    """Load dSprites (generated on first use, then cached; see the module docstring).

    Parameters
    ----------
    split : {"train_full", "train", "validation", "test"}, default "train_full"
        "train_full" is all 737,280 images; the others a fixed 80/10/10 partition (see :func:`split_indices`).
    root : str or Path, optional
        The data folder: the cache is looked for in ``root`` and ``root/dsprites`` only, and written to
        ``root/dsprites``.
    num : int, optional
        Only ``num`` images of the split (at most its size), drawn without replacement with ``seed`` (in index
        order) and generated directly (no cache read or written): for tests and quick runs.
    seed : int, default 0
        Seed of the ``num`` draw (the only randomness).
    cache : bool, default True
        Write the cache after generating the whole set.

    Returns
    -------
    DSpritesDataset

    Raises
    ------
    ConfigError
        Unknown split, a bad ``seed``, or a bad ``num`` (also one larger than the split).
    DataError
        ``root`` is a file; an unreadable cache, or one (or a generated set) whose sha256 is not
        :data:`DSPRITES_SHA256`.
    """
    check_split(split)
    _cache_dirs(root)
    idx = split_indices(split)
    for name, value, low in (("num", num, 1), ("seed", seed, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ConfigError(f"{name}={value!r} is invalid: expected an int >= {low}")
    if num is not None and num > idx.size:
        raise ConfigError(f"num={num} is invalid: the {split!r} split has {idx.size} images; expected an int in "
                          f"[1, {idx.size}]")
    if num is not None:
        sel = np.sort(np.random.default_rng(seed).choice(idx.size, size=num, replace=False))
        return DSpritesDataset(generate_dsprites(idx[sel]), idx[sel])
    packed = dsprites_packed(root, cache)
    return DSpritesDataset(packed if split == "train_full" else packed[idx], idx)
