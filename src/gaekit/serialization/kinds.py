"""The kinds of gaekit folders (model, sampler, checkpoint, classifier): their files, how to tell them apart
by their metadata file, and how each is loaded."""

from __future__ import annotations

import contextlib
from pathlib import Path

from gaekit.config import loads_json
from gaekit.errors import CheckpointError

# kind: (metadata file, key it must hold, weights file, files gaekit writes into such a folder)
FOLDER_KINDS: dict[str, tuple[str, str, str, frozenset[str]]] = {
    "sampler": ("gaekit.json", "sampler_name", "sampler.safetensors",
                frozenset({"gaekit.json", "sampler_config.json", "sampler.safetensors"})),
    "model": ("gaekit.json", "model_name", "model.safetensors",
              frozenset({"gaekit.json", "config.json", "model.safetensors", "training_config.json"})),
    "checkpoint": ("trainer_state.json", "state", "model.safetensors",
                   frozenset({"trainer_state.json", "config.json", "training_config.json", "model.safetensors",
                              "best_model.safetensors", "state.safetensors"})),
    "classifier": ("classifier.json", "config", "model.safetensors",
                   frozenset({"classifier.json", "model.safetensors"})),
}
HOW_TO_LOAD = {
    "model": "AutoModel.load_from_folder(path)",
    "sampler": "BaseSampler.load_from_folder(path, model)",
    "checkpoint": "Trainer.from_checkpoint(path, train_data) or `gaekit train --resume PATH`",
    "classifier": "gaekit.metrics.domain_classifier",
}


def folder_kind(folder: Path) -> str | None:
    """``"model"``, ``"sampler"``, ``"checkpoint"`` or ``"classifier"`` by the folder's metadata file, else None."""
    folder = Path(folder)
    for kind, (meta_file, key, _, _) in FOLDER_KINDS.items():
        path = folder / meta_file
        if path.is_file():
            with contextlib.suppress(OSError, ValueError):
                meta = loads_json(path.read_text())
                if isinstance(meta, dict) and key in meta:
                    return kind
    return None


def missing_metadata_error(folder: Path, kind: str) -> CheckpointError:
    """The error for a folder without ``kind``'s metadata file, saying what the folder is instead."""
    meta_path = folder / FOLDER_KINDS[kind][0]
    message = f"not a gaekit {kind} folder: {meta_path} is missing"
    found = folder_kind(folder)
    children = {p: folder_kind(p) for p in sorted(folder.iterdir()) if p.is_dir()}
    inside = [p for p, k in children.items() if k == kind]
    if found == "checkpoint":
        message += (f". {folder} is a training checkpoint: resume it with {HOW_TO_LOAD['checkpoint']}; its best "
                    "weights (best_model.safetensors) are saved as a model in the run folder's final_model/ "
                    "when training finishes")
    elif found is not None:
        message += f". {folder} is a gaekit {found} folder: load it with {HOW_TO_LOAD[found]}"
    elif (folder / "final_model") in inside:
        message += (f". {folder} is a training run folder: the trained {kind} is in its final_model/ folder; "
                    f"pass {folder / 'final_model'}")
    elif inside:
        message += f". {folder} holds the gaekit {kind} folder(s) {', '.join(p.name for p in inside)}: pass {inside[0]}"
    elif any(k == "checkpoint" for k in children.values()):
        names = ", ".join(p.name for p, k in children.items() if k == "checkpoint")
        message += (f". {folder} holds training checkpoints ({names}) but no finished {kind}: resume one with "
                    f"{HOW_TO_LOAD['checkpoint']}")
    return CheckpointError(message)
