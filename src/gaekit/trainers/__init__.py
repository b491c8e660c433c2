"""Training: the one ``Trainer``, its config, callbacks and checkpoints.

Names are imported lazily, so that ``gaekit.trainers.locks`` can be used without importing torch.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "BaseTrainerConfig": "gaekit.trainers.config",
    "TrainerConfig": "gaekit.trainers.config",
    "TrainerCallback": "gaekit.trainers.callbacks",
    "Trainer": "gaekit.trainers.trainer",
    "TrainerState": "gaekit.trainers.checkpoint",
    "read_checkpoint_info": "gaekit.trainers.checkpoint",
    "set_seed": "gaekit.trainers.trainer",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gaekit.trainers' has no attribute {name!r}")


__all__ = ["BaseTrainerConfig", "Trainer", "TrainerCallback", "TrainerConfig", "TrainerState",
           "read_checkpoint_info", "set_seed"]
