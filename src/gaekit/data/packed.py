"""A dataset of binary images held as packed bits (8 pixels a byte), unpacked per batch: 1/8 of the memory of
uint8 images, so that large binary sets (dSprites: 737,280 images of 64x64) fit in memory."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.data.containers import ArrayDataset, Batch
from gaekit.data.tensors import DeviceLike, as_device, labels_to, shape_str
from gaekit.errors import DataError

__all__ = ["PackedBitsDataset", "unpack_bits"]

_SHIFTS = torch.arange(7, -1, -1, dtype=torch.uint8)


def unpack_bits(packed: Tensor, sample_shape: Sequence[int]) -> Tensor:
    """Unpack rows of bits (``numpy.packbits`` order: first pixel in the high bit) into uint8 0/1 samples.

    Parameters
    ----------
    packed : Tensor
        uint8, shape ``(B, ceil(prod(sample_shape) / 8))``.
    sample_shape : sequence of int

    Returns
    -------
    Tensor
        uint8 0/1, shape ``(B, *sample_shape)``, on ``packed``'s device.
    """
    n = math.prod(sample_shape)
    bits = (packed.unsqueeze(-1) >> _SHIFTS.to(packed.device)) & 1
    return bits.reshape(packed.shape[0], -1)[:, :n].reshape(packed.shape[0], *sample_shape)


class PackedBitsDataset(ArrayDataset):
    """Binary images stored as packed bits; batches are float32 0.0/1.0 like any :class:`ArrayDataset`'s.

    Memory: ``ceil(prod(sample_shape) / 8)`` bytes a sample (512 for 64x64) instead of ``prod(sample_shape)``.
    :meth:`get_batch` gathers the packed rows and unpacks them on their device. :attr:`data` and
    :meth:`as_float` unpack the whole set (8x and 32x the packed size): use batches for large sets.

    Parameters
    ----------
    packed : numpy.ndarray or Tensor
        uint8, shape ``(N, ceil(prod(sample_shape) / 8))``, rows packed as by ``numpy.packbits(x.reshape(N, -1),
        axis=1)``.
    sample_shape : sequence of int
        Shape of one sample, e.g. ``(1, 64, 64)``.
    labels : array-like, optional
        One label per sample.

    Raises
    ------
    DataError
        Packed data that is not uint8, not 2-d, or whose row length does not fit ``sample_shape``.
    """

    def __init__(self, packed: np.ndarray | Tensor, sample_shape: Sequence[int], labels: Any = None):
        super().__init__(packed, labels)
        shape = tuple(int(s) for s in sample_shape)
        row = math.ceil(math.prod(shape) / 8)
        if self._data.dtype != torch.uint8 or self._data.ndim != 2 or self._data.shape[1] != row:
            raise DataError(f"packed bits have shape {shape_str(self._data.shape)} and dtype {self._data.dtype}; "
                            f"expected uint8 of shape (N, {row}) for samples of shape {shape_str(shape)}")
        self._shape = shape

    @property
    def packed(self) -> Tensor:
        """The stored packed bits, shape ``(N, bytes a sample)``."""
        return self._data

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one (unpacked) sample."""
        return self._shape

    @property
    def data(self) -> Tensor:
        """The whole set unpacked to uint8 0/255 (``prod(sample_shape)`` bytes a sample); a new tensor."""
        return unpack_bits(self._data, self._shape) * 255

    def get_batch(self, indices: Tensor | Sequence[int] | np.ndarray, device: DeviceLike = None) -> Batch:
        """The samples at ``indices`` as a float32 0/1 :class:`Batch` (unpacked on the storage device)."""
        idx = torch.as_tensor(indices, dtype=torch.int64)
        if idx.device != self._data.device:
            idx = idx.to(self._data.device)
        return self._batch(self._data.index_select(0, idx), None if self._labels is None
                           else self._labels.index_select(0, idx), as_device(device))

    def _get_range(self, start: int, stop: int, device: torch.device | None) -> Batch:
        return self._batch(self._data[start:stop], None if self._labels is None else self._labels[start:stop],
                           device)

    def _batch(self, rows: Tensor, labels: Tensor | None, device: torch.device | None) -> Batch:
        if device is not None and rows.device != device:
            rows = rows.to(device)
        return Batch(unpack_bits(rows, self._shape).to(torch.float32), labels_to(labels, device))

    def _rows(self, indices_or_slice: slice | Tensor | Sequence[int] | np.ndarray) -> Tensor:
        """The row numbers a :meth:`subset` argument selects, as an int64 tensor."""
        if isinstance(indices_or_slice, slice):
            return torch.arange(len(self), device=self._data.device)[indices_or_slice]
        return self._check_indices(indices_or_slice)

    def subset(self, indices_or_slice: slice | Tensor | Sequence[int] | np.ndarray) -> PackedBitsDataset:
        """The selected samples (a copy), still packed."""
        return self._take(self._rows(indices_or_slice))

    def _take(self, rows: Tensor) -> PackedBitsDataset:
        labels = None if self._labels is None else self._labels.index_select(0, rows)
        return PackedBitsDataset(self._data.index_select(0, rows), self._shape, labels)

    def to(self, device: DeviceLike) -> PackedBitsDataset:
        """The dataset with its packed storage on ``device``."""
        dev = torch.device(device)
        if dev == self._data.device:
            return self
        return self._take(torch.arange(len(self), device=self._data.device))._moved(dev)

    def _moved(self, device: torch.device) -> PackedBitsDataset:
        self._data = self._data.to(device)
        self._labels = None if self._labels is None else self._labels.to(device)
        return self

    def as_float(self) -> Tensor:
        """The whole set unpacked to float32 0/1 (4 bytes a pixel); a new tensor."""
        return unpack_bits(self._data, self._shape).to(torch.float32)

    def __repr__(self) -> str:
        lab = "none" if self._labels is None else "yes"
        return (f"{type(self).__name__}(n={len(self)}, sample_shape={self.sample_shape}, packed bits, "
                f"device={self.device}, labels={lab})")
