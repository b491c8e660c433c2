"""``pythae.data.datasets``: Pythae's dataset types, and how gaekit reads them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from gaekit.data import ArrayDataset, TorchDatasetAdapter
from gaekit.errors import DataError
from gaekit.models.pythae_networks import ModelOutput

__all__ = ["BaseDataset", "DatasetOutput", "as_gaekit_data"]


class DatasetOutput(ModelOutput):
    """What a Pythae dataset's ``__getitem__`` returns: an ordered dict (``data``, ``labels``) whose entries are
    also attributes; an int or slice index reads the values in order (Pythae's ``DatasetOutput`` is its
    ``ModelOutput`` too)."""


def _float_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise DataError(f"BaseDataset {what} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    return x.detach().to(torch.float32)


class BaseDataset(Dataset):
    """Pythae's ``BaseDataset(data, labels)``: a torch ``Dataset`` of float data and labels whose items are
    ``DatasetOutput(data=..., labels=...)``.

    The trainers and samplers of ``gaekit.pythae`` hand a ``BaseDataset`` to gaekit as an in-memory
    ``ArrayDataset`` of its data (batched by slicing); a subclass (e.g. one reading files in ``__getitem__``) is
    read item by item through its own ``__getitem__`` (see ``as_gaekit_data``).
    """

    def __init__(self, data: Any, labels: Any):
        self.data = _float_tensor(data, "data")
        self.labels = _float_tensor(labels, "labels")
        if len(self.labels) != len(self.data):
            raise DataError(f"BaseDataset: {len(self.labels)} labels for {len(self.data)} samples; give one label "
                            "per sample")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: Any) -> DatasetOutput:
        return DatasetOutput(data=self.data[index], labels=self.labels[index])


def as_gaekit_data(data: Any, num_workers: int = 0) -> Any:
    """What gaekit's trainer and samplers are given for Pythae-style ``data``.

    A ``BaseDataset`` becomes an ``ArrayDataset`` of its data (its labels too when they are whole numbers); any
    other torch ``Dataset`` (a ``BaseDataset`` subclass included: its ``__getitem__`` is what it means) is read
    through gaekit's ``TorchDatasetAdapter`` with ``num_workers`` loader processes; arrays and tensors are
    returned as they are (gaekit slices them in memory).
    """
    if type(data) is BaseDataset:
        labels = data.labels
        whole = labels.ndim == 1 and bool(torch.all(labels == labels.round()))
        return ArrayDataset(data.data, labels.long() if whole else None)
    if isinstance(data, Dataset) and not isinstance(data, ArrayDataset) and hasattr(data, "__len__"):
        return TorchDatasetAdapter(data, num_workers=num_workers)
    return data
