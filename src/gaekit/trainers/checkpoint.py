"""Training checkpoints without pickle.

A checkpoint folder holds ``model.safetensors`` (current weights), ``best_model.safetensors``,
``state.safetensors`` (every other tensor: optimizer moments, RNG states, data-order state,
running epoch sums) and ``trainer_state.json`` (counters, history, best record, the
non-tensor parts of optimizer/scheduler state, checksums), plus the model and training
configs. Nested state dicts are turned into JSON trees whose tensors are replaced by
references into the safetensors file (``{"__tensor__": key}``); tuples and non-string dict
keys are tagged so the structure comes back exactly.

``trainer_state.json`` also records the sha256 of its own state tree (canonical JSON) beside the
weights' checksums, so a hand-edited state is detected; every field is validated on load and any
malformed content gives ``CheckpointError`` naming the file and the field.

Checkpoint formats (``checkpoint_format`` in ``trainer_state.json``; absent means 1):

- 3 (this one): the model's networks are in its ``config.json`` (``network``, ``network_options``), so the
  state no longer holds ``networks`` (the ``create_network`` spec of each network); a format 2 or 1
  checkpoint's specs are migrated into the model config in memory when it is resumed
  (``gaekit.models.factory.migrate_network_specs``).
- 2: the state checksum, ``optimizer_classes``, ``scheduler_classes`` and ``data_source``.
- 1 (gaekit before exact resume): none of those. Such a checkpoint is migrated in memory when read:
  its weights' checksums are verified but it has no state checksum, the classes are those its
  ``training_config.json`` gives each group (``group_overrides`` applied) and ``data_source`` is None.
  Its ``epoch_start_data_state`` means what format 2's does -- the data-order generator state the
  current epoch's permutation is drawn from -- except in one case: format 1 stored the generator's
  state *at saving time* when ``step_in_epoch`` was 0. For a checkpoint written at the end of an epoch
  (``checkpoint_epoch_N``, or an interruption between epochs) that is the state the next epoch draws
  from, so it resumes exactly; for a ``checkpoint_interrupted`` written during the first step of an
  epoch the permutation had already been drawn, so that epoch's data order differs from an
  uninterrupted run's (a warning says so; everything else resumes exactly).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.errors import CheckpointError, ConfigError
from gaekit.serialization import (
    FORMAT_VERSION,
    atomic_folder,
    is_int,
    library_metadata,
    load_tensors,
    read_json,
    recover_folder,
    refuse_pickles,
    require_version,
    save_tensors,
    write_json,
)
from gaekit.trainers.config import TrainerConfig

STATE_FILE = "trainer_state.json"
FORMAT_KEY = "checkpoint_format"  # in trainer_state.json: the checkpoint layout (see the module docstring)
CHECKPOINT_FORMAT = 3


def to_tree(obj: Any, tensors: dict[str, Tensor], prefix: str) -> Any:
    """JSON-able copy of ``obj``; tensors move into ``tensors`` under keys starting with ``prefix``."""
    if isinstance(obj, Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, tuple):
        return {"__tuple__": [to_tree(v, tensors, prefix) for v in obj]}
    if isinstance(obj, list):
        return [to_tree(v, tensors, prefix) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: to_tree(v, tensors, prefix) for k, v in obj.items()}
        return {"__items__": [[to_tree(k, tensors, prefix), to_tree(v, tensors, prefix)] for k, v in obj.items()]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    raise CheckpointError(f"cannot store a {type(obj).__name__} in a checkpoint (at {prefix})")


def from_tree(tree: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of ``to_tree``."""
    if isinstance(tree, list):
        return [from_tree(v, tensors) for v in tree]
    if isinstance(tree, dict):
        if "__tensor__" in tree:
            try:
                return tensors[tree["__tensor__"]]
            except KeyError:
                raise CheckpointError(f"checkpoint tensor {tree['__tensor__']!r} is missing") from None
        if "__ndarray__" in tree:
            return np.asarray(tree["__ndarray__"], dtype=tree["dtype"])
        if "__tuple__" in tree:
            return tuple(from_tree(v, tensors) for v in tree["__tuple__"])
        if "__items__" in tree:
            return {from_tree(k, tensors): from_tree(v, tensors) for k, v in tree["__items__"]}
        return {k: from_tree(v, tensors) for k, v in tree.items()}
    return tree


def state_checksum(tree: Any) -> str:
    """sha256 of the canonical JSON of a state tree (sorted keys, no spaces)."""
    text = json.dumps(tree, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_checkpoint(folder: Path, *, model_state: dict[str, Tensor], best_state: dict[str, Tensor] | None,
                     state: dict[str, Any], configs: dict[str, Any]) -> Path:
    """Write a checkpoint atomically: ``state`` may nest tensors anywhere (see ``to_tree``)."""
    tensors: dict[str, Tensor] = {}
    tree = to_tree(state, tensors, "state")
    with atomic_folder(folder) as tmp:
        sha = {"model.safetensors": save_tensors(tmp / "model.safetensors", model_state),
               "state.safetensors": save_tensors(tmp / "state.safetensors", tensors)}
        if best_state is not None:
            sha["best_model.safetensors"] = save_tensors(tmp / "best_model.safetensors", best_state)
        sha[STATE_KEY] = state_checksum(tree)
        for name, cfg in configs.items():
            cfg.to_json(tmp / f"{name}.json")
        write_json(tmp / STATE_FILE, {**library_metadata(), FORMAT_KEY: CHECKPOINT_FORMAT, "sha256": sha,
                                      "state": tree})
    return folder


# -- validation ---------------------------------------------------------------------------
STATE_KEY = "state"  # the key, in ``sha256``, of the state tree's own checksum
_WEIGHT_FILES = ("model.safetensors", "state.safetensors")
STATE_KEYS = ("trainer", "model_name", "optimizers", "optimizer_classes", "schedulers",
              "scheduler_classes", "scaler", "rng", "epoch_start_data_state", "epoch_sums", "data_source")
LEGACY_STATE_KEYS = ("networks",)  # formats 1 and 2: each network's create_network spec
_ADDED_IN_FORMAT_2 = ("optimizer_classes", "scheduler_classes", "data_source")


@dataclass
class TrainerState:
    """Counters and records that a checkpoint restores."""

    epoch: int = 0  # epochs completed
    step_in_epoch: int = 0  # steps completed in the current epoch (== batches per epoch: end of epoch pending)
    global_step: int = 0
    best_loss: float = math.inf
    best_epoch: int | None = None
    epochs_since_best: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, where: str, batches_per_epoch: int | None = None) -> TrainerState:
        """A validated state from its JSON form; ``CheckpointError`` naming ``where`` and the field otherwise."""
        names = [f.name for f in fields(cls)]
        _check(where, "trainer", data, isinstance(data, dict), f"an object with the fields {names}")
        unknown, missing = sorted(set(data) - set(names)), [n for n in names if n not in data]
        _check(where, "trainer", sorted(data), not unknown, f"only the fields {names} (unknown: {unknown})")
        _check(where, "trainer", sorted(data), not missing, f"all the fields {names} (missing: {missing})")
        for name in ("epoch", "step_in_epoch", "global_step", "epochs_since_best"):
            _check(where, f"trainer.{name}", data[name], is_int(data[name]) and data[name] >= 0, "an int >= 0")
        epoch, history = data["epoch"], data["history"]
        if batches_per_epoch is not None:
            _check(where, "trainer.step_in_epoch", data["step_in_epoch"], data["step_in_epoch"] <= batches_per_epoch,
                   f"at most the {batches_per_epoch} batches per epoch of the training data")
        _check(where, "trainer.history", history, isinstance(history, list) and len(history) == epoch,
               f"a list of {epoch} per-epoch records")
        last_step = 0
        for i, record in enumerate(history):
            what = f"trainer.history[{i}]"
            _check(where, what, record, isinstance(record, dict) and all(isinstance(k, str) for k in record),
                   "an object")
            _check(where, f"{what}.epoch", record.get("epoch"), record.get("epoch") == i + 1, str(i + 1))
            step = record.get("global_step")
            _check(where, f"{what}.global_step", step, is_int(step) and step >= last_step,
                   f"an int >= {last_step}")
            last_step = step
        best_loss = data["best_loss"]
        _check(where, "trainer.best_loss", best_loss, _is_number(best_loss) and not math.isnan(best_loss),
               "a number (inf before any epoch)")
        best = data["best_epoch"]
        _check(where, "trainer.best_epoch", best, best is None or (is_int(best) and 1 <= best <= epoch),
               f"None or an epoch in 1..{epoch}")
        _check(where, "trainer.best_loss", best_loss, (best is None) == (best_loss == math.inf),
               "inf exactly when best_epoch is None")
        since = epoch - (best or 0)
        _check(where, "trainer.epochs_since_best", data["epochs_since_best"], data["epochs_since_best"] == since,
               f"{since} (epoch - best_epoch)")
        expected = last_step + data["step_in_epoch"]
        _check(where, "trainer.global_step", data["global_step"], data["global_step"] == expected,
               f"{expected} (the last epoch's global_step + step_in_epoch)")
        return cls(**data)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(where: Any, name: str, value: Any, ok: bool, allowed: str) -> None:
    if not ok:
        raise CheckpointError(f"{where}: {name}={value!r:.120} is invalid: expected {allowed}")


def _is_dict_of(value: Any, kinds: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, kinds) for k, v in value.items())


def validate_state(state: Any, where: Any, best_present: bool) -> dict[str, Any]:
    """Check every part of a checkpoint's state (after ``from_tree``); ``state["trainer"]`` becomes a TrainerState."""
    _check(where, "state", state, isinstance(state, dict), "an object")
    unknown = sorted(set(state) - set(STATE_KEYS) - set(LEGACY_STATE_KEYS))
    missing = [k for k in STATE_KEYS if k not in state]
    _check(where, "state", sorted(state), not unknown and not missing,
           f"the keys {list(STATE_KEYS)} (unknown: {unknown}, missing: {missing})")
    trainer = TrainerState.from_dict(state["trainer"], where)
    _check(where, "best_model.safetensors", "present" if best_present else "absent",
           best_present == (trainer.best_epoch is not None), "present exactly when trainer.best_epoch is set")
    _check(where, "model_name", state["model_name"], isinstance(state["model_name"], str), "a model name")
    if "networks" in state:
        _check(where, "networks", state["networks"], _is_dict_of(state["networks"], (dict, type(None))),
               "an object of network specs")
    optimizers = state["optimizers"]
    _check(where, "optimizers", optimizers, _is_dict_of(optimizers, dict) and all(
        isinstance(o.get("state"), dict) and isinstance(o.get("param_groups"), list) for o in optimizers.values()),
        "an object of optimizer state dicts (with 'state' and 'param_groups')")
    groups = sorted(optimizers)
    for key, kinds in (("optimizer_classes", str), ("scheduler_classes", (str, type(None)))):
        _check(where, key, state[key], _is_dict_of(state[key], kinds) and sorted(state[key]) == groups,
               f"a class name for each group {groups}")
    _check(where, "schedulers", state["schedulers"], _is_dict_of(state["schedulers"], dict)
           and all(state["scheduler_classes"].get(g) is not None for g in state["schedulers"]),
           "an object of scheduler state dicts of the groups that have a scheduler")
    _check(where, "scaler", state["scaler"], state["scaler"] is None or isinstance(state["scaler"], dict),
           "None or a gradient-scaler state dict")
    rng = state["rng"]
    _check(where, "rng", rng, isinstance(rng, dict) and isinstance(rng.get("torch"), Tensor)
           and isinstance(rng.get("python"), tuple) and isinstance(rng.get("numpy"), tuple)
           and set(rng) <= {"torch", "python", "numpy", "cuda"}, "the torch, python and numpy (and cuda) RNG states")
    data_state = state["epoch_start_data_state"]
    _check(where, "epoch_start_data_state", data_state, isinstance(data_state, Tensor)
           and data_state.dtype == torch.uint8, "a uint8 generator state")
    _check(where, "epoch_sums", state["epoch_sums"], _is_dict_of(state["epoch_sums"], Tensor),
           "an object of tensors")
    source = state["data_source"]
    _check(where, "data_source", source, source is None or isinstance(source, dict), "None or an object")
    return {**state, "trainer": trainer}


# per-parameter optimizer state not in the parameter's shape (torch.optim's): 0-dim counters and step sizes,
# and Adafactor's factored moments of a parameter with 2 or more dims
_SCALAR_STATE = frozenset({"step", "eta", "mu", "mu_product"})
_FACTORED_STATE = {"row_var": lambda shape: (*shape[:-1], 1), "col_var": lambda shape: (*shape[:-2], 1, shape[-1])}


def _fits_hyperparameter(saved: Any, own: Any) -> bool:
    """Whether a saved optimizer hyperparameter can stand for this optimizer's ``own`` value: a finite number
    for a number (some are negative, e.g. Adafactor's ``beta2_decay``), a bool (or None) for a bool, a tuple
    of as many such numbers for a tuple."""
    if isinstance(own, bool):
        return saved is None or isinstance(saved, bool)
    if isinstance(own, (int, float)):
        return _is_number(saved) and math.isfinite(saved)
    if isinstance(own, (tuple, list)) and all(isinstance(v, (int, float)) for v in own):
        return (isinstance(saved, (tuple, list)) and len(saved) == len(own)
                and all(_fits_hyperparameter(a, b) for a, b in zip(saved, own)))
    return True  # None, tensors, strings: what torch accepts in their place varies; loading checks them


def _hyperparameter_kind(own: Any) -> str:
    if isinstance(own, bool):
        return "a bool"
    if isinstance(own, (tuple, list)):
        return f"a list of {len(own)} finite numbers"
    return "a finite number"


def check_optimizer_shapes(saved: dict[str, Any], optimizer: torch.optim.Optimizer, group: str, where: Any,
                           names: dict[int, str] | None = None) -> None:
    """``CheckpointError`` unless every per-parameter tensor of the saved state dict of ``group``'s optimizer has
    the shape of the parameter it belongs to in ``optimizer`` (0-dim counters such as ``step`` excepted, and
    Adafactor's factored moments in their factored shape). ``names``: parameter names by ``id``."""
    saved_groups, own_groups = saved["param_groups"], optimizer.param_groups
    _check(where, f"optimizers.{group}.param_groups", f"{len(saved_groups)} group(s)",
           len(saved_groups) == len(own_groups), f"{len(own_groups)} parameter group(s), as this trainer's optimizer")
    for i, (saved_group, own_group) in enumerate(zip(saved_groups, own_groups)):
        ids, params = saved_group.get("params") if isinstance(saved_group, dict) else None, own_group["params"]
        _check(where, f"optimizers.{group}.param_groups[{i}].params", ids,
               isinstance(ids, list) and len(ids) == len(params) and all(is_int(i) for i in ids),
               f"a list of {len(params)} parameter ids (ints)")
        for key, own in own_group.items():
            if key != "params" and key in saved_group:
                _check(where, f"optimizers.{group}.param_groups[{i}].{key}", saved_group[key],
                       _fits_hyperparameter(saved_group[key], own), _hyperparameter_kind(own))
        keys: dict[int, list[set]] = {}  # by the parameter's number of dimensions (Adafactor factors 2-d ones)
        for index, param in zip(ids, params):
            entry = saved["state"].get(index)
            if isinstance(entry, dict) and entry:
                keys.setdefault(param.dim(), []).append(set(entry))
        for dim, sets in keys.items():
            _check(where, f"optimizers.{group}.state", f"entries with keys {sorted(map(sorted, sets))[:2]}",
                   all(k == sets[0] for k in sets), f"the same state keys for every {dim}-d parameter (e.g. Adam's "
                   "step, exp_avg, exp_avg_sq)")
        for index, param in zip(ids, params):
            entry = saved["state"].get(index, {})
            _check(where, f"optimizers.{group}.state[{index}]", entry, isinstance(entry, dict), "an object")
            for key, value in entry.items():
                if not isinstance(value, Tensor) or (key in _SCALAR_STATE and value.dim() == 0):
                    continue
                shape = tuple(param.shape)
                expected = _FACTORED_STATE[key](shape) if key in _FACTORED_STATE and len(shape) >= 2 else shape
                if tuple(value.shape) != expected:
                    name = f" ({names[id(param)]})" if names and id(param) in names else ""
                    raise CheckpointError(
                        f"{where}: the {type(optimizer).__name__} state {key!r} of parameter group {group!r}, "
                        f"parameter {index}{name} has shape {tuple(value.shape)}, expected {expected} (the "
                        "parameter's shape); the optimizer state does not belong to this model")


def read_json_object(path: Path) -> dict[str, Any]:
    """A checkpoint's JSON file that must hold an object; ``CheckpointError`` naming it otherwise."""
    data = read_json(path, "not a gaekit training checkpoint")
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a JSON {type(data).__name__}; expected an object (of config fields)")
    return data


def _read_meta(folder: Path) -> dict[str, Any]:
    """The checked ``trainer_state.json`` of a checkpoint folder (recovered first if a save of it was killed
    between its renames): versions, checksum dict and state tree unmodified; a format 1 state migrated."""
    folder = Path(folder)
    recover_folder(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    refuse_pickles(folder)
    path = folder / STATE_FILE
    meta = read_json(path, "not a gaekit training checkpoint")
    if not isinstance(meta, dict) or "state" not in meta or "sha256" not in meta:
        raise CheckpointError(f"{path} is incomplete: expected an object with 'state' and 'sha256'")
    require_version(meta, "format_version", FORMAT_VERSION, path)
    sha = meta["sha256"]
    # without the marker: format 1, or a format 2 checkpoint of a development version (it has the state checksum)
    layout = require_version(meta, FORMAT_KEY, CHECKPOINT_FORMAT, path,
                            default=2 if isinstance(sha, dict) and STATE_KEY in sha else 1)
    required = [*_WEIGHT_FILES, STATE_KEY] if layout >= 2 else list(_WEIGHT_FILES)
    _check(path, "sha256", sha, _is_dict_of(sha, str) and all(k in sha for k in required)
           and set(sha) <= {*required, "best_model.safetensors"},
           f"an object of sha256 strings for {required} (and best_model.safetensors)")
    if layout >= 2 and state_checksum(meta["state"]) != sha[STATE_KEY]:
        raise CheckpointError(f"{path} was modified since it was written: its state does not match the checksum "
                              "recorded with it (edit nothing in a checkpoint; resume options go to the trainer)")
    if layout == 1:
        meta = {**meta, "state": _migrate_format_1(meta["state"], folder)}
    return meta


def _migrate_format_1(tree: Any, folder: Path) -> Any:
    """A format 1 state tree with the keys format 2 added (see the module docstring)."""
    path = folder / STATE_FILE
    _check(path, "state", tree, isinstance(tree, dict), "an object")
    added = sorted(k for k in _ADDED_IN_FORMAT_2 if k in tree)
    _check(path, FORMAT_KEY, "missing", not added,
           f"{CHECKPOINT_FORMAT}: the state has the keys {added} of format 2 and later (edited by hand?)")
    config = read_training_config(folder)
    groups = tree.get("optimizers")
    groups = sorted(groups) if isinstance(groups, dict) else []
    settings = {g: config.group_settings(g) for g in groups}
    trainer = tree.get("trainer")
    if (isinstance(trainer, dict) and trainer.get("step_in_epoch") == 0 and config.shuffle
            and folder.name == "checkpoint_interrupted"):
        warnings.warn(f"{folder} was written by an older gaekit (checkpoint format 1) when an epoch began: if it "
                      "was interrupted during that epoch's first step, the epoch's data order differs from an "
                      "uninterrupted run's (the rest resumes exactly)", stacklevel=4)
    return {**tree, "optimizer_classes": {g: s["optimizer"] for g, s in settings.items()},
            "scheduler_classes": {g: s["scheduler"] for g, s in settings.items()}, "data_source": None}


def read_training_config(checkpoint_dir: Path) -> TrainerConfig:
    """The ``training_config.json`` of a checkpoint; ``CheckpointError`` naming the file when it is bad."""
    path = Path(checkpoint_dir) / "training_config.json"
    data = read_json_object(path)
    try:
        return TrainerConfig.from_dict(data)
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None


def read_checkpoint(folder: Path) -> tuple[dict[str, Tensor], dict[str, Tensor] | None, dict[str, Any]]:
    """``(model_state, best_state, state)`` of a checkpoint written by ``write_checkpoint``, validated
    (``state["trainer"]`` is a ``TrainerState``)."""
    folder = Path(folder)
    meta = _read_meta(folder)
    sha = meta["sha256"]
    model_state = load_tensors(folder / "model.safetensors", sha["model.safetensors"])
    tensors = load_tensors(folder / "state.safetensors", sha["state.safetensors"])
    best = None
    if "best_model.safetensors" in sha:
        best = load_tensors(folder / "best_model.safetensors", sha["best_model.safetensors"])
    try:
        state = from_tree(meta["state"], tensors)
    except CheckpointError as err:
        raise CheckpointError(f"{folder / STATE_FILE}: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(f"{folder / STATE_FILE}: malformed state ({type(err).__name__}: {err})") from None
    return model_state, best, validate_state(state, folder / STATE_FILE, best is not None)


def read_checkpoint_info(checkpoint_dir: str | Path) -> dict[str, Any]:
    """What a checkpoint folder resumes, without building a model or reading its weights.

    Returns ``{"model_name", "epoch", "step_in_epoch", "global_step", "num_epochs", "data_source",
    "run_dir"}`` (``run_dir``: the folder holding the checkpoint, as a string); ``CheckpointError`` on a
    missing, modified or malformed checkpoint.
    """
    folder = Path(checkpoint_dir)
    meta = _read_meta(folder)
    path, state = folder / STATE_FILE, meta["state"]
    _check(path, "state", state, isinstance(state, dict), "an object")
    trainer = TrainerState.from_dict(state.get("trainer"), path)
    _check(path, "model_name", state.get("model_name"), isinstance(state.get("model_name"), str), "a model name")
    source = state.get("data_source")
    _check(path, "data_source", source, source is None or isinstance(source, dict), "None or an object")
    config_path = folder / "training_config.json"
    epochs = read_json_object(config_path).get("num_epochs")
    _check(config_path, "num_epochs", epochs, is_int(epochs) and epochs > 0, "a positive int")
    return {"model_name": state["model_name"], "epoch": trainer.epoch, "step_in_epoch": trainer.step_in_epoch,
            "global_step": trainer.global_step, "num_epochs": epochs, "data_source": source,
            "run_dir": str(folder.parent)}


def rng_state(device: torch.device) -> dict[str, Any]:
    """Every global RNG state a training step can touch."""
    import random

    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                             "numpy": np.random.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Restore what ``rng_state`` returned."""
    import random

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
