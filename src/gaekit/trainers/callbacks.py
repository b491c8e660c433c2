"""Training callbacks: subclass ``TrainerCallback`` and override the hooks you need."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from gaekit.models.base import ModelOutput
    from gaekit.trainers.trainer import Trainer


class TrainerCallback:
    """Hooks called by ``Trainer``; the trainer's ``state`` holds epoch and step counters.

    Raising from a hook stops training; the trainer first writes a ``checkpoint_interrupted``
    from which ``Trainer.resume`` continues exactly.

    In data-parallel training hooks run on rank 0 only (loggers and trackers then record one run);
    a callback that must run in every process (e.g. one that stops training, which every process
    has to do together) sets ``on_all_ranks = True``.
    """

    on_all_ranks: ClassVar[bool] = False

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first step (also when resuming)."""

    def on_step_end(self, trainer: Trainer, output: ModelOutput) -> None:
        """After each optimisation step; ``output`` is the step's ``ModelOutput``."""

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After the per-epoch evaluation, with the mean eval loss and terms."""

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """After an epoch, with its history record (train/eval losses, learning rates)."""

    def on_save(self, trainer: Trainer, path: Path) -> None:
        """After a checkpoint or the final model was written to ``path``."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After training finished and the final model was saved."""

    def on_train_interrupted(self, trainer: Trainer, error: BaseException) -> None:
        """Training stopped on ``error`` (after ``checkpoint_interrupted`` was written); the error is re-raised."""


class KeepNewestCheckpoint(TrainerCallback):
    """Keep only the newest epoch checkpoint of a run: after each ``checkpoint_epoch_N`` is written, the run's
    older ``checkpoint_*`` folders are removed (a run resumes from its newest checkpoint, so the others only
    take disk space: a long schedule would otherwise keep one per epoch)."""

    def on_save(self, trainer: Trainer, path: Path) -> None:
        if not path.name.startswith("checkpoint_epoch_"):
            return
        import shutil

        for old in path.parent.glob("checkpoint_*"):
            if old != path and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
