"""``pythae.trainers.training_callbacks``: Pythae's callback hooks on gaekit's ``TrainerCallback``.

A ``TrainingCallback`` has Pythae's hooks, each ``(self, training_config, **kwargs)``; the trainers of
``gaekit.pythae.trainers`` wrap it (``as_trainer_callback``) so that gaekit's ``Trainer`` calls every hook it
overrides, at these points:

============================  ==========================================================================
Pythae hook                   called (gaekit hook)
============================  ==========================================================================
``on_init_end``               when the ``gaekit.pythae`` trainer is built
``on_train_begin``            ``on_train_begin`` (``model_config=`` the model's config)
``on_epoch_begin``            ``on_epoch_begin`` (``epoch=`` 1, 2, ...)
``on_train_step_begin``       ``on_epoch_begin``, after ``on_epoch_begin`` (Pythae calls it once per epoch)
``on_train_step_end``         ``on_step_end`` (after each optimisation step, as Pythae's per batch)
``on_eval_step_begin``        before the first ``on_eval_step_end`` of each epoch (gaekit has no hook before)
``on_eval_step_end``          ``on_eval_step_end`` (per evaluation batch)
``on_evaluate``               ``on_evaluate`` (``metrics=`` the mean eval loss and terms)
``on_prediction_step``        ``on_prediction_step`` (``true_data``, ``reconstructions``, ``generations``,
                              every ``steps_predict`` epochs)
``on_epoch_end``              ``on_epoch_end``
``on_log``                    ``on_epoch_end``, after ``on_epoch_end``, with Pythae's epoch logs
                              ``{"train_epoch_loss": ..., "eval_epoch_loss": ...}``
``on_save``                   ``on_save`` (``path=`` the folder written)
``on_train_end``              ``on_train_end``
============================  ==========================================================================

Every call also gets ``trainer=`` (the gaekit ``Trainer``). ``WandbCallback``, ``MLFlowCallback`` and
``CometCallback`` keep Pythae's ``setup(training_config, model_config=..., ...)`` and log through
``gaekit.tracking``'s callbacks.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from gaekit.errors import ConfigError
from gaekit.trainers import TrainerCallback

__all__ = ["CallbackHandler", "CometCallback", "MLFlowCallback", "MetricConsolePrinterCallback", "PYTHAE_HOOKS",
           "ProgressBarCallback", "TrainHistoryCallback", "TrainingCallback", "WandbCallback", "as_trainer_callback"]

LOGGER = logging.getLogger("gaekit.pythae")
"""The ``logger=`` given to ``on_log`` (Pythae gives its trainer's module logger)."""

PYTHAE_HOOKS = ("on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                "on_train_step_begin", "on_train_step_end", "on_eval_step_begin", "on_eval_step_end", "on_evaluate",
                "on_prediction_step", "on_save", "on_log")


class TrainingCallback:
    """Base of Pythae-style callbacks: override the hooks you need (see the module docstring for when each runs)."""

    def on_init_end(self, training_config: Any, **kwargs: Any) -> None:
        """When the trainer is built."""

    def on_train_begin(self, training_config: Any, **kwargs: Any) -> None:
        """Before training."""

    def on_train_end(self, training_config: Any, **kwargs: Any) -> None:
        """After training."""

    def on_epoch_begin(self, training_config: Any, **kwargs: Any) -> None:
        """Before each epoch (``epoch=``)."""

    def on_epoch_end(self, training_config: Any, **kwargs: Any) -> None:
        """After each epoch."""

    def on_train_step_begin(self, training_config: Any, **kwargs: Any) -> None:
        """Before each epoch's training loop."""

    def on_train_step_end(self, training_config: Any, **kwargs: Any) -> None:
        """After each training batch."""

    def on_eval_step_begin(self, training_config: Any, **kwargs: Any) -> None:
        """Before each epoch's evaluation."""

    def on_eval_step_end(self, training_config: Any, **kwargs: Any) -> None:
        """After each evaluation batch."""

    def on_evaluate(self, training_config: Any, **kwargs: Any) -> None:
        """After each evaluation (``metrics=``)."""

    def on_prediction_step(self, training_config: Any, **kwargs: Any) -> None:
        """Every ``steps_predict`` epochs (``true_data``, ``reconstructions``, ``generations``)."""

    def on_save(self, training_config: Any, **kwargs: Any) -> None:
        """After a model or checkpoint folder was written."""

    def on_log(self, training_config: Any, logs: dict[str, float], **kwargs: Any) -> None:
        """After each epoch, with its losses."""

    def __repr__(self) -> str:
        return self.__class__.__name__


class MetricConsolePrinterCallback(TrainingCallback):
    """Pythae's console printer: logs each epoch's train and eval losses at INFO level on ``logger``."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(__name__)
        if not self.logger.handlers:
            self.logger.addHandler(logging.StreamHandler())
        self.logger.setLevel(logging.INFO)

    def on_log(self, training_config: Any, logs: dict[str, float], **kwargs: Any) -> None:
        for key, label in (("train_epoch_loss", "Train loss"), ("eval_epoch_loss", "Eval loss")):
            if logs.get(key) is not None:
                self.logger.info("%s: %s", label, round(float(logs[key]), 4))


class TrainHistoryCallback(MetricConsolePrinterCallback):
    """Pythae's history recorder: ``history["train_loss"]`` and ``history["eval_loss"]`` per epoch (None without
    eval data), reset when training begins; also prints them."""

    def __init__(self) -> None:
        self.history: dict[str, list[float | None]] = {"train_loss": [], "eval_loss": []}
        super().__init__()

    def on_train_begin(self, training_config: Any, **kwargs: Any) -> None:
        self.history = {"train_loss": [], "eval_loss": []}

    def on_log(self, training_config: Any, logs: dict[str, float], **kwargs: Any) -> None:
        self.history["train_loss"].append(logs.get("train_epoch_loss"))
        self.history["eval_loss"].append(logs.get("eval_epoch_loss"))


class ProgressBarCallback(TrainingCallback):
    """Pythae's progress bars: gaekit's trainer draws one per epoch itself (``TrainerConfig.show_progress``, on by
    default), so this callback has nothing left to do; to hide the bars set ``show_progress=False`` on the
    config."""


def _overridden(callback: Any, hook: str) -> bool:
    """Whether ``callback`` has its own ``hook`` (not ``TrainingCallback``'s do-nothing one)."""
    own = getattr(type(callback), hook, None)
    return callable(own) and own is not getattr(TrainingCallback, hook)


class _Adapter(TrainerCallback):
    """Calls a Pythae-style callback's hooks from gaekit's; its subclasses define only the gaekit hooks needed."""

    def __init__(self, callback: Any):
        self.callback = callback
        self._evaluating_epoch: int | None = None

    def _call(self, hook: str, trainer: Any, *args: Any, **kwargs: Any) -> None:
        if _overridden(self.callback, hook):
            getattr(self.callback, hook)(trainer.config, *args, trainer=trainer, **kwargs)

    def __repr__(self) -> str:
        return f"PythaeCallback({self.callback!r})"


def _on_train_begin(self: _Adapter, trainer: Any) -> None:
    self._call("on_train_begin", trainer, model_config=trainer.model.model_config)


def _on_epoch_begin(self: _Adapter, trainer: Any) -> None:
    epoch = trainer.state.epoch + 1
    self._call("on_epoch_begin", trainer, epoch=epoch, train_loader=None, eval_loader=None)
    self._call("on_train_step_begin", trainer, train_loader=None, epoch=epoch, rank=-1)


def _on_step_end(self: _Adapter, trainer: Any, output: Any) -> None:
    self._call("on_train_step_end", trainer)


def _on_eval_step_end(self: _Adapter, trainer: Any, output: Any) -> None:
    epoch = trainer.state.epoch + 1
    if self._evaluating_epoch != epoch:
        self._evaluating_epoch = epoch
        self._call("on_eval_step_begin", trainer, eval_loader=None, epoch=epoch, rank=-1)
    self._call("on_eval_step_end", trainer)


def _on_evaluate(self: _Adapter, trainer: Any, metrics: dict[str, float]) -> None:
    self._call("on_evaluate", trainer, metrics=metrics)


def _on_prediction_step(self: _Adapter, trainer: Any, images: dict[str, Any]) -> None:
    self._call("on_prediction_step", trainer, true_data=images.get("inputs"),
               reconstructions=images.get("reconstructions"), generations=images.get("samples"),
               global_step=trainer.state.epoch)


def _on_epoch_end(self: _Adapter, trainer: Any, record: dict[str, Any]) -> None:
    self._call("on_epoch_end", trainer)
    logs = {"train_epoch_loss": record.get("train_loss"), "eval_epoch_loss": record.get("eval_loss")}
    self._call("on_log", trainer, {k: v for k, v in logs.items() if v is not None}, logger=LOGGER,
               global_step=record.get("epoch", trainer.state.epoch), rank=-1)


def _on_save(self: _Adapter, trainer: Any, path: Any) -> None:
    self._call("on_save", trainer, path=path)


def _on_train_end(self: _Adapter, trainer: Any) -> None:
    self._call("on_train_end", trainer)


# gaekit hook -> (its implementation, the Pythae hooks it calls)
_GAEKIT_HOOKS = {
    "on_train_begin": (_on_train_begin, ("on_train_begin",)),
    "on_epoch_begin": (_on_epoch_begin, ("on_epoch_begin", "on_train_step_begin")),
    "on_step_end": (_on_step_end, ("on_train_step_end",)),
    "on_eval_step_end": (_on_eval_step_end, ("on_eval_step_begin", "on_eval_step_end")),
    "on_evaluate": (_on_evaluate, ("on_evaluate",)),
    "on_prediction_step": (_on_prediction_step, ("on_prediction_step",)),
    "on_epoch_end": (_on_epoch_end, ("on_epoch_end", "on_log")),
    "on_save": (_on_save, ("on_save",)),
    "on_train_end": (_on_train_end, ("on_train_end",)),
}


def as_trainer_callback(callback: Any) -> TrainerCallback:
    """A gaekit ``TrainerCallback`` for ``callback``: a gaekit callback as it is, one of this module's trackers as
    its gaekit tracker, a Pythae-style callback (any object with Pythae's hooks) wrapped so that each hook it
    overrides is called.

    Raises
    ------
    ConfigError
        For an object that is neither.
    """
    if isinstance(callback, TrainerCallback):
        return callback
    if isinstance(callback, _Tracker):
        return callback.tracker()
    hooks = [h for h in PYTHAE_HOOKS if _overridden(callback, h)]
    if not hooks and not isinstance(callback, TrainingCallback):
        raise ConfigError(f"callbacks: {type(callback).__name__} is not a callback; expected a "
                          "gaekit.pythae.trainers.training_callbacks.TrainingCallback (Pythae's hooks) or a "
                          "gaekit TrainerCallback")
    needed = {name: fn for name, (fn, pythae) in _GAEKIT_HOOKS.items() if set(pythae) & set(hooks)}
    cls = type(f"Pythae{type(callback).__name__}", (_Adapter,), needed)
    return cls(callback)


def call_init_end(callbacks: list[Any], training_config: Any, trainer: Any) -> None:
    """Pythae's ``on_init_end`` of every Pythae-style callback (the trainer was built)."""
    for callback in callbacks:
        if not isinstance(callback, (TrainerCallback, _Tracker)) and _overridden(callback, "on_init_end"):
            callback.on_init_end(training_config, trainer=trainer)


class CallbackHandler:
    """Pythae's ``CallbackHandler(callbacks, model)``: calls a hook on every Pythae-style callback it holds."""

    def __init__(self, callbacks: list[Any] | None, model: Any):
        self.callbacks: list[Any] = []
        self.model = model
        for callback in callbacks or []:
            self.add_callback(callback)

    def add_callback(self, callback: Any) -> None:
        callback = callback() if isinstance(callback, type) else callback
        if any(type(c) is type(callback) for c in self.callbacks):
            raise ConfigError(f"CallbackHandler: a {type(callback).__name__} is already held; give each once")
        self.callbacks.append(callback)

    @property
    def callback_list(self) -> str:
        return "\n".join(type(c).__name__ for c in self.callbacks)

    def call_event(self, event: str, training_config: Any, *args: Any, **kwargs: Any) -> None:
        """Call ``event`` (a Pythae hook name) on every callback, with ``model=`` the handler's model."""
        if event not in PYTHAE_HOOKS:
            raise ConfigError(f"CallbackHandler: unknown event {event!r}; events: {', '.join(PYTHAE_HOOKS)}")
        for callback in self.callbacks:
            getattr(callback, event)(training_config, *args, model=self.model, **kwargs)

    def __getattr__(self, event: str) -> Any:
        if event in PYTHAE_HOOKS:
            return functools.partial(self.call_event, event)
        raise AttributeError(f"CallbackHandler has no attribute {event!r}")


class _Tracker(TrainingCallback):
    """A Pythae tracker callback: ``setup(...)`` chooses the gaekit tracker's settings (defaults when it is never
    called, as Pythae's ``on_train_begin`` does)."""

    _settings: dict[str, Any] | None = None

    def __init__(self) -> None:
        self._settings = None
        self._tracker: TrainerCallback | None = None

    def _build(self, settings: dict[str, Any]) -> TrainerCallback:  # pragma: no cover - overridden
        raise NotImplementedError

    def _setup(self, gaekit_options: dict[str, Any], **settings: Any) -> None:
        self._settings = {**settings, **gaekit_options}
        self._tracker = None

    @property
    def settings(self) -> dict[str, Any]:
        """The gaekit tracker's keyword arguments (its defaults and Pythae's project name without ``setup``)."""
        return dict(self._settings or {})

    def tracker(self) -> TrainerCallback:
        """The gaekit tracking callback (built on first use; the backend package is imported then)."""
        if self._tracker is None:
            self._tracker = self._build(self.settings)
        return self._tracker


class WandbCallback(_Tracker):
    """Pythae's ``WandbCallback``: ``setup(training_config, model_config=None, project_name="pythae_experiment",
    entity_name=None, **options)``, logging with ``gaekit.tracking.WandbCallback`` (``options``: its keyword
    arguments, e.g. ``mode="offline"``). The run's configs logged are those of the run it is attached to."""

    def setup(self, training_config: Any = None, model_config: Any = None, project_name: str = "pythae_experiment",
              entity_name: str | None = None, **options: Any) -> None:
        self._setup(options, project=project_name, entity=entity_name)

    def _build(self, settings: dict[str, Any]) -> TrainerCallback:
        from gaekit.tracking import WandbCallback as Wandb

        return Wandb(**{"project": "pythae_experiment", **settings})


class MLFlowCallback(_Tracker):
    """Pythae's ``MLFlowCallback``: ``setup(training_config, model_config=None, run_name=None, **options)``, logging
    with ``gaekit.tracking.MLflowCallback`` (``options``: its keyword arguments, e.g. ``tracking_uri=``; the
    default tracking URI is MLflow's own, as Pythae's)."""

    def setup(self, training_config: Any = None, model_config: Any = None, run_name: str | None = None,
              **options: Any) -> None:
        self._setup(options, run_name=run_name)

    def _build(self, settings: dict[str, Any]) -> TrainerCallback:
        from gaekit.tracking import MLflowCallback

        return MLflowCallback(**settings)


class CometCallback(_Tracker):
    """Pythae's ``CometCallback``: ``setup(training_config, model_config=None, api_key=None,
    project_name="pythae_experiment", workspace=None, offline_run=False, offline_directory="./", **options)``,
    logging with ``gaekit.tracking.CometCallback``, offline only (``offline_run=False`` is refused by name);
    ``api_key`` is given to Comet as ``COMET_API_KEY``."""

    def setup(self, training_config: Any = None, model_config: Any = None, api_key: str | None = None,
              project_name: str = "pythae_experiment", workspace: str | None = None, offline_run: bool = False,
              offline_directory: str = "./", **options: Any) -> None:
        if not offline_run:
            raise ConfigError("CometCallback.setup(offline_run=False): gaekit's Comet callback logs to an offline "
                              "archive only (comet_ml.OfflineExperiment); pass offline_run=True (and "
                              "offline_directory=...), then send the archive with `comet upload ARCHIVE.zip`")
        if api_key is not None:
            os.environ["COMET_API_KEY"] = api_key
        self._setup(options, project_name=project_name, workspace=workspace, offline_directory=offline_directory)

    def _build(self, settings: dict[str, Any]) -> TrainerCallback:
        from gaekit.tracking import CometCallback as Comet

        return Comet(**{"project_name": "pythae_experiment", **settings})
