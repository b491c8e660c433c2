"""Data for gaekit: in-memory datasets, adapters for torch data, batch iteration and dataset loaders.

scikit-learn is imported only when :func:`load_digits` is called.
"""

from __future__ import annotations

from gaekit.data.cifar import CIFAR10_CLASSES, load_cifar10, read_cifar_batch
from gaekit.data.dataset import (
    ArrayDataset,
    Batch,
    LoaderAdapter,
    TorchDatasetAdapter,
    as_dataset,
    check_batch,
    check_codes,
    iterate_batches,
    num_batches,
    validate_data,
)
from gaekit.data.images import decode_image, list_images, load_celeba, load_image_folder
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
    "CIFAR10_CLASSES",
    "DATASETS",
    "ArrayDataset",
    "Batch",
    "LoaderAdapter",
    "TorchDatasetAdapter",
    "as_dataset",
    "check_batch",
    "check_codes",
    "decode_image",
    "download_mnist",
    "find_data_dir",
    "iterate_batches",
    "list_images",
    "load_celeba",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_npz",
    "num_batches",
    "read_cifar_batch",
    "read_idx",
    "validate_data",
]
