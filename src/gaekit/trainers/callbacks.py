"""Training callbacks: subclass ``TrainerCallback`` and override the hooks you need."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from torch import Tensor

    from gaekit.models.base import ModelOutput
    from gaekit.trainers.trainer import Trainer


class TrainerCallback:
    """Hooks called by ``Trainer``; the trainer's ``state`` holds epoch and step counters.

    Raising from a hook stops training; the trainer first writes a ``checkpoint_interrupted``
    from which ``Trainer.resume`` continues exactly.

    In data-parallel training hooks run on rank 0 only (loggers and trackers then record one run);
    a callback that must run in every process (e.g. one that stops training, which every process
    has to do together) sets ``on_all_ranks = True``.

    Hooks must not draw from torch's global random stream (it would change the training that follows
    and break exact resume); the trainer computes what ``on_log`` and ``on_prediction_step`` receive only
    when some callback overrides them, so hooks left alone cost nothing.
    """

    on_all_ranks: ClassVar[bool] = False

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first step (also when resuming)."""

    def on_epoch_begin(self, trainer: Trainer) -> None:
        """Before each epoch's first step (not when a resumed run continues inside an epoch)."""

    def on_step_begin(self, trainer: Trainer) -> None:
        """Before each optimisation step, once its batch is drawn."""

    def on_step_end(self, trainer: Trainer, output: ModelOutput) -> None:
        """After each optimisation step; ``output`` is the step's ``ModelOutput``."""

    def on_eval_step_end(self, trainer: Trainer, output: ModelOutput) -> None:
        """After each evaluation batch, with its ``ModelOutput`` (in data-parallel training: this process's shard)."""

    def on_evaluate(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After the per-epoch evaluation, with the mean eval loss and terms."""

    def on_log(self, trainer: Trainer, logs: dict[str, float]) -> None:
        """When the trainer logs metrics, at ``trainer.state.global_step``: ``step/loss`` and ``step/<term>``
        every ``TrainerConfig.log_every_n_steps`` steps, and ``epoch/<key>`` for every number of each epoch's
        history record (``epoch/train_loss``, ``epoch/eval_loss``, ``epoch/lr_<group>``, ...)."""

    def on_prediction_step(self, trainer: Trainer, images: dict[str, Tensor]) -> None:
        """Every ``TrainerConfig.images_every_n_epochs`` epochs, after the epoch's evaluation, with image
        batches ``(N, C, H, W)`` in [0, 1] on the CPU: ``"inputs"`` (a fixed batch of eval data, else
        training data), ``"reconstructions"`` (of the inputs) and ``"samples"`` (from the model's prior)."""

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        """After an epoch, with its history record (train/eval losses, learning rates)."""

    def on_save(self, trainer: Trainer, path: Path) -> None:
        """After a checkpoint or the final model was written to ``path``."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After training finished and the final model was saved."""

    def on_train_interrupted(self, trainer: Trainer, error: BaseException) -> None:
        """Training stopped on ``error`` (after ``checkpoint_interrupted`` was written); the error is re-raised."""


def overrides(callback: TrainerCallback, hook: str) -> bool:
    """Whether ``callback`` (its class, or the instance itself) replaces ``TrainerCallback``'s do-nothing ``hook``."""
    method = getattr(callback, hook, None)
    return getattr(method, "__func__", method) is not getattr(TrainerCallback, hook)


def step_metrics(output: ModelOutput) -> dict[str, float]:
    """``{"step/loss": ..., "step/<term>": ...}`` of a step's output (one host sync per value)."""
    return {f"step/{k}": float(v.detach()) for k, v in {"loss": output.loss, **output.terms}.items()}


def epoch_metrics(record: dict[str, Any]) -> dict[str, float]:
    """``{"epoch/<key>": value}`` for every number of an epoch's history record but ``global_step``."""
    return {f"epoch/{k}": float(v) for k, v in record.items()
            if k != "global_step" and isinstance(v, (int, float)) and not isinstance(v, bool)}


class KeepNewestCheckpoint(TrainerCallback):
    """Keep only the newest epoch checkpoint of a run: after each ``checkpoint_epoch_N`` is written, the run's
    older ``checkpoint_*`` folders are removed (a run resumes from its newest checkpoint, so the others only
    take disk space: a long schedule would otherwise keep one per epoch). A subclass with
    ``after = "checkpoint_"`` keeps only the newest checkpoint of any kind, step checkpoints included."""

    after = "checkpoint_epoch_"  # the checkpoints whose writing removes the older ones

    def on_save(self, trainer: Trainer, path: Path) -> None:
        if not path.name.startswith(self.after):
            return
        import shutil

        for old in path.parent.glob("checkpoint_*"):
            if old != path and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
