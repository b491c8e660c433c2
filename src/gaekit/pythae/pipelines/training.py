"""``pythae.pipelines.training``: ``TrainingPipeline`` on gaekit's trainer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gaekit.errors import ConfigError
from gaekit.models import BaseAE
from gaekit.pythae.pipelines.base_pipeline import Pipeline
from gaekit.pythae.trainers import BaseTrainer
from gaekit.trainers import TrainerConfig

__all__ = ["TrainingPipeline"]


class TrainingPipeline(Pipeline):
    """Pythae's ``TrainingPipeline(model, training_config=None)``; ``pipeline(train_data, eval_data=None,
    callbacks=None)`` trains (``pipeline.trainer``: the ``gaekit.pythae.trainers.BaseTrainer``, its
    ``training_dir`` the run folder).

    Every Pythae trainer config works with every model: gaekit's trainer gives each parameter group of the
    model its own optimizer, with the config's ``group_overrides`` (the ``<group>_`` fields of Pythae's
    adversarial and coupled configs) or its top-level settings. ``training_config=None`` is Pythae's defaults.
    """

    def __init__(self, model: BaseAE | None = None, training_config: TrainerConfig | None = None):
        if not isinstance(model, BaseAE):
            raise ConfigError(f"TrainingPipeline needs model=<a gaekit model>, got {type(model).__name__}")
        if training_config is not None and not isinstance(training_config, TrainerConfig):
            raise ConfigError(f"TrainingPipeline: training_config must be a BaseTrainerConfig(...) (a gaekit "
                              f"TrainerConfig), got {type(training_config).__name__}")
        self.model = model
        self.training_config = training_config
        self.trainer: BaseTrainer | None = None

    def __call__(self, train_data: Any, eval_data: Any = None, callbacks: Iterable[Any] | None = None) -> None:
        """Train ``model`` on ``train_data`` (array, tensor, ``BaseDataset`` or torch ``Dataset``)."""
        self.trainer = BaseTrainer(self.model, train_data, eval_data, self.training_config, callbacks)
        self.trainer.train()
