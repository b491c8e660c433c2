"""Data for gaekit: in-memory datasets, adapters for torch data, batch iteration and dataset loaders.

scikit-learn is imported only when :func:`load_digits` is called.
"""

from __future__ import annotations

from gaekit.data.dataset import (
    ArrayDataset,
    Batch,
    LoaderAdapter,
    TorchDatasetAdapter,
    as_dataset,
    iterate_batches,
    num_batches,
    validate_data,
)
from gaekit.data.sources import (
    DATASETS,
    download_mnist,
    find_data_dir,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    load_npz,
    read_idx,
)

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "Batch",
    "LoaderAdapter",
    "TorchDatasetAdapter",
    "as_dataset",
    "download_mnist",
    "find_data_dir",
    "iterate_batches",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "load_npz",
    "num_batches",
    "read_idx",
    "validate_data",
]
