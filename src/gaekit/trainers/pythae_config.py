"""Pythae 0.1.2 trainer configs read as a gaekit ``TrainerConfig``.

Pythae has four trainer configs (``BaseTrainerConfig``, ``AdversarialTrainerConfig``,
``CoupledOptimizerTrainerConfig``, ``CoupledOptimizerAdversarialTrainerConfig``); gaekit has one
``TrainerConfig`` and one optimizer per parameter group. ``trainer_config_from_pythae`` maps every Pythae field
(``PYTHAE_TRAINER_FIELDS`` says how); a value gaekit cannot honour is refused by name, never dropped:

- ``per_device_train_batch_size`` / ``per_device_eval_batch_size`` times the number of processes
  (``world_size``, else ``WORLD_SIZE``, else 1) -> ``batch_size`` / ``eval_batch_size`` (gaekit's are global);
- ``optimizer_cls``, ``optimizer_params``, ``scheduler_cls``, ``scheduler_params`` -> ``optimizer``, ...
  (``None`` params -> ``{}``); in the multi-optimizer configs the ``<group>_`` fields (``autoencoder_``,
  ``discriminator_``, ``encoder_``, ``decoder_``) -> ``group_overrides[<group>]``; Pythae's trainers with
  several optimizers do not use the top-level ones, so they must keep their defaults there;
- ``steps_saving`` -> ``checkpoint_every_n_epochs``, ``steps_predict`` -> ``images_every_n_epochs``;
- ``output_dir`` None -> ``"dummy_output_dir"`` (where Pythae's trainers write then);
- ``no_cuda`` -> ``device="cpu"`` (and, as in Pythae, ``amp`` off), else ``"auto"``;
- ``keep_best_on_train``: gaekit keeps the best model on the validation loss when there is eval data and on the
  training loss without, so True is honoured without eval data and refused with it;
- ``train_dataloader_num_workers`` / ``eval_dataloader_num_workers``: loader processes change how fast data
  arrives, never which batches: in-memory data (arrays, tensors, gaekit datasets) is sliced in the main process
  and needs none; the trainers of ``gaekit.pythae`` load a torch ``Dataset`` with that many workers (the counts
  are kept on the config as ``pythae_num_workers``);
- ``world_size``, ``rank``, ``local_rank``, ``master_addr``, ``master_port``, ``dist_backend``: gaekit takes the
  process group from torchrun's environment, so they must be their defaults or agree with it
  (``world_size=1``: ``distributed="off"``); ``dist_backend`` is ``"nccl"`` (gaekit's on CUDA), or ``"gloo"``
  with ``no_cuda`` (gaekit's on CPU).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gaekit.config import FOREIGN_READERS, read_json
from gaekit.errors import ConfigError
from gaekit.trainers.config import TrainerConfig

__all__ = ["PYTHAE_OPTIMIZATION_FIELDS", "PYTHAE_TRAINER_CONFIGS", "PYTHAE_TRAINER_DEFAULTS", "PYTHAE_TRAINER_FIELDS",
           "trainer_config_from_pythae"]

# Pythae trainer config class -> the parameter groups of its optimizers (gaekit's group names)
PYTHAE_TRAINER_CONFIGS: dict[str, tuple[str, ...]] = {
    "BaseTrainerConfig": (),
    "AdversarialTrainerConfig": ("autoencoder", "discriminator"),
    "CoupledOptimizerTrainerConfig": ("encoder", "decoder"),
    "CoupledOptimizerAdversarialTrainerConfig": ("encoder", "decoder", "discriminator"),
}

_OPTIMIZATION = {"optimizer_cls": "Adam", "optimizer_params": None, "scheduler_cls": None, "scheduler_params": None,
                 "learning_rate": 1e-4}
_BASE = {"output_dir": None, "per_device_train_batch_size": 64, "per_device_eval_batch_size": 64, "num_epochs": 100,
         "train_dataloader_num_workers": 0, "eval_dataloader_num_workers": 0, **_OPTIMIZATION,
         "steps_saving": None, "steps_predict": None, "keep_best_on_train": False, "seed": 8, "no_cuda": False,
         "world_size": -1, "local_rank": -1, "rank": -1, "dist_backend": "nccl", "master_addr": "localhost",
         "master_port": "12345", "amp": False}


def _group_defaults(group: str) -> dict[str, Any]:
    return {f"{group}_{key}": value for key, value in _OPTIMIZATION.items()}


# every field of each Pythae 0.1.2 trainer config (but ``name``) with its default
PYTHAE_TRAINER_DEFAULTS: dict[str, dict[str, Any]] = {
    name: {**_BASE, **{k: v for g in groups for k, v in _group_defaults(g).items()}}
    for name, groups in PYTHAE_TRAINER_CONFIGS.items()
}

# how each Pythae field is read (for the docs and error messages)
PYTHAE_TRAINER_FIELDS: dict[str, str] = {
    "output_dir": "output_dir (None: 'dummy_output_dir', as Pythae)",
    "per_device_train_batch_size": "batch_size (times the number of processes)",
    "per_device_eval_batch_size": "eval_batch_size (times the number of processes)",
    "num_epochs": "num_epochs", "learning_rate": "learning_rate", "seed": "seed", "amp": "amp (off with no_cuda)",
    "optimizer_cls": "optimizer", "optimizer_params": "optimizer_params", "scheduler_cls": "scheduler",
    "scheduler_params": "scheduler_params",
    "<group>_learning_rate, <group>_optimizer_cls, ...": "group_overrides[<group>]",
    "steps_saving": "checkpoint_every_n_epochs", "steps_predict": "images_every_n_epochs",
    "keep_best_on_train": "honoured without eval data (gaekit then selects on the training loss), refused with it",
    "no_cuda": "device='cpu' (False: 'auto')",
    "train_dataloader_num_workers, eval_dataloader_num_workers": "workers loading a torch Dataset (gaekit.pythae "
                                                                 "trainers); in-memory data needs none",
    "world_size, rank, local_rank, master_addr, master_port, dist_backend": "torchrun's environment",
}

_DIST_ENV = {"world_size": "WORLD_SIZE", "rank": "RANK", "local_rank": "LOCAL_RANK"}


def _check_process_group(data: dict[str, Any], name: str) -> dict[str, Any]:
    """``distributed`` setting from Pythae's process-group fields; ConfigError when they disagree with the
    environment gaekit reads."""
    for key, env in _DIST_ENV.items():
        value = data[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{name}.{key}={value!r} is invalid: expected an int")
        if value == -1 or (key == "world_size" and value == 1):
            continue
        if str(value) != os.environ.get(env):
            raise ConfigError(f"{name}.{key}={value!r}: gaekit takes the process group from torchrun's environment "
                              f"({env}={os.environ.get(env)!r}); leave {key} at -1 and launch with torchrun")
    for key, env, default in (("master_addr", "MASTER_ADDR", "localhost"), ("master_port", "MASTER_PORT", "12345")):
        if data[key] != default and str(data[key]) != os.environ.get(env):
            raise ConfigError(f"{name}.{key}={data[key]!r}: gaekit takes it from the environment ({env}); set "
                              f"{env}={data[key]} (torchrun does) and leave {key} at its default")
    backend = data["dist_backend"]
    if not (backend == "nccl" or (backend == "gloo" and data["no_cuda"])):
        raise ConfigError(f"{name}.dist_backend={backend!r}: gaekit uses 'nccl' on CUDA and 'gloo' on CPU; use 'nccl', "
                          "or 'gloo' with no_cuda=true")
    return {"distributed": "off"} if data["world_size"] == 1 else {}


def _processes(data: dict[str, Any]) -> int:
    if data["world_size"] > 0:
        return data["world_size"]
    try:
        return max(int(os.environ.get("WORLD_SIZE", "1")), 1)
    except ValueError:
        return 1


# Pythae's optimisation fields (also ``<group>_``-prefixed) -> the TrainerConfig / group_overrides key they set
PYTHAE_OPTIMIZATION_FIELDS = {"learning_rate": "learning_rate", "optimizer_cls": "optimizer",
                              "optimizer_params": "optimizer_params", "scheduler_cls": "scheduler",
                              "scheduler_params": "scheduler_params"}


def _optimization(data: dict[str, Any], prefix: str) -> dict[str, Any]:
    out = {ours: data[f"{prefix}{theirs}"] for theirs, ours in PYTHAE_OPTIMIZATION_FIELDS.items()}
    return {**out, "optimizer_params": out["optimizer_params"] or {}, "scheduler_params": out["scheduler_params"] or {}}


def _refuse(name: str, data: dict[str, Any], with_eval_data: bool) -> None:
    for key in ("train_dataloader_num_workers", "eval_dataloader_num_workers"):
        if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 0:
            raise ConfigError(f"{name}.{key}={data[key]!r} is invalid: expected an int >= 0")
    if data["keep_best_on_train"] and with_eval_data:
        raise ConfigError(f"{name}.keep_best_on_train=True: with eval data gaekit keeps the best model on the "
                          "validation loss; train without eval data (gaekit then keeps it on the training loss) or "
                          "set keep_best_on_train=false")
    if PYTHAE_TRAINER_CONFIGS[name]:
        changed = sorted(k for k, v in _OPTIMIZATION.items() if data[k] != v)
        if changed:
            groups = PYTHAE_TRAINER_CONFIGS[name]
            raise ConfigError(f"{name}: {', '.join(changed)} are not used by Pythae's trainer with one optimizer per "
                              f"group; set {', '.join(f'{g}_{changed[0]}' for g in groups)} instead")


def trainer_config_from_pythae(source: Mapping[str, Any] | str | Path, *, with_eval_data: bool = True,
                               **fields: Any) -> TrainerConfig:
    """The gaekit ``TrainerConfig`` of a Pythae 0.1.2 trainer config.

    Parameters
    ----------
    source : dict, str or Path
        The Pythae config as a dict (``"name"``: one of ``PYTHAE_TRAINER_CONFIGS``; without it,
        ``BaseTrainerConfig``) or the path of its JSON file (``training_config.json``).
    with_eval_data : bool, default True
        Whether the run has eval data (decides ``keep_best_on_train``).
    **fields
        ``TrainerConfig`` fields set on top.

    Raises
    ------
    ConfigError
        An unknown name or field, a bad value, or a setting gaekit cannot honour (named in the message).
    """
    data = read_json(source) if isinstance(source, (str, Path)) else source
    if not isinstance(data, Mapping):
        raise ConfigError(f"a Pythae trainer config must be a JSON object, got {data!r:.80}")
    data = dict(data)
    name = data.pop("name", "BaseTrainerConfig")
    if name not in PYTHAE_TRAINER_CONFIGS:
        raise ConfigError(f"name={name!r} is not a Pythae 0.1.2 trainer config; expected one of "
                          f"{', '.join(PYTHAE_TRAINER_CONFIGS)}")
    defaults = PYTHAE_TRAINER_DEFAULTS[name]
    unknown = sorted(set(data) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown field(s) {', '.join(map(repr, unknown))} for Pythae's {name}; accepted: "
                          f"{', '.join(defaults)}")
    data = {**defaults, **data}
    _refuse(name, data, with_eval_data)
    out: dict[str, Any] = _check_process_group(data, name)
    groups = PYTHAE_TRAINER_CONFIGS[name]
    for key in ("per_device_train_batch_size", "per_device_eval_batch_size"):
        if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 1:
            raise ConfigError(f"{name}.{key}={data[key]!r} is invalid: expected a positive int")
    world = _processes(data)
    out.update(
        output_dir="dummy_output_dir" if data["output_dir"] is None else data["output_dir"],
        batch_size=data["per_device_train_batch_size"] * world,
        eval_batch_size=data["per_device_eval_batch_size"] * world,
        num_epochs=data["num_epochs"], seed=data["seed"],
        amp=bool(data["amp"]) and not data["no_cuda"] if isinstance(data["amp"], bool) else data["amp"],
        device="cpu" if data["no_cuda"] is True else "auto",
        checkpoint_every_n_epochs=data["steps_saving"], images_every_n_epochs=data["steps_predict"],
        **_optimization(data, f"{groups[0]}_" if groups else ""),
    )
    if not isinstance(data["no_cuda"], bool):
        raise ConfigError(f"{name}.no_cuda={data['no_cuda']!r} is invalid: expected true or false")
    if groups:
        out["group_overrides"] = {g: _optimization(data, f"{g}_") for g in groups}
    out.update(fields)
    try:
        config = TrainerConfig.from_dict(out)
    except ConfigError as err:
        raise ConfigError(f"Pythae {name}: {err}") from None
    workers = (data["train_dataloader_num_workers"], data["eval_dataloader_num_workers"])
    object.__setattr__(config, "pythae_num_workers", workers)
    return config


def _read_foreign(data: dict[str, Any]) -> dict[str, Any]:
    return trainer_config_from_pythae(data).to_dict()


# ``TrainerConfig.from_dict`` / ``from_json`` (and the CLI's --training-config) read Pythae's files through this
for _name in PYTHAE_TRAINER_CONFIGS:
    FOREIGN_READERS[_name] = _read_foreign
