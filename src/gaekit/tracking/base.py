"""What every experiment-tracking callback shares: flattened params, metric names, and never crashing training.

A tracking callback turns the trainer's hooks into five backend calls -- ``start`` (open a
run and log the flattened model and trainer configs), ``log_metrics``, ``log_images`` (image
grids, see ``TrainerConfig.images_every_n_epochs``), ``log_model`` (the final model folder) and
``close`` -- each implemented by one backend file. If a backend
call raises (a tracking server going away, a full disk), the callback logs a warning,
closes what it can, sets ``detached`` and ignores every later hook: training goes on.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gaekit.errors import ConfigError, GaekitError
from gaekit.trainers.callbacks import TrainerCallback, epoch_metrics, step_metrics

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

    from gaekit.models.base import ModelOutput
    from gaekit.trainers.trainer import Trainer


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into ``{"outer.inner": value}``; lists and empty dicts stay values.

    Examples
    --------
    >>> flatten_params({"model": {"latent_dim": 16, "input_dim": [1, 28, 28]}, "trainer": {"lr": 1e-3}})
    {'model.latent_dim': 16, 'model.input_dim': [1, 28, 28], 'trainer.lr': 0.001}
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def run_params(trainer: Trainer) -> dict[str, Any]:
    """The flattened model and trainer configs of a run (``model.*``, ``trainer.*``), plus the parameter count."""
    model = trainer.model
    return flatten_params({
        "model": {**model.model_config.to_dict(), "num_parameters": sum(p.numel() for p in model.parameters())},
        "trainer": trainer.config.to_dict(),
    })


def image_grids(images: Mapping[str, Tensor]) -> dict[str, np.ndarray]:
    """One uint8 ``(H, W, C)`` grid per kind of image batch (``gaekit.images.make_grid``).

    ``"reconstructions"`` are shown below their ``"inputs"`` (one row each); ``"samples"`` and any other
    kind fill a square grid. ``"inputs"`` alone (without reconstructions) is a grid of its own.
    """
    import torch

    from gaekit.images import make_grid

    grids: dict[str, np.ndarray] = {}
    for kind, batch in images.items():
        if kind == "inputs" and "reconstructions" in images:
            continue
        if kind == "reconstructions" and "inputs" in images:
            inputs = images["inputs"]
            grids[kind] = make_grid(torch.cat([inputs.to(batch.device), batch]), nrow=len(inputs))
        else:
            grids[kind] = make_grid(batch)
    return grids


class TrackingCallback(TrainerCallback):
    """Base of the tracking callbacks: subclasses implement ``start``, ``log_metrics`` and ``close``.

    Metrics are logged at the trainer's global step: ``step/loss`` and ``step/<term>`` every
    ``log_every_n_steps`` steps, and ``epoch/<key>`` for every numeric entry of the epoch's
    history record (``train_loss``, ``eval_loss``, the loss terms, ``lr_<group>``, ``epoch``). The images of
    ``TrainerConfig.images_every_n_epochs`` are logged as ``images/<kind>`` grids (see ``image_grids``).

    Parameters
    ----------
    log_every_n_steps : int or None
        Step-metric interval; ``None`` uses ``TrainerConfig.log_every_n_steps``.

    Attributes
    ----------
    detached : bool
        True once a backend call failed: the callback then does nothing more.
    """

    backend: ClassVar[str] = "tracking"

    def __init__(self, log_every_n_steps: int | None = None):
        check_positive_int(self, "log_every_n_steps", log_every_n_steps, allow_none=True)
        self.log_every_n_steps = log_every_n_steps
        self.detached = False
        self._running = False

    # -- backend interface (one file per backend) ----------------------------------------
    def start(self, trainer: Trainer, params: dict[str, Any]) -> None:
        """Open a run and log ``params`` (the flattened configs)."""
        raise NotImplementedError

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Log scalar ``metrics`` at global step ``step``."""
        raise NotImplementedError

    def log_images(self, grids: dict[str, np.ndarray], step: int) -> None:
        """Log uint8 ``(H, W, C)`` image grids by kind (``"samples"``, ...) at ``step`` (default: nothing)."""

    def log_epoch(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Log an epoch's metrics; backends that add more per epoch (images) extend this."""
        self.log_metrics(metrics, trainer.state.global_step)

    def log_model(self, folder: Path) -> None:
        """Store the final model folder (default: nothing)."""

    def close(self, failed: bool = False) -> None:
        """End the run (``failed`` when closing after a backend error)."""
        raise NotImplementedError

    # -- trainer hooks ----------------------------------------------------------------------
    def on_train_begin(self, trainer: Trainer) -> None:
        if self._running or self.detached:
            return
        self._running = self._call(self.start, trainer, run_params(trainer))

    def on_step_end(self, trainer: Trainer, output: ModelOutput) -> None:
        every = self.log_every_n_steps or trainer.config.log_every_n_steps
        if not self._running or trainer.state.global_step % every:
            return
        self._call(self.log_metrics, step_metrics(output), trainer.state.global_step)

    def on_prediction_step(self, trainer: Trainer, images: dict[str, Tensor]) -> None:
        if self._running:
            self._call(lambda: self.log_images(image_grids(images), trainer.state.global_step))

    def on_epoch_end(self, trainer: Trainer, record: dict[str, Any]) -> None:
        if self._running:
            self._call(self.log_epoch, trainer, epoch_metrics(record))

    def on_train_end(self, trainer: Trainer) -> None:
        if not self._running:
            return
        final = trainer.final_model_dir
        if final is not None and final.is_dir():
            self._call(self.log_model, final)
        if self._call(self.close):
            self._running = False

    def on_train_interrupted(self, trainer: Trainer, error: BaseException) -> None:
        """Close the run as failed: a resumed training (``Trainer.resume``) opens a new one."""
        if self._running and self._call(self.close, True):
            self._running = False

    # -- failure handling -------------------------------------------------------------------
    def _call(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Run a backend call; on failure warn, close, detach and return False (gaekit's own errors propagate)."""
        if self.detached:
            return False
        try:
            fn(*args)
        except GaekitError:
            raise
        except Exception as err:
            self.detached = True
            warnings.warn(f"{type(self).__name__}: the {self.backend} backend failed ({type(err).__name__}: {err}); "
                          "the callback is detached and training goes on without it", RuntimeWarning, stacklevel=3)
            if self._running:
                with contextlib.suppress(Exception):
                    self.close(failed=True)
            self._running = False
            return False
        return True


def check_positive_int(owner: object, name: str, value: Any, allow_none: bool = False) -> None:
    """Raise ``ConfigError`` unless ``value`` is an int >= 1 (or None when ``allow_none``)."""
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{type(owner).__name__}: {name}={value!r} is invalid: expected a positive int"
                          + (" or None" if allow_none else ""))


def output_dir(callback: TrackingCallback, trainer: Trainer, given: str | Path | None, what: str) -> Path:
    """``given``, or the trainer's run folder; a ``ConfigError`` when there is neither."""
    if given is not None:
        return Path(given)
    if trainer.run_dir is None:
        raise ConfigError(f"{type(callback).__name__} needs {what}= or TrainerConfig.output_dir "
                          "(whose run folder it writes to by default); both are None")
    return trainer.run_dir
