"""In-memory datasets, adapters for torch data, batch iteration and data validation.

The trainer's hot path is :func:`iterate_batches`: for an :class:`ArrayDataset` it draws one
permutation per epoch and gathers each batch with a single vectorised index operation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.errors import ConfigError, DataError

__all__ = [
    "ArrayDataset",
    "Batch",
    "LoaderAdapter",
    "TorchDatasetAdapter",
    "as_dataset",
    "check_batch",
    "check_codes",
    "iterate_batches",
    "num_batches",
    "validate_data",
]

DeviceLike = str | torch.device | None

# Elements per chunk when scanning float data for NaN/inf/range (about 16 MB of float32).
_SCAN_CHUNK_ELEMENTS = 1 << 22


def _shape_str(shape: Sequence[int]) -> str:
    """``(28, 28)``-style text for a shape, also for one dimension (``(784,)``)."""
    return str(tuple(int(s) for s in shape))


def _non_blocking(device: torch.device) -> bool:
    # Host -> accelerator copies may be asynchronous; copies *to* the CPU must not be, as the
    # result could be read before the copy has finished.
    return device.type != "cpu"


def _dtype_error(dtype_name: str, name: str) -> DataError | None:
    """Return the error for a data dtype gaekit does not accept, or None when it is accepted."""
    if dtype_name == "bool":
        return DataError(
            f"{name} has boolean values; got bool — convert to uint8 (0 or 255) or float (0.0 or 1.0)"
        )
    if dtype_name.startswith("complex"):
        return DataError(f"{name} has complex values ({dtype_name}); gaekit needs real float or uint8 data")
    if dtype_name.startswith(("int", "uint")) and dtype_name != "uint8":
        return DataError(
            f"integer data must be uint8 in 0..255; got {dtype_name} — convert to float in [0, 1] or uint8"
        )
    return None


def _torch_dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _check_torch_dtype(dtype: torch.dtype, name: str) -> None:
    err = _dtype_error(_torch_dtype_name(dtype), name)
    if err is not None:
        raise err
    if not (dtype == torch.uint8 or dtype.is_floating_point):
        raise DataError(f"{name} has dtype {_torch_dtype_name(dtype)}; expected uint8 or a float dtype")


def _check_has_values(t: Tensor, name: str) -> None:
    """Refuse (``DataError``) a tensor on the 'meta' device, which has a shape but no values."""
    if t.device.type == "meta":
        raise DataError(f"{name} is a tensor on the 'meta' device (shape {_shape_str(t.shape)}), which holds no "
                        "values; expected data on the cpu or a GPU: create it there or move it with .to(device)")


def _check_tensor(t: Tensor, name: str) -> None:
    """Refuse (``DataError``) a data tensor without values (meta) or of a dtype gaekit does not take."""
    _check_has_values(t, name)
    _check_torch_dtype(t.dtype, name)


def _numpy_to_tensor(arr: np.ndarray, name: str) -> Tensor:
    """Turn a numpy data array into a tensor, sharing memory whenever torch allows it."""
    kind = arr.dtype.kind
    if kind in "OUSVMm":
        raise DataError(
            f"{name} has dtype {arr.dtype} (kind {kind!r}); expected a numeric array of uint8 or float"
        )
    err = _dtype_error(arr.dtype.name, name)
    if err is not None:
        raise err
    if kind == "f" and arr.dtype.itemsize > 8:
        raise DataError(f"{name} has dtype {arr.dtype}, which torch cannot hold; convert it to float32")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    # torch refuses negative strides and warns on read-only arrays: copy only in those cases.
    if not arr.flags.writeable or any(s < 0 for s in arr.strides):
        arr = np.array(arr, copy=True, order="C")
    return torch.as_tensor(arr)


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
                f"{name} labels are {_torch_dtype_name(t.dtype)} with non-integer values; "
                "expected integer class labels"
            )
    elif t.dtype.is_complex:
        raise DataError(f"{name} labels are complex; expected integer class labels")
    return t.to(torch.int64)


def _to_float32(x: Tensor, device: torch.device | None, name: str = "data") -> Tensor:
    """Float32 copy of a batch on ``device``; uint8 is scaled by 1/255.

    Narrow dtypes (uint8, float16, bfloat16) are moved before the conversion and wide ones after it,
    so the fewest bytes cross to the device. The result never aliases ``x``.
    """
    _check_torch_dtype(x.dtype, name)
    target = x.device if device is None else device
    on_target = target == x.device
    if not on_target and x.element_size() < 4:
        x = x.to(target, non_blocking=_non_blocking(target))
        on_target = True
    if x.dtype == torch.uint8:
        out = x.to(torch.float32).div_(255.0)
    elif x.dtype == torch.float32:
        out = x.clone() if on_target else x  # the transfer below copies
    else:
        out = x.to(torch.float32)
    if out.device != target:
        out = out.to(target, non_blocking=_non_blocking(target))
    return out


def _labels_to(labels: Tensor | None, device: torch.device | None) -> Tensor | None:
    if labels is None or device is None or labels.device == device:
        return labels
    return labels.to(device, non_blocking=_non_blocking(device))


def _as_device(device: DeviceLike) -> torch.device | None:
    return None if device is None else torch.device(device)


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
        """Return the batch on ``device`` (non-blocking host-to-accelerator copies)."""
        dev = torch.device(device)
        nb = _non_blocking(dev)
        labels = None if self.labels is None else self.labels.to(dev, non_blocking=nb)
        return Batch(self.data.to(dev, non_blocking=nb), labels)

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
            tensor = _numpy_to_tensor(data, "data")
        elif isinstance(data, Tensor):
            tensor = data.detach()
            _check_tensor(tensor, "data")
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

    def __len__(self) -> int:
        return int(self._data.shape[0])

    def __repr__(self) -> str:
        lab = "none" if self._labels is None else "yes"
        return (
            f"ArrayDataset(n={len(self)}, sample_shape={self.sample_shape}, "
            f"dtype={_torch_dtype_name(self.dtype)}, device={self.device}, labels={lab})"
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
        dev = _as_device(device)
        data = _to_float32(self._data.index_select(0, idx), dev)
        labels = None if self._labels is None else _labels_to(self._labels.index_select(0, idx), dev)
        return Batch(data, labels)

    def _get_range(self, start: int, stop: int, device: torch.device | None) -> Batch:
        # Contiguous batch without a gather (used when not shuffling); never aliases the storage.
        data = _to_float32(self._data[start:stop], device)
        labels = None if self._labels is None else _labels_to(self._labels[start:stop], device)
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
            raise DataError(f"subset indices have dtype {_torch_dtype_name(raw.dtype)}; expected integer indices "
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
        return _to_float32(self._data, None)

    def tensors(self) -> tuple[Tensor, Tensor | None]:
        """``(data as float32, labels)`` for the whole dataset."""
        return self.as_float(), self._labels


# ---------------------------------------------------------------------- adapters
def _split_item(item: Any, what: str) -> tuple[Any, Any]:
    """Return ``(data, label-or-None)`` from an item or batch of the accepted shapes."""
    if isinstance(item, Batch):
        return item.data, item.labels
    if isinstance(item, (Tensor, np.ndarray)):
        return item, None
    if isinstance(item, Mapping):
        if "data" not in item:
            raise DataError(
                f"{what} is a dict with keys {sorted(map(str, item))}; expected a 'data' key "
                "(and optionally 'labels')"
            )
        label = item.get("labels", item.get("label"))
        return item["data"], label
    if isinstance(item, (tuple, list)):
        if len(item) == 0:
            raise DataError(f"{what} is an empty {type(item).__name__}; expected (data,) or (data, label)")
        return item[0], item[1] if len(item) > 1 else None
    raise DataError(
        f"{what} is of type {type(item).__name__}; expected a tensor/array, a tuple/list "
        "(data, label), a dict with 'data'/'labels' keys or a gaekit Batch"
    )


def _as_data_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Tensor):
        _check_has_values(x, what)
        return x.detach()
    if isinstance(x, np.ndarray):
        return _numpy_to_tensor(x, what)
    raise DataError(f"{what} holds data of type {type(x).__name__}; expected a tensor or numpy array")


def _as_label_tensor(y: Any) -> Tensor | None:
    """Labels as a tensor (integers as int64); None when they are not numeric (e.g. file names)."""
    if isinstance(y, Tensor):
        t = y
    else:
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            return None
        t = torch.as_tensor(arr)
    if not (t.dtype.is_floating_point or t.dtype.is_complex):
        t = t.to(torch.int64)
    return t


def _collate_items(items: list[Any]) -> Batch:
    """Stack map-style dataset items into a raw-dtype :class:`Batch` (a module-level function so that
    DataLoader worker processes can pickle it)."""
    datas, labels = [], []
    for item in items:
        x, y = _split_item(item, "a dataset item")
        datas.append(_as_data_tensor(x, "a dataset item"))
        labels.append(y)
    for i, d in enumerate(datas):
        if d.shape != datas[0].shape:
            raise DataError(f"dataset items have different shapes: {_shape_str(datas[0].shape)} and "
                            f"{_shape_str(d.shape)} (item {i} of a batch); expected every sample to have one shape")
    data = torch.stack(datas)
    lab = None
    if all(y is not None for y in labels):
        converted = [_as_label_tensor(y) for y in labels]
        if all(t is not None for t in converted):
            lab = torch.stack(converted)
    return Batch(data, lab)


def _raw_to_batch(raw: Any, device: torch.device | None, what: str) -> Batch:
    """Convert a batch from a user loader (any accepted shape) to a float32 Batch on ``device``."""
    x, y = _split_item(raw, what)
    data = _to_float32(_as_data_tensor(x, what), device, what)
    labels = None if y is None else _labels_to(_as_label_tensor(y), device)
    if labels is not None and (labels.ndim == 0 or labels.shape[0] != data.shape[0]):
        found = "a single label" if labels.ndim == 0 else f"{labels.shape[0]} labels"
        raise DataError(f"{what} has {data.shape[0]} samples but {found}; expected one label per sample")
    return Batch(data, labels)


class TorchDatasetAdapter:
    """Wraps a map-style ``torch.utils.data.Dataset`` (with ``__len__``).

    Items may be a tensor/array, a tuple/list ``(data, label)`` (the label is optional) or a dict with
    ``"data"`` and optional ``"labels"`` keys. Non-numeric labels (e.g. file names) are dropped.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style dataset.
    num_workers : int, optional
        Worker processes of the internal DataLoader (default 0: load in the main process).
    """

    def __init__(self, dataset: Any, num_workers: int = 0):
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise DataError(
                f"TorchDatasetAdapter needs a map-style dataset with __getitem__ and __len__; "
                f"got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.num_workers = int(num_workers)
        self._first: Batch | None = None
        self.range_check: str | None = None  # set by validate_data: the data's name when [0, 1] is required

    def __len__(self) -> int:
        return len(self.dataset)

    def _first_item(self) -> Batch:
        if self._first is None:
            if len(self) == 0:
                raise DataError("the dataset is empty (0 samples)")
            self._first = _collate_items([self.dataset[0]])
        return self._first

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, read from the first item."""
        return tuple(int(s) for s in self._first_item().data.shape[1:])

    @property
    def dtype(self) -> torch.dtype:
        """Dtype of the first item's data."""
        return self._first_item().data.dtype

    def __repr__(self) -> str:
        return f"TorchDatasetAdapter({type(self.dataset).__name__}, n={len(self)})"


class LoaderAdapter:
    """Wraps a user ``DataLoader`` or any re-iterable of batches.

    Batches may be a tensor/array, a tuple/list ``(data, labels, ...)``, a dict with ``"data"``
    (and optional ``"labels"``) or a :class:`Batch`. The loader decides batch size, order and
    shuffling: :func:`iterate_batches` ignores its ``batch_size``, ``shuffle``, ``generator`` and
    ``drop_last`` arguments for a LoaderAdapter. Exact resume skips the first ``start_batch``
    batches, so it is exact only if the loader yields the same batches each time it is iterated
    (or its own seeding is restored by the caller).

    Parameters
    ----------
    loader : iterable
        Re-iterable source of batches (one-shot iterators and generators are refused).
    """

    def __init__(self, loader: Any):
        if not isinstance(loader, Iterable):
            raise DataError(f"LoaderAdapter needs an iterable of batches; got {type(loader).__name__}")
        if isinstance(loader, Iterator):
            raise DataError(
                f"LoaderAdapter got a one-shot iterator ({type(loader).__name__}) that can be iterated only "
                "once; pass a re-iterable such as a DataLoader or a list of batches"
            )
        self.loader = loader
        self._first: Batch | None = None
        self.range_check: str | None = None  # set by validate_data: the data's name when [0, 1] is required

    @property
    def num_batches(self) -> int | None:
        """Batches per pass, or None when the loader has no length."""
        try:
            return len(self.loader)
        except TypeError:
            return None

    def __len__(self) -> int:
        """Number of samples, when known (a DataLoader over a sized dataset, or a list of batches)."""
        dataset = getattr(self.loader, "dataset", None)
        if isinstance(self.loader, torch.utils.data.DataLoader) and dataset is not None:
            try:
                return len(dataset)
            except TypeError:
                pass
        if isinstance(self.loader, Sequence):
            return sum(len(_split_item(b, "a batch")[0]) for b in self.loader)
        raise TypeError(f"the number of samples of {type(self.loader).__name__} is unknown")

    def _peek_first(self, what: str = "the first batch") -> Batch | None:
        """The first batch (raw dtype), or None when the loader yields none."""
        if self._first is None:
            # Peeking must not shift torch's global RNG, which a shuffling DataLoader draws from.
            with torch.random.fork_rng(devices=[]):
                for raw in self.loader:
                    x, _ = _split_item(raw, what)
                    self._first = Batch(_as_data_tensor(x, what))
                    break
        return self._first

    def _first_batch(self) -> Batch:
        first = self._peek_first()
        if first is None:
            raise DataError("the loader is empty (it yielded no batches)")
        return first

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample, read from the first batch."""
        return tuple(int(s) for s in self._first_batch().data.shape[1:])

    @property
    def dtype(self) -> torch.dtype:
        """Dtype of the first batch's data."""
        return self._first_batch().data.dtype

    def __repr__(self) -> str:
        return f"LoaderAdapter({type(self.loader).__name__})"


DatasetLike = ArrayDataset | TorchDatasetAdapter | LoaderAdapter


def as_dataset(obj: Any, labels: Any = None) -> DatasetLike:
    """Wrap ``obj`` as a gaekit dataset.

    Parameters
    ----------
    obj : numpy.ndarray, Tensor, ArrayDataset, TorchDatasetAdapter, LoaderAdapter, DataLoader or Dataset
        Arrays become an :class:`ArrayDataset`; a ``DataLoader`` a :class:`LoaderAdapter`; a map-style
        ``Dataset`` a :class:`TorchDatasetAdapter`; gaekit datasets are returned as they are.
    labels : array-like, optional
        Labels, only with an array or tensor.

    Raises
    ------
    DataError
        For any other type, or labels given with a non-array ``obj``.
    """
    if isinstance(obj, (np.ndarray, Tensor)):
        return ArrayDataset(obj, labels)
    if labels is not None:
        raise DataError(
            f"labels can only be passed along with a numpy array or tensor; got data of type "
            f"{type(obj).__name__}, whose items carry their own labels"
        )
    if isinstance(obj, (ArrayDataset, TorchDatasetAdapter, LoaderAdapter)):
        return obj
    if isinstance(obj, torch.utils.data.DataLoader):
        return LoaderAdapter(obj)
    if isinstance(obj, torch.utils.data.IterableDataset):
        raise DataError(
            f"got an IterableDataset ({type(obj).__name__}), which yields single samples; wrap it in "
            "torch.utils.data.DataLoader(dataset, batch_size=...) and pass the loader"
        )
    if isinstance(obj, torch.utils.data.Dataset) and hasattr(obj, "__len__"):
        return TorchDatasetAdapter(obj)
    raise DataError(
        f"cannot use data of type {type(obj).__name__}; expected a numpy array, a torch Tensor, a "
        "gaekit ArrayDataset, a map-style torch Dataset with __len__, or a torch DataLoader "
        "(for other iterables of batches use gaekit.data.LoaderAdapter; for labels use "
        "as_dataset(data, labels=labels))"
    )


# ---------------------------------------------------------------------- iteration
def _check_batch_args(batch_size: int, start_batch: int = 0) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer; got {batch_size!r}")
    if isinstance(start_batch, bool) or not isinstance(start_batch, int) or start_batch < 0:
        raise ConfigError(f"start_batch must be a non-negative integer; got {start_batch!r}")


def num_batches(dataset: Any, batch_size: int, drop_last: bool = False) -> int:
    """Number of batches per epoch.

    For a :class:`LoaderAdapter` (or a DataLoader) this is ``len(loader)`` and ``batch_size`` and
    ``drop_last`` are ignored.

    Raises
    ------
    DataError
        When a loader has no length.
    """
    _check_batch_args(batch_size)
    ds = as_dataset(dataset)
    if isinstance(ds, LoaderAdapter):
        nb = ds.num_batches
        if nb is None:
            raise DataError(
                f"the loader ({type(ds.loader).__name__}) has no len(), so the number of batches per epoch "
                "is unknown; give it a __len__ or use a map-style dataset"
            )
        return nb
    n = len(ds)
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def _draw_order(n: int, shuffle: bool, generator: torch.Generator | None) -> Tensor | None:
    if not shuffle:
        return None
    if generator is None:
        return torch.randperm(n)
    return torch.randperm(n, generator=generator, device=generator.device)


def iterate_batches(
    dataset: Any,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None,
    start_batch: int = 0,
    device: DeviceLike = None,
    drop_last: bool = False,
) -> Iterator[Batch]:
    """Iterate over one epoch of float32 batches.

    With ``shuffle`` the permutation ``torch.randperm(n, generator=generator)`` is drawn exactly once,
    *when this function is called* (not at the first ``next``), also when ``start_batch > 0``; batch
    ``i`` holds ``perm[i * batch_size:(i + 1) * batch_size]``. To resume exactly, restore the
    generator state saved before the epoch's call and call again with ``start_batch=k``: the batches
    are ``k, k + 1, ...`` of the same permutation. Skipped batches are not loaded.

    Parameters
    ----------
    dataset : dataset-like
        Anything :func:`as_dataset` accepts.
    batch_size : int
        Samples per batch (the last batch may be smaller unless ``drop_last``).
    shuffle : bool
        Draw a random order.
    generator : torch.Generator or None
        Random source of the permutation (None: torch's global generator).
    start_batch : int, optional
        First batch to yield.
    device : str or torch.device, optional
        Where batches go (default: where the data is).
    drop_last : bool, optional
        Drop a final incomplete batch.

    Yields
    ------
    Batch
        Float32 data (uint8 scaled by 1/255) and labels, on ``device``.

    Notes
    -----
    For a :class:`LoaderAdapter` the user's loader is iterated as is: ``batch_size``, ``shuffle``,
    ``generator`` and ``drop_last`` are ignored, and the first ``start_batch`` batches are read and
    discarded, so exact resume depends on the loader being deterministic.
    """
    _check_batch_args(batch_size, start_batch)
    ds = as_dataset(dataset)
    dev = _as_device(device)

    if isinstance(ds, LoaderAdapter):
        return _iterate_loader(ds, start_batch, dev)

    n = len(ds)
    nb = n // batch_size if drop_last else math.ceil(n / batch_size)
    perm = _draw_order(n, shuffle, generator)
    if isinstance(ds, ArrayDataset):
        return _iterate_array(ds, batch_size, perm, start_batch, nb, dev)
    return _iterate_torch_dataset(ds, batch_size, perm, start_batch, nb, n, dev)


def _iterate_array(
    ds: ArrayDataset,
    batch_size: int,
    perm: Tensor | None,
    start_batch: int,
    nb: int,
    device: torch.device | None,
) -> Iterator[Batch]:
    n = len(ds)
    if perm is not None and perm.device != ds.device:
        perm = perm.to(ds.device)
    for i in range(start_batch, nb):
        lo, hi = i * batch_size, min((i + 1) * batch_size, n)
        if perm is None:
            yield ds._get_range(lo, hi, device)
        else:
            yield ds.get_batch(perm[lo:hi], device)


def _iterate_torch_dataset(
    ds: TorchDatasetAdapter,
    batch_size: int,
    perm: Tensor | None,
    start_batch: int,
    nb: int,
    n: int,
    device: torch.device | None,
) -> Iterator[Batch]:
    lo, hi = start_batch * batch_size, min(nb * batch_size, n)
    if lo >= hi:
        return iter(())
    order = list(range(lo, hi)) if perm is None else perm[lo:hi].tolist()
    loader = torch.utils.data.DataLoader(
        ds.dataset,
        batch_size=batch_size,
        sampler=order,
        collate_fn=_collate_items,
        num_workers=ds.num_workers,
        drop_last=False,
    )
    expected = ds.sample_shape
    return (_later_batch(ds, _raw_to_batch(raw, device, "a dataset batch"), expected, f"batch {i} of the dataset",
                         "its first item")
            for i, raw in enumerate(loader, start=start_batch))


def _iterate_loader(ds: LoaderAdapter, start_batch: int, device: torch.device | None) -> Iterator[Batch]:
    expected = ds.sample_shape
    for i, raw in enumerate(ds.loader):
        if i < start_batch:
            continue
        what = f"batch {i} of the loader"
        yield _later_batch(ds, _raw_to_batch(raw, device, what), expected, what, "its first batch")


def _later_batch(ds: TorchDatasetAdapter | LoaderAdapter, batch: Batch, expected: tuple[int, ...], what: str,
                 reference: str) -> Batch:
    """``batch`` of an adapter whose first item or batch alone was validated: checked for its samples' shape
    and, when ``validate_data`` required [0, 1], for its min and max."""
    _same_shape(batch, expected, what, reference)
    if ds.range_check is not None:
        _check_unit_range(batch.data, ds.range_check, f" in {what}")
    return batch


def _same_shape(batch: Batch, expected: tuple[int, ...], what: str, reference: str) -> Batch:
    """``batch``, unless its samples are not shaped ``expected`` (the shape of ``reference``): DataError."""
    if batch.data.shape[1:] != expected:
        raise DataError(f"{what} has samples of shape {_shape_str(batch.data.shape[1:])} but {reference} had "
                        f"{_shape_str(expected)}; expected every batch to hold samples of one shape")
    return batch


# ---------------------------------------------------------------------- validation
def _shape_problem(found: tuple[int, ...], expected: tuple[int, ...], name: str) -> DataError:
    msg = (
        f"{name} has samples of shape {_shape_str(found)} but the model's input_dim is {_shape_str(expected)}"
    )
    n_found, n_exp = math.prod(found), math.prod(expected)
    if n_found == n_exp:
        target = ", ".join(["N", *(str(d) for d in expected)])
        msg += f"; reshape the data to ({target})"
    else:
        msg += (
            f" ({n_found} vs {n_exp} values per sample); check that this is the right dataset, "
            f"or set input_dim to {_shape_str(found)}"
        )
    return DataError(msg)


def _scan_float(data: Tensor) -> tuple[int, int, int | None, float | None, float | None]:
    """Scan float data in chunks of rows.

    Returns ``(n_nan, n_inf, first_bad_sample, finite_min, finite_max)``.
    """
    n = int(data.shape[0])
    per_row = max(1, math.prod(data.shape[1:]))
    rows = max(1, _SCAN_CHUNK_ELEMENTS // per_row)
    n_nan = n_inf = 0
    first_bad: int | None = None
    lo_all: float | None = None
    hi_all: float | None = None
    for start in range(0, n, rows):
        chunk = data[start : start + rows]
        if chunk.numel() == 0:
            continue
        lo, hi = torch.aminmax(chunk)  # NaN and +-inf propagate, so a clean chunk costs one pass
        if not (bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))):
            nan = torch.isnan(chunk)
            inf = torch.isinf(chunk)
            n_nan += int(nan.sum())
            n_inf += int(inf.sum())
            bad = (nan | inf).reshape(chunk.shape[0], -1).any(dim=1)
            if first_bad is None:
                first_bad = start + int(torch.nonzero(bad)[0, 0])
            finite = chunk[~(nan | inf)]
            if finite.numel() == 0:
                continue
            lo, hi = torch.aminmax(finite)
        lo_f, hi_f = float(lo), float(hi)
        lo_all = lo_f if lo_all is None else min(lo_all, lo_f)
        hi_all = hi_f if hi_all is None else max(hi_all, hi_f)
    return n_nan, n_inf, first_bad, lo_all, hi_all


def _check_values(data: Tensor, unit_range: bool, name: str, where: str) -> None:
    """Raise DataError for NaN/inf or (with ``unit_range``) values outside [0, 1] in float ``data``."""
    n_nan, n_inf, first_bad, lo, hi = _scan_float(data)
    if n_nan or n_inf:
        raise DataError(
            f"{name} has non-finite values{where}: {n_nan} NaN and {n_inf} inf "
            f"(first in sample {first_bad}); expected finite values — remove or replace those samples"
        )
    if unit_range and lo is not None and hi is not None and (lo < 0.0 or hi > 1.0):
        raise DataError(
            f"{name} has values outside [0, 1]{where}, the range of this model's sigmoid output (and BCE loss): "
            f"your data lies in [{lo:.6g}, {hi:.6g}]: divide by 255, or use output_activation='identity' (with "
            "reconstruction_loss='mse'); uint8 images in 0..255 are scaled by 1/255 automatically"
        )


def _check_unit_range(data: Tensor, name: str, where: str) -> None:
    """Cheap check of a float batch against [0, 1]: its min and max only; the full scan (naming NaN or the
    range) runs only when they are off."""
    if data.numel() == 0:
        return
    lo, hi = torch.aminmax(data)
    if not (bool(lo >= 0.0) and bool(hi <= 1.0)):  # NaN fails both comparisons
        _check_values(data, True, name, where)


def check_batch(x: Any, input_dim: Sequence[int], name: str = "x", device: DeviceLike = None) -> Tensor:
    """``x`` as a float32 batch of samples shaped ``input_dim`` on ``device`` (uint8 scaled by 1/255).

    Raises ``DataError`` for a non-array, a bad dtype, a wrong shape (also a single sample without its
    batch axis) or NaN/inf values. For the model helpers (``embed``, ``reconstruct``, ...), not the
    training loop, whose data ``validate_data`` checks once.
    """
    if isinstance(x, np.ndarray):
        t = _numpy_to_tensor(x, name)
    elif isinstance(x, Tensor):
        t = x.detach()
    else:
        raise DataError(f"{name} is of type {type(x).__name__}; expected a torch Tensor or numpy array of "
                        f"samples shaped (N, {', '.join(map(str, input_dim))})")
    _check_tensor(t, name)
    expected = tuple(int(d) for d in input_dim)
    found = tuple(int(s) for s in t.shape)
    if found == expected:
        raise DataError(f"{name} has shape {_shape_str(found)}, a single sample without its batch axis; expected "
                        f"a batch of shape (N, {', '.join(map(str, expected))}): use x.unsqueeze(0) (or x[None])")
    if found[1:] != expected:
        raise _shape_problem(found[1:], expected, f"{name} (shape {_shape_str(found)})")
    if t.dtype.is_floating_point:
        _check_values(t, False, name, "")
    if t.dtype == torch.uint8:
        return _to_float32(t, _as_device(device), name)
    return t.to(t.device if device is None else device, torch.float32)  # no copy when it already fits


def check_codes(z: Any, code_shape: Sequence[int] | None, name: str = "z") -> None:
    """Raise ``DataError`` unless ``z`` is a tensor of latent codes shaped ``(B, *code_shape)`` (codes that are
    maps may also come flattened, ``(B, prod(code_shape))``); ``code_shape`` None: only the type is checked."""
    if not isinstance(z, Tensor):
        raise DataError(f"{name} is of type {type(z).__name__}; expected a torch Tensor of latent codes")
    if code_shape is None:
        return
    shape = tuple(int(d) for d in code_shape)
    found = tuple(int(d) for d in z.shape[1:])
    if found == shape or (len(shape) > 1 and found == (math.prod(shape),)):
        return
    raise DataError(f"{name} has shape {_shape_str(z.shape)}, but the model decodes latent codes of shape "
                    f"{_shape_str(shape)}; expected z shaped (B, {', '.join(map(str, shape))})")


def validate_data(
    dataset: Any, input_dim: Sequence[int], *, unit_range: bool, name: str = "train_data"
) -> None:
    """Check that data fits a model before training.

    For an :class:`ArrayDataset` the whole data is checked (float data in chunks; uint8 data only for
    emptiness and shape, as its values are always finite and scaled into [0, 1]). For a
    :class:`TorchDatasetAdapter` only the first item, and for a :class:`LoaderAdapter` only the first
    batch, are checked in full; with ``unit_range`` the adapter then checks every batch it yields for
    values outside [0, 1] (their min and max only: one cheap pass).

    Parameters
    ----------
    dataset : dataset-like
        Anything :func:`as_dataset` accepts.
    input_dim : tuple of int
        Expected shape of one sample.
    unit_range : bool
        Require values in [0, 1] (e.g. for a Bernoulli/BCE reconstruction loss).
    name : str, optional
        Name of the data in messages.

    Raises
    ------
    DataError
        Empty data, a sample shape different from ``input_dim``, a bad dtype, NaN/inf values, or
        values outside [0, 1] when ``unit_range``.
    """
    expected = tuple(int(d) for d in input_dim)
    ds = as_dataset(dataset)

    if isinstance(ds, ArrayDataset):
        if len(ds) == 0:
            raise DataError(f"{name} is empty (0 samples); expected at least one sample")
        if ds.sample_shape != expected:
            raise _shape_problem(ds.sample_shape, expected, name)
        if ds.dtype.is_floating_point:
            _check_values(ds.data, unit_range, name, "")
        return

    if isinstance(ds, TorchDatasetAdapter):
        if len(ds) == 0:
            raise DataError(f"{name} is empty (0 samples); expected at least one sample")
        first, where = ds._first_item().data, " in its first item"
        ds.range_check = name if unit_range else None
    else:
        peeked = ds._peek_first(f"the first batch of {name}")
        if peeked is None:
            raise DataError(f"{name} is empty (the loader yielded no batches)")
        first, where = peeked.data, " in its first batch"
        ds.range_check = name if unit_range else None
    found = tuple(int(s) for s in first.shape[1:])
    if found != expected:
        raise _shape_problem(found, expected, name)
    _check_torch_dtype(first.dtype, name)
    if first.dtype.is_floating_point:
        _check_values(first, unit_range, name, where)
