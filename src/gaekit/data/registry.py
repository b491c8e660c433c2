"""The dataset registry: the names :func:`load_dataset` (and ``--dataset``) accept, mapped to their loaders,
plus ``npz:PATH`` and ``images:FOLDER``."""

from __future__ import annotations

from collections.abc import Callable

from gaekit.data.binarized import load_binarized_mnist, load_binarized_mnist_stand_in, load_binarized_mnist_static
from gaekit.data.cifar import load_cifar10
from gaekit.data.containers import ArrayDataset
from gaekit.data.digits import load_digits
from gaekit.data.dsprites import load_dsprites
from gaekit.data.dsprites_variants import load_color_dsprites, load_noisy_dsprites
from gaekit.data.image_folders import load_celeba, load_image_folder
from gaekit.data.lookup import PathLike
from gaekit.data.mnist import load_fashion_mnist, load_mnist
from gaekit.data.npz import load_npz_split
from gaekit.errors import ConfigError
from gaekit.registry import Registry, spelling_key

__all__ = ["DATASETS", "load_dataset"]

DATASETS: Registry[Callable[..., ArrayDataset]] = Registry("dataset")
DATASETS.register("digits")(load_digits)
DATASETS.register("mnist")(load_mnist)
DATASETS.register("fashion-mnist")(load_fashion_mnist)
DATASETS.register("cifar10")(load_cifar10)
DATASETS.register("celeba")(load_celeba)
DATASETS.register("binarized-mnist")(load_binarized_mnist)  # dynamic binarization
DATASETS.register("binarized-mnist-static")(load_binarized_mnist_static)  # Larochelle & Murray's files
DATASETS.register("binarized-mnist-stand-in")(load_binarized_mnist_stand_in)  # seeded fixed binarization
DATASETS.register("dsprites")(load_dsprites)
DATASETS.register("color-dsprites")(load_color_dsprites)  # Locatello et al. 2019
DATASETS.register("noisy-dsprites")(load_noisy_dsprites)  # Locatello et al. 2019


def load_dataset(name: str, split: str = "train", root: PathLike | None = None) -> ArrayDataset:
    """Load a registered dataset (see ``DATASETS.names()``), an ``npz:<path>`` or ``images:<folder>``.

    For ``npz:<path>``: if the file holds an array named ``split`` (e.g. "train", "test") it is the
    data, with labels from ``<split>_labels`` or ``<split>_y`` when present; a file holding arrays
    named after other splits only is a ``DataError``; otherwise the file is loaded by :func:`load_npz`
    with its default keys and ``split`` is ignored. ``root`` is ignored.

    Also "cifar10", "celeba", and ``images:<folder>`` for any folder of JPEG/PNG images, loaded by
    :func:`load_image_folder` at 64x64 without crop: ``split`` follows a partition file
    (``list_eval_partition.txt``) when present, else an 80/10/10 split by a hash of each file name;
    "all" loads every image. ``root`` is ignored.

    For the datasets read from files (mnist, fashion-mnist, cifar10, celeba) a given ``root`` is the
    only place looked at: a ``root`` that does not exist or does not hold the dataset is a ``DataError``
    naming it (see :func:`find_data_dir`).

    Raises
    ------
    ConfigError
        Unknown dataset name or split.
    DataError
        Missing or unreadable files.
    """
    if not isinstance(name, str):
        raise ConfigError(f"dataset name {name!r} is invalid: expected a str, one of {', '.join(DATASETS.names())}, "
                          "npz:PATH or images:FOLDER")
    if name.startswith("npz:"):
        return load_npz_split(name[len("npz:") :], split)
    if name.startswith("images:"):
        return load_image_folder(name[len("images:") :], split=split)
    key = spelling_key(name)
    loader = DATASETS.get(key)
    return loader(split=split, root=root)
