"""``pythae.data.preprocessors``: ``DataProcessor``, Pythae's data checks before training."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.errors import DataError
from gaekit.pythae.data.datasets import BaseDataset

__all__ = ["DataProcessor"]


class DataProcessor:
    """Pythae's ``DataProcessor``: ``process_data`` turns an array into a float tensor after checking it has no
    NaN; ``to_dataset`` wraps a tensor (and labels, ones by default) in a ``BaseDataset``."""

    def process_data(self, data: np.ndarray | Tensor, batch_size: int = 100) -> Tensor:
        """``data`` as a float32 tensor of the same shape; ``DataError`` for NaN values or another type."""
        if not isinstance(data, (np.ndarray, Tensor)):
            raise DataError(f"DataProcessor.process_data expects a numpy array or a torch.Tensor, got "
                            f"{type(data).__name__}")
        tensor = self.to_tensor(data)
        if self.has_nan(tensor):
            raise DataError("DataProcessor.process_data: NaN detected in the input data")
        return tensor

    @staticmethod
    def to_dataset(data: Tensor, labels: Tensor | None = None) -> BaseDataset:
        """A ``BaseDataset`` of ``data`` and ``labels`` (ones when None)."""
        if labels is None:
            labels = torch.ones(len(data))
        return BaseDataset(DataProcessor.to_tensor(data), DataProcessor.to_tensor(labels))

    @staticmethod
    def to_tensor(data: Any) -> Tensor:
        """A numpy array as a float tensor (a tensor is returned as it is)."""
        if isinstance(data, Tensor):
            return data
        if not isinstance(data, np.ndarray):
            raise DataError(f"data must be a torch.Tensor or a numpy array, got {type(data).__name__}")
        try:
            return torch.tensor(data).type(torch.float)
        except (TypeError, RuntimeError) as err:
            raise DataError(f"data cannot be made a tensor ({err}): check that every sample has the same shape "
                            "and a numeric type") from None

    @staticmethod
    def has_nan(data: Tensor) -> bool:
        """Whether ``data`` holds a NaN."""
        return bool(torch.isnan(data).any()) if data.is_floating_point() else False
