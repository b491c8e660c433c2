"""``TrainingPipeline`` -- the paper's Appendix A training entry point."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gaekit.errors import ConfigError
from gaekit.models.base import BaseAE
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig


class TrainingPipeline:
    """Train ``model`` with ``training_config``.

    Parameters
    ----------
    training_config : TrainerConfig (``BaseTrainerConfig``), optional
    model : BaseAE
    resume_from : str or Path, optional
        A checkpoint folder to continue from (may also be given to ``__call__``).

    Examples
    --------
    >>> pipeline = TrainingPipeline(training_config=BaseTrainerConfig(num_epochs=5), model=model)  # doctest: +SKIP
    >>> pipeline(train_data=x_train, eval_data=x_eval)                                             # doctest: +SKIP
    """

    def __init__(self, training_config: TrainerConfig | None = None, model: BaseAE | None = None,
                 resume_from: str | Path | None = None):
        if not isinstance(model, BaseAE):
            raise ConfigError(f"TrainingPipeline needs model=<a gaekit model>, got {type(model).__name__}")
        self.training_config = training_config if training_config is not None else TrainerConfig()
        self.model = model
        self.resume_from = resume_from
        self.trainer: Trainer | None = None

    def __call__(self, train_data: Any, eval_data: Any = None,
                 callbacks: Iterable[TrainerCallback] | None = None,
                 resume_from: str | Path | None = None) -> Trainer:
        """Train (or resume) and return the ``Trainer``; the best model is in ``trainer.final_model_dir``."""
        self.trainer = Trainer(self.model, self.training_config, train_data, eval_data, callbacks)
        checkpoint = resume_from if resume_from is not None else self.resume_from
        if checkpoint is not None:
            self.trainer.resume(checkpoint)
        else:
            self.trainer.train()
        return self.trainer
