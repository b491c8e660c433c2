"""gaekit: generative autoencoders in PyTorch.

The main entry points are re-exported lazily (importing ``gaekit`` does not import
scikit-learn or the trainer until they are used)::

    from gaekit import create_model              # any model from its name or config
    from gaekit.models import VAE, VAEConfig, AutoModel
    from gaekit.trainers import BaseTrainerConfig
    from gaekit.pipelines import TrainingPipeline, GenerationPipeline

Importing gaekit changes no global torch setting; ``gaekit.configure_threads()`` sets torch's intra-op
threads (``OMP_NUM_THREADS``, else the cores available), as the ``gaekit`` command does.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "AutoModel": "gaekit.models",
    "create_model": "gaekit.models",
    "TrainingPipeline": "gaekit.pipelines",
    "GenerationPipeline": "gaekit.pipelines",
    "Trainer": "gaekit.trainers",
    "TrainerConfig": "gaekit.trainers",
    "BaseTrainerConfig": "gaekit.trainers",
    "configure_threads": "gaekit._threads",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gaekit' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
