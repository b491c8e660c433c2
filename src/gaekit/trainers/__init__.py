"""Training: the one ``Trainer``, its config, callbacks and checkpoints."""

from gaekit.trainers.callbacks import KeepNewestCheckpoint, TrainerCallback
from gaekit.trainers.checkpoint import TrainerState, read_checkpoint_info
from gaekit.trainers.config import BaseTrainerConfig, TrainerConfig
from gaekit.trainers.pythae_config import trainer_config_from_pythae
from gaekit.trainers.run_folder import check_output_dir
from gaekit.trainers.setup import set_seed
from gaekit.trainers.trainer import Trainer

__all__ = ["BaseTrainerConfig", "KeepNewestCheckpoint", "Trainer", "TrainerCallback", "TrainerConfig", "TrainerState",
           "check_output_dir", "read_checkpoint_info", "set_seed", "trainer_config_from_pythae"]
