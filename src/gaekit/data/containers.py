"""The in-memory containers: a mini-batch (:class:`Batch`) and a dataset held as one tensor (:class:`ArrayDataset`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.data.tensors import (
    DeviceLike,
    as_device,
    check_tensor,
    labels_to,
    numpy_to_tensor,
    to_device,
    to_float32,
    torch_dtype_name,
)
from gaekit.errors import DataError

__all__ = ["ArrayDataset", "Batch"]


def _to_label_tensor(labels: Any, n: int, name: str) -> Tensor:
    """Convert labels to an int64 tensor whose first dimension is ``n``."""
    if isinstance(labels, np.ndarray):
        if labels.dtype.kind not in "biuf":
            raise DataError(f"{name} labels have dtype {labels.dtype}; expected integer class labels")
        if not labels.dtype.isnative:
            labels = labels.astype(labels.dtype.newbyteorder("="))
        t = torch.as_tensor(np.array(labels, copy=True))
    elif isinstance(labels, Tensor):
        t = labels
    else:
        try:
            t = torch.as_tensor(labels)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise DataError(
                f"{name} labels of type {type(labels).__name__} could not be converted to a tensor: {exc}"
            ) from None
    if t.ndim == 0:
        raise DataError(f"{name} labels are a scalar; expected one label per sample ({n} labels)")
    if t.shape[0] != n:
        raise DataError(f"{name} has {n} samples but {t.shape[0]} labels; expected one label per sample")
    if t.dtype.is_floating_point:
        if t.numel() and not bool(torch.all(torch.isfinite(t) & (t == torch.round(t)))):
            raise DataError(
                f"{name} labels are {torch_dtype_name(t.dtype)} with non-integer values; "
                "expected integer class labels"
            )
    elif t.dtype.is_complex:
        raise DataError(f"{name} labels are complex; expected integer class labels")
    return t.to(torch.int64)


@dataclass
class Batch:
    """One mini-batch.

    Attributes
    ----------
    data : Tensor
        Samples, shape ``(B, *sample_shape)``; float32 when produced by :func:`iterate_batches`.
    labels : Tensor or None
        Labels, first dimension ``B``; int64 for class labels.
    """

    data: Tensor
    labels: Tensor | None = None

    def to(self, device: DeviceLike) -> Batch:
        """Return the batch on ``device`` (host-to-accelerator copies from pinned memory, non-blocking)."""
        dev = torch.device(device)
        labels = None if self.labels is None else to_device(self.labels, dev)
        return Batch(to_device(self.data, dev), labels)

    def rows(self, start: int, stop: int) -> Batch:
        """The samples ``[start, stop)`` (and their labels) as a batch of views."""
        return Batch(self.data[start:stop], None if self.labels is None else self.labels[start:stop])

    def __len__(self) -> int:
        return int(self.data.shape[0])


class ArrayDataset:
    """A dataset held in memory as one tensor (plus optional labels).

    Parameters
    ----------
    data : numpy.ndarray or Tensor
        Samples, shape ``(N, *sample_shape)``. ``uint8`` (0..255) or float. Stored without a copy
        when possible; ``uint8`` stays ``uint8`` in memory and is scaled by 1/255 per batch.
    labels : array-like, optional
        One label per sample (first dimension ``N``); stored as int64.

    Raises
    ------
    DataError
        For bool, complex or non-uint8 integer data, for 0-d data, or a label count that does
        not match the number of samples.
    """

    def __init__(self, data: np.ndarray | Tensor, labels: Any = None):
        if isinstance(data, np.ndarray):
            tensor = numpy_to_tensor(data, "data")
        elif isinstance(data, Tensor):
            tensor = data.detach()
            check_tensor(tensor, "data")
        else:
            raise DataError(
                f"ArrayDataset got data of type {type(data).__name__}; "
                "expected a numpy array or a torch Tensor"
            )
        if tensor.ndim == 0:
            raise DataError("data is a scalar (0-d); expected an array of samples with shape (N, ...)")
        self._data = tensor
        self._labels = None if labels is None else _to_label_tensor(labels, int(tensor.shape[0]), "data")
        if self._labels is not None and self._labels.device != tensor.device:
            self._labels = self._labels.to(tensor.device)

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> Tensor:
        """The stored tensor (not scaled; may be uint8)."""
        return self._data

    @property
    def labels(self) -> Tensor | None:
        """Int64 labels, or None."""
        return self._labels

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return tuple(int(s) for s in self._data.shape[1:])

    @property
    def dtype(self) -> torch.dtype:
        """Storage dtype (uint8 or a float dtype)."""
        return self._data.dtype

    @property
    def device(self) -> torch.device:
        """Device of the storage."""
        return self._data.device

    @property
    def nbytes(self) -> int:
        """Bytes of the stored data and labels, as stored (uint8, packed bits or float)."""
        tensors = [self._data] + ([] if self._labels is None else [self._labels])
        return sum(t.numel() * t.element_size() for t in tensors)

    def __len__(self) -> int:
        return int(self._data.shape[0])

    def __repr__(self) -> str:
        lab = "none" if self._labels is None else "yes"
        return (
            f"ArrayDataset(n={len(self)}, sample_shape={self.sample_shape}, "
            f"dtype={torch_dtype_name(self.dtype)}, device={self.device}, labels={lab})"
        )

    # ------------------------------------------------------------------ access
    def get_batch(self, indices: Tensor | Sequence[int] | np.ndarray, device: DeviceLike = None) -> Batch:
        """Gather the samples at ``indices`` as a float32 :class:`Batch`.

        Parameters
        ----------
        indices : Tensor or sequence of int
            Sample indices (one vectorised gather).
        device : str or torch.device, optional
            Where the batch goes; default: the storage device.

        Returns
        -------
        Batch
            Float32 data (uint8 scaled by 1/255) and int64 labels (or None).
        """
        idx = torch.as_tensor(indices, dtype=torch.int64)
        if idx.device != self._data.device:
            idx = idx.to(self._data.device)
        dev = as_device(device)
        data = to_float32(self._data.index_select(0, idx), dev)
        labels = None if self._labels is None else labels_to(self._labels.index_select(0, idx), dev)
        return Batch(data, labels)

    def _get_range(self, start: int, stop: int, device: torch.device | None) -> Batch:
        # Contiguous batch without a gather (used when not shuffling); never aliases the storage.
        data = to_float32(self._data[start:stop], device)
        labels = None if self._labels is None else labels_to(self._labels[start:stop], device)
        return Batch(data, labels)

    def subset(self, indices_or_slice: slice | Tensor | Sequence[int] | np.ndarray) -> ArrayDataset:
        """Return the samples selected by a slice (a view) or by indices (a copy)."""
        if isinstance(indices_or_slice, slice):
            data = self._data[indices_or_slice]
            labels = None if self._labels is None else self._labels[indices_or_slice]
        else:
            idx = self._check_indices(indices_or_slice)
            data = self._data.index_select(0, idx)
            labels = None if self._labels is None else self._labels.index_select(0, idx)
        return ArrayDataset(data, labels)

    def _check_indices(self, indices: Tensor | Sequence[int] | np.ndarray) -> Tensor:
        """``indices`` as an int64 tensor on the storage device; ``DataError`` for non-integers or indices
        outside ``[-n, n)``."""
        try:
            raw = torch.as_tensor(indices)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise DataError(f"subset indices of type {type(indices).__name__} are not integers: {exc}") from None
        if raw.numel() and (raw.dtype.is_floating_point or raw.dtype.is_complex or raw.dtype == torch.bool):
            raise DataError(f"subset indices have dtype {torch_dtype_name(raw.dtype)}; expected integer indices "
                            "(or a slice)")
        idx = raw.to(self._data.device, torch.int64).reshape(-1)
        n = len(self)
        if idx.numel():
            lo, hi = int(idx.min()), int(idx.max())
            if lo < -n or hi >= n:
                bad = hi if hi >= n else lo
                raise DataError(f"subset index {bad} is out of range for a dataset of {n} samples; expected indices "
                                f"in [{-n}, {n})")
        return torch.where(idx < 0, idx + n, idx)

    def to(self, device: DeviceLike) -> ArrayDataset:
        """Return a dataset whose storage is on ``device`` (``self`` if it is already there).

        Keeping the data on the GPU avoids a host-to-device copy per batch.
        """
        dev = torch.device(device)
        if dev == self._data.device:
            return self
        labels = None if self._labels is None else self._labels.to(dev)
        return ArrayDataset(self._data.to(dev), labels)

    def as_float(self) -> Tensor:
        """The whole data as a float32 tensor (uint8 scaled by 1/255); a new tensor."""
        return to_float32(self._data, None)

    def tensors(self) -> tuple[Tensor, Tensor | None]:
        """``(data as float32, labels)`` for the whole dataset."""
        return self.as_float(), self._labels
