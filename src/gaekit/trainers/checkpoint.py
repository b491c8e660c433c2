"""Training checkpoints without pickle.

A checkpoint folder holds ``model.safetensors`` (current weights), ``best_model.safetensors``,
``state.safetensors`` (every other tensor: optimizer moments, RNG states, data-order state,
running epoch sums) and ``trainer_state.json`` (counters, history, best record, the
non-tensor parts of optimizer/scheduler state, checksums), plus the model and training
configs. Nested state dicts are turned into JSON trees whose tensors are replaced by
references into the safetensors file (``{"__tensor__": key}``); tuples and non-string dict
keys are tagged so the structure comes back exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.errors import CheckpointError
from gaekit.serialization import (
    atomic_folder,
    library_metadata,
    load_tensors,
    read_json,
    refuse_pickles,
    save_tensors,
    write_json,
)

STATE_FILE = "trainer_state.json"


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
        for name, cfg in configs.items():
            cfg.to_json(tmp / f"{name}.json")
        write_json(tmp / STATE_FILE, {**library_metadata(), "sha256": sha, "state": tree})
    return folder


def read_checkpoint(folder: Path) -> tuple[dict[str, Tensor], dict[str, Tensor] | None, dict[str, Any]]:
    """``(model_state, best_state, state)`` of a checkpoint written by ``write_checkpoint``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    refuse_pickles(folder)
    meta = read_json(folder / STATE_FILE, "not a gaekit training checkpoint")
    if not isinstance(meta, dict) or "state" not in meta or "sha256" not in meta:
        raise CheckpointError(f"{folder / STATE_FILE} is incomplete")
    sha = meta["sha256"]
    model_state = load_tensors(folder / "model.safetensors", sha.get("model.safetensors"))
    tensors = load_tensors(folder / "state.safetensors", sha.get("state.safetensors"))
    best = None
    if "best_model.safetensors" in sha:
        best = load_tensors(folder / "best_model.safetensors", sha["best_model.safetensors"])
    return model_state, best, from_tree(meta["state"], tensors)


def rng_state(device: torch.device) -> dict[str, Any]:
    """Every global RNG state a training step can touch."""
    import random

    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                             "numpy": np.random.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    import random

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
