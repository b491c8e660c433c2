"""Color-dSprites and Noisy-dSprites (Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised
Learning of Disentangled Representations", ICML, Sec. 5), as their ``disentanglement_lib`` renders them.

Both are dSprites (:mod:`gaekit.data.dsprites`) with observation noise drawn afresh every time an image is
observed; the ground-truth factors stay dSprites' five (shape, scale, orientation, posX, posY). Observations are
float32 ``(B, 3, 64, 64)`` (channels first, as everywhere in gaekit):

- **Color-dSprites**: the sprite takes a random colour, each RGB channel drawn uniformly in [0.5, 1] per image;
  the background stays black: ``x = bits * colour``.
- **Noisy-dSprites**: the background is uniform noise in [0, 1] per pixel and channel; the sprite stays white:
  ``x = min(bits + noise, 1)``.

Randomness: a batch's uniforms come from a CPU generator seeded by a hash of ``(variant, seed, the batch's
dSprites indices)`` (see :func:`variant_generator`), as for the dynamic binarization of
:class:`gaekit.data.DynamicBinarizedDataset`: the trainer's batch indices are a pure function of its checkpointed
data-order state, so a resumed run draws the colours / noise of an uninterrupted one, and a new epoch's
permutation gives fresh draws. Hashing the dSprites indices (not the row numbers) makes a subset draw what the
whole set draws for the same images, and lets :mod:`gaekit.metrics.disentanglement`'s ground-truth sources share
the draws (:func:`apply_variant` is the one place the maths lives).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

from gaekit.config import check_seed
from gaekit.data.containers import Batch
from gaekit.data.dsprites import DSpritesDataset, load_dsprites
from gaekit.data.lookup import PathLike
from gaekit.data.tensors import DeviceLike
from gaekit.errors import ConfigError, DataError

__all__ = ["OBSERVATION_SHAPE", "VARIANTS", "ColorDSpritesDataset", "NoisyDSpritesDataset", "apply_variant",
           "load_color_dsprites", "load_noisy_dsprites", "variant_generator"]

VARIANTS = ("color", "noisy")
OBSERVATION_SHAPE = (3, 64, 64)
COLOR_LOW = 0.5  # each colour channel ~ U[0.5, 1] (disentanglement_lib's ColorDSprites)


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ConfigError(f"variant={variant!r} is invalid: expected one of {', '.join(VARIANTS)}")
    return variant


def variant_generator(variant: str, seed: int, indices: np.ndarray | Sequence[int]) -> torch.Generator:
    """The CPU generator of one batch: seeded by a blake2b hash of ``(variant, seed, indices as little-endian
    int64)``, the same on every platform.

    Parameters
    ----------
    variant : {"color", "noisy"}
    seed : int
        The dataset's (or ground-truth source's) seed, >= 0.
    indices : array-like of int
        The batch's dSprites indices, in batch order.

    Raises
    ------
    ConfigError
        Unknown variant or a bad seed.
    """
    h = hashlib.blake2b(digest_size=8)
    for part in (f"dsprites-{_check_variant(variant)}".encode(), str(check_seed(seed)).encode(),
                 np.asarray(indices, dtype="<i8").tobytes()):
        h.update(part)
        h.update(b"\x00")
    return torch.Generator().manual_seed(int.from_bytes(h.digest(), "little") & (2**63 - 1))


def apply_variant(bits: Tensor, variant: str, generator: torch.Generator) -> Tensor:
    """The variant's observations of dSprites images: float32 ``(B, 3, 64, 64)`` on ``bits``' device.

    Color: ``bits * c`` with ``c ~ U[0.5, 1]^3`` per image; noisy: ``min(bits + u, 1)`` with ``u ~ U[0, 1]`` per
    pixel and channel. The uniforms are drawn on the CPU from ``generator``, so the result does not depend on
    the device.

    Parameters
    ----------
    bits : Tensor
        float 0/1 images, shape ``(B, 1, 64, 64)``.
    variant : {"color", "noisy"}
    generator : torch.Generator
        A CPU generator, e.g. :func:`variant_generator`.

    Raises
    ------
    ConfigError
        Unknown variant.
    DataError
        ``bits`` not shaped ``(B, 1, H, W)``.
    """
    _check_variant(variant)
    if bits.ndim != 4 or bits.shape[1] != 1:
        raise DataError(f"apply_variant needs dSprites images shaped (B, 1, H, W); got {tuple(bits.shape)}")
    bits = bits.to(torch.float32)
    n, _, height, width = bits.shape
    if variant == "color":
        u = torch.rand((n, 3, 1, 1), generator=generator, dtype=torch.float32)
        return bits * (COLOR_LOW + (1.0 - COLOR_LOW) * u).to(bits.device)
    u = torch.rand((n, 3, height, width), generator=generator, dtype=torch.float32)
    return torch.clamp(bits + u.to(bits.device), max=1.0)


class _VariantDSprites(DSpritesDataset):
    """dSprites whose batches are the variant's observations, drawn afresh per batch (see the module docstring).

    Stored as dSprites' packed bits (512 bytes an image); :attr:`sample_shape` is ``(3, 64, 64)``. ``labels``,
    :attr:`index`, :attr:`latents_classes` and :attr:`latents_values` are dSprites'.

    Limits: with ``shuffle=False`` (or one sample a batch) the batches, and so the draws, repeat every epoch;
    train with ``shuffle=True`` (the default). :attr:`data` and :meth:`as_float` render the whole set as one
    batch (48 KiB an image as float32): use batches for large sets.

    Parameters
    ----------
    packed : numpy.ndarray or Tensor
        dSprites' packed bits, uint8 ``(N, 512)``.
    index : numpy.ndarray
        Each row's dSprites index.
    seed : int, default 0
        Seed of the draws (mixed with each batch's dSprites indices).

    Raises
    ------
    ConfigError
        A bad seed.
    """

    variant = ""

    def __init__(self, packed: np.ndarray | Tensor, index: np.ndarray, *, seed: int = 0):
        super().__init__(packed, index)
        self.seed = check_seed(seed)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one observation, ``(3, 64, 64)``."""
        return OBSERVATION_SHAPE

    @property
    def data(self) -> Tensor:
        """The whole set's observations (the draw of the batch ``0 .. N-1``), float32; a new tensor."""
        return self.as_float()

    def as_float(self) -> Tensor:
        """The whole set's observations (the draw of the batch ``0 .. N-1``), float32; a new tensor."""
        return self.get_batch(torch.arange(len(self))).data

    def get_batch(self, indices: Tensor | Sequence[int] | np.ndarray, device: DeviceLike = None) -> Batch:
        """The observations at ``indices``, float32 ``(B, 3, 64, 64)``: a pure function of ``(variant, seed, the
        dSprites indices of the rows)``."""
        idx = torch.as_tensor(indices, dtype=torch.int64)
        images = super().get_batch(idx, device)
        gen = variant_generator(self.variant, self.seed, self.index[idx.cpu().numpy()])
        return Batch(apply_variant(images.data, self.variant, gen), images.labels)

    def _get_range(self, start: int, stop: int, device: torch.device | None) -> Batch:
        # the unshuffled batch [start, stop) draws as the shuffled batch with the same indices would
        return self.get_batch(torch.arange(start, stop), device)

    def _take(self, rows: Tensor) -> _VariantDSprites:
        return type(self)(self._data.index_select(0, rows), self.index[rows.cpu().numpy()], seed=self.seed)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={len(self)}, sample_shape={self.sample_shape}, packed bits, "
                f"device={self.device}, seed={self.seed})")


class ColorDSpritesDataset(_VariantDSprites):
    """Color-dSprites: each batch's sprites coloured with a fresh random colour, each channel ~ U[0.5, 1] per
    image, on black (see :class:`_VariantDSprites` for the storage, the draws and the parameters)."""

    variant = "color"


class NoisyDSpritesDataset(_VariantDSprites):
    """Noisy-dSprites: each batch's white sprites on fresh uniform noise in [0, 1] per pixel and channel (see
    :class:`_VariantDSprites` for the storage, the draws and the parameters)."""

    variant = "noisy"


_V = TypeVar("_V", bound=_VariantDSprites)


def _load(cls: type[_V], split: str, root: PathLike | None, num: int | None, seed: int, cache: bool) -> _V:
    ds = load_dsprites(split, root, num=num, seed=seed, cache=cache)
    return cls(ds.packed, ds.index, seed=seed)


def load_color_dsprites(split: str = "train_full", root: PathLike | None = None, *, num: int | None = None,
                        seed: int = 0, cache: bool = True) -> ColorDSpritesDataset:
    """Load Color-dSprites: dSprites' images (:func:`gaekit.data.load_dsprites`), each batch's sprites coloured
    with a fresh random colour (each channel ~ U[0.5, 1]) on black.

    Parameters
    ----------
    split : {"train_full", "train", "validation", "test"}, default "train_full"
        dSprites' splits.
    root : str or Path, optional
        The folder of dSprites' cache (as for :func:`~gaekit.data.load_dsprites`).
    num : int, optional
        Only ``num`` images of the split, drawn with ``seed`` and generated directly (no cache): for tests.
    seed : int, default 0
        Seed of the ``num`` draw and of every batch's colours.
    cache : bool, default True
        Write dSprites' cache after generating the whole set.

    Returns
    -------
    ColorDSpritesDataset

    Raises
    ------
    ConfigError
        Unknown split, or a bad ``num`` or ``seed``.
    DataError
        An unreadable or corrupted dSprites cache.
    """
    return _load(ColorDSpritesDataset, split, root, num, seed, cache)


def load_noisy_dsprites(split: str = "train_full", root: PathLike | None = None, *, num: int | None = None,
                        seed: int = 0, cache: bool = True) -> NoisyDSpritesDataset:
    """Load Noisy-dSprites: dSprites' images (:func:`gaekit.data.load_dsprites`), each batch's white sprites on
    fresh uniform noise in [0, 1] per pixel and channel.

    Parameters and errors as :func:`load_color_dsprites` (``seed`` seeds the ``num`` draw and every batch's
    noise).

    Returns
    -------
    NoisyDSpritesDataset
    """
    return _load(NoisyDSpritesDataset, split, root, num, seed, cache)
