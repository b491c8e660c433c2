"""Data for gaekit: in-memory datasets, adapters for torch data, batch iteration, validation and dataset loaders.

The modules, from the bottom up: ``tensors`` (dtype rules, conversion), ``containers`` (:class:`Batch`,
:class:`ArrayDataset`), ``adapters`` (torch datasets and loaders, :func:`as_dataset`), ``validation``,
``batching``; the sources ``lookup`` (where files are searched, shared by the file-based sources), ``mnist``,
``cifar``, ``images`` (decoding), ``image_folders`` (folders, CelebA), ``digits``, ``npz``, ``binarized``
(binarized MNIST), ``dsprites`` (with ``packed``, binary images as packed bits); and ``registry``
(:data:`DATASETS`, :func:`load_dataset`). Import from ``gaekit.data``, not from these modules.

scikit-learn is imported only when :func:`load_digits` is called, Pillow only when images are decoded.
"""

from __future__ import annotations

from gaekit.data.adapters import LoaderAdapter, TorchDatasetAdapter, as_dataset
from gaekit.data.batching import iterate_batches, num_batches
from gaekit.data.binarized import DynamicBinarizedDataset, binarize_fixed, load_binarized_mnist, read_amat
from gaekit.data.cifar import CIFAR10_CLASSES, load_cifar10, read_cifar_batch
from gaekit.data.containers import ArrayDataset, Batch
from gaekit.data.digits import load_digits
from gaekit.data.dsprites import DSpritesDataset, dsprites_latents, generate_dsprites, load_dsprites
from gaekit.data.dsprites_variants import (
    ColorDSpritesDataset,
    NoisyDSpritesDataset,
    load_color_dsprites,
    load_noisy_dsprites,
)
from gaekit.data.image_folders import list_images, load_celeba, load_image_folder
from gaekit.data.images import decode_image
from gaekit.data.lookup import find_data_dir
from gaekit.data.mnist import download_mnist, load_fashion_mnist, load_mnist, read_idx
from gaekit.data.npz import load_npz
from gaekit.data.packed import PackedBitsDataset
from gaekit.data.registry import DATASETS, load_dataset
from gaekit.data.validation import check_batch, check_codes, validate_data

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "ArrayDataset",
    "Batch",
    "ColorDSpritesDataset",
    "DSpritesDataset",
    "DynamicBinarizedDataset",
    "LoaderAdapter",
    "NoisyDSpritesDataset",
    "PackedBitsDataset",
    "TorchDatasetAdapter",
    "as_dataset",
    "binarize_fixed",
    "check_batch",
    "check_codes",
    "decode_image",
    "download_mnist",
    "dsprites_latents",
    "find_data_dir",
    "generate_dsprites",
    "iterate_batches",
    "list_images",
    "load_binarized_mnist",
    "load_celeba",
    "load_cifar10",
    "load_color_dsprites",
    "load_dataset",
    "load_digits",
    "load_dsprites",
    "load_fashion_mnist",
    "load_image_folder",
    "load_mnist",
    "load_noisy_dsprites",
    "load_npz",
    "num_batches",
    "read_amat",
    "read_cifar_batch",
    "read_idx",
    "validate_data",
]
