"""Training: the one ``Trainer``, its config, callbacks and checkpoints."""

from gaekit.trainers.callbacks import TrainerCallback
from gaekit.trainers.config import BaseTrainerConfig, TrainerConfig
from gaekit.trainers.trainer import Trainer, TrainerState, set_seed

__all__ = ["BaseTrainerConfig", "Trainer", "TrainerCallback", "TrainerConfig", "TrainerState", "set_seed"]
