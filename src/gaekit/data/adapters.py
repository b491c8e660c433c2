"""Adapters that let torch data stand where an :class:`ArrayDataset` does: map-style datasets, loaders, and
:func:`as_dataset`, which picks the container or adapter for any accepted data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.data.containers import ArrayDataset, Batch
from gaekit.data.tensors import check_has_values, labels_to, numpy_to_tensor, shape_str, to_float32
from gaekit.errors import DataError

__all__ = ["LoaderAdapter", "TorchDatasetAdapter", "as_dataset"]


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
        check_has_values(x, what)
        return x.detach()
    if isinstance(x, np.ndarray):
        return numpy_to_tensor(x, what)
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


def collate_items(items: list[Any]) -> Batch:
    """Stack map-style dataset items into a raw-dtype :class:`Batch` (a module-level function so that
    DataLoader worker processes can pickle it)."""
    datas, labels = [], []
    for item in items:
        x, y = _split_item(item, "a dataset item")
        datas.append(_as_data_tensor(x, "a dataset item"))
        labels.append(y)
    for i, d in enumerate(datas):
        if d.shape != datas[0].shape:
            raise DataError(f"dataset items have different shapes: {shape_str(datas[0].shape)} and "
                            f"{shape_str(d.shape)} (item {i} of a batch); expected every sample to have one shape")
    data = torch.stack(datas)
    lab = None
    if all(y is not None for y in labels):
        converted = [_as_label_tensor(y) for y in labels]
        if all(t is not None for t in converted):
            lab = torch.stack(converted)
    return Batch(data, lab)


def raw_to_batch(raw: Any, device: torch.device | None, what: str) -> Batch:
    """Convert a batch from a user loader (any accepted shape) to a float32 Batch on ``device``."""
    x, y = _split_item(raw, what)
    data = to_float32(_as_data_tensor(x, what), device, what)
    labels = None if y is None else labels_to(_as_label_tensor(y), device)
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
            self._first = collate_items([self.dataset[0]])
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
