"""What the commands read and check before any work: datasets, JSON config files, sample shapes, output folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaekit.errors import ConfigError, DataError
from gaekit.registry import spelling_key

# Datasets by sample shape, for the advice when a model and a dataset do not fit.
SHAPE_DATASETS = {(1, 28, 28): ("mnist", "fashion-mnist"), (3, 32, 32): ("cifar10",),
                  (3, 64, 64): ("celeba", "color-dsprites", "noisy-dsprites"), (1, 8, 8): ("digits",),
                  (1, 64, 64): ("dsprites",)}
# Datasets read from files found under --data-dir (the others name their file, or are bundled).
FOLDER_DATASETS = ("mnist", "fashion-mnist", "cifar10", "celeba")


def _dataset_key(name: str) -> str:
    """The canonical form of a --dataset value: a registered name as registered, file paths absolute."""
    for prefix in ("npz:", "images:"):
        if name.startswith(prefix):
            return prefix + str(Path(name[len(prefix):]).expanduser().resolve())
    return spelling_key(name)


def _load(name: str, split: str, data_dir: str | None):
    from gaekit.data import load_dataset

    if data_dir is not None and (_dataset_key(name) == "digits" or name.startswith(("npz:", "images:"))):
        raise ConfigError(f"--data-dir {data_dir} does not apply to --dataset {name} (only to "
                          f"{', '.join(FOLDER_DATASETS)}; npz:PATH and images:FOLDER name their files); leave it out")
    return load_dataset(name, split, root=data_dir)


def _check_shape(input_dim, data, dataset: str, fix: str = "") -> None:
    """Refuse data whose sample shape is not the model's ``input_dim``, naming the datasets that fit."""
    model_shape, data_shape = tuple(int(d) for d in input_dim), tuple(data.sample_shape)
    if model_shape == data_shape:
        return
    fits = SHAPE_DATASETS.get(model_shape)
    advice = (" or ".join(f"--dataset {name}" for name in fits) if fits
              else "--dataset npz:PATH or images:FOLDER with data of that shape")
    raise DataError(f"the model takes samples of shape {model_shape} but --dataset {dataset} has samples of shape "
                    f"{data_shape}: use {advice}{fix}")


def _check_output_dir(path: str | Path, flag: str) -> None:
    """Refuse an output folder that cannot be created or written, before any work starts."""
    from gaekit.trainers import check_output_dir

    check_output_dir(path, flag)


def _json_object(path: str, flag: str) -> dict[str, Any]:
    """Read a JSON config file that must hold an object (a ``name`` in it is checked by the config class)."""
    from gaekit.config import read_json

    if not path.strip():
        raise ConfigError(f"{flag}={path!r} is invalid: expected the path of a JSON file")
    if Path(path).is_dir():
        raise ConfigError(f"{flag} {path} is a folder; expected a JSON file holding an object of config fields")
    try:
        data = read_json(path)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{flag} {path} cannot be read: {err}") from None
    if not isinstance(data, dict):
        kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(data), "number")
        raise ConfigError(f"{flag} {path} holds a JSON {kind}; it must hold a JSON object of config "
                          'fields, {"field": value, ...}')
    return data
