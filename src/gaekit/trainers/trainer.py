"""The one trainer: any model, any number of parameter groups, exact resume.

Each step runs ``forward``, then for every parameter group with a loss this step
``loss.backward(inputs=group_params)`` -- so no loss leaks gradients into another group's
parameters -- then every involved optimizer steps. A model with one group is the plain case.

This module holds the step loop and the end of epoch; the trainer's other jobs are mixins beside it:
interruptions and commits (``interruptions``), evaluation (``evaluation``), checkpoints and resume
(``checkpointing``), data-parallel steps (``distributed``), the run folder (``run_folder``), and the
parts built from the config (``setup``). See docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gaekit.data import Batch, as_dataset, iterate_batches, num_batches, validate_data
from gaekit.errors import ConfigError, DataError, NonFiniteLossError, TrainingError
from gaekit.locks import release_lock
from gaekit.models.base import BaseAE, BaseModel, ModelOutput, StepContext
from gaekit.serialization import write_json
from gaekit.trainers.callbacks import TrainerCallback, epoch_metrics, overrides, step_metrics
from gaekit.trainers.checkpoint import TrainerState, rng_state, set_rng_state
from gaekit.trainers.checkpointing import Checkpointing
from gaekit.trainers.config import TrainerConfig
from gaekit.trainers.distributed import DataParallel, ParallelSteps, launched_distributed, local_device
from gaekit.trainers.evaluation import Evaluation, check_image_model
from gaekit.trainers.interruptions import Interruptible
from gaekit.trainers.precision import NetworkAutocast, autocast_dtype
from gaekit.trainers.progress import progress
from gaekit.trainers.run_folder import RunFolders, check_output_dir
from gaekit.trainers.setup import (
    build_optimizer,
    build_scheduler,
    channels_last,
    check_callbacks,
    check_data_source,
    finite_check_interval,
    parameter_groups,
    place_data,
    resolve_device,
    set_seed,
    set_up_model,
)

__all__ = ["Trainer"]


class Trainer(Interruptible, Checkpointing, Evaluation, ParallelSteps, RunFolders):
    """Train a gaekit model.

    Parameters
    ----------
    model : BaseModel
        A gaekit model (any ``BaseAE``, or another ``BaseModel`` such as a latent density estimator).
    training_config : TrainerConfig, optional
    train_data, eval_data
        Numpy arrays, tensors (float in [0, 1] or uint8), gaekit datasets or torch
        ``Dataset``/``DataLoader``; validated against the model before training.
    callbacks : list of TrainerCallback, optional
        ``TrainerCallback`` instances (subclass it and override the hooks you need; other objects are
        refused with ``ConfigError``). Called on rank 0 only in data-parallel training, unless a callback
        sets ``on_all_ranks``.
    data_source : dict, optional
        A JSON-able description of where the data came from (e.g. ``{"dataset": "mnist", "data_dir": None}``),
        recorded in checkpoints and restored by ``load_checkpoint`` (see ``read_checkpoint_info``).

    Notes
    -----
    Started by ``torchrun`` (or inside an initialised ``torch.distributed`` group) the trainer trains
    data-parallel across the processes (``TrainerConfig.distributed``; scheme in
    ``gaekit.trainers.distributed``): ``batch_size`` is the global batch, every process ends with the
    same weights, history and best record, and only rank 0 writes checkpoints and the final model.

    While ``train()`` runs, rank 0 holds ``run_dir/.lock`` (host and pid): a second trainer on the same
    run folder (e.g. two resumes of one checkpoint) fails at once with ``TrainingError``. Run folders are
    ``<Model>_training_<time>[_N]``, created without clashes by concurrent runs.

    Examples
    --------
    >>> trainer = Trainer(model, TrainerConfig(num_epochs=5), train_data=x)  # doctest: +SKIP
    >>> trainer.train()                                                       # doctest: +SKIP
    """

    def __init__(self, model: BaseModel, training_config: TrainerConfig | None = None, train_data: Any = None,
                 eval_data: Any = None, callbacks: Iterable[TrainerCallback] | None = None,
                 data_source: dict[str, Any] | None = None):
        if not isinstance(model, BaseModel):
            raise ConfigError(f"Trainer needs a gaekit model (BaseModel), got {type(model).__name__}")
        config = training_config if training_config is not None else TrainerConfig()
        if not isinstance(config, TrainerConfig):
            raise ConfigError(f"training_config must be a TrainerConfig, got {type(config).__name__}")
        config.validate()
        if train_data is None:
            raise ConfigError("Trainer needs train_data")
        if config.output_dir is not None:
            check_output_dir(config.output_dir)
        self.data_source = check_data_source(data_source)
        self.config = config
        self.model = model
        self.callbacks = check_callbacks(callbacks)
        self.device = resolve_device(config.device)
        self.parallel: DataParallel | None = None
        if config.distributed == "auto" and launched_distributed():
            self.device = local_device(self.device)
            self.parallel = DataParallel(self.device)
        self._set_up_data(train_data, eval_data)
        if config.images_every_n_epochs is not None:
            check_image_model(model)
        set_up_model(model, config, self.device, self.parallel, self.dataset_size)
        self.groups = parameter_groups(model, config)
        self.optimizers = {g: build_optimizer(config, g, params, self.device) for g, params in self.groups.items()}
        self.schedulers = {g: build_scheduler(config, g, opt) for g, opt in self.optimizers.items()}
        amp_dtype = autocast_dtype(self.device, config.amp_dtype)
        if config.amp and amp_dtype == torch.float16 and self.device.type != "cuda":
            raise ConfigError(f"TrainerConfig.amp_dtype='float16' needs a CUDA device (device is {self.device}); "
                              "use 'bfloat16'")
        self.scaler = torch.amp.GradScaler("cuda") if config.amp and amp_dtype == torch.float16 else None
        self._finite_every = finite_check_interval(config, self.device, self.parallel is not None)
        self._first_nonfinite: Tensor | None = None  # deferred check: global step of the first non-finite loss
        self.state = TrainerState()
        self.best_state: dict[str, Tensor] | None = None
        self.data_generator = torch.Generator()
        self._epoch_start_data_state: Tensor | None = None
        self._epoch_sums: dict[str, Tensor] = {}
        self._started = False  # seeded and given a run folder (by a first train() or a checkpoint)
        # the global RNG states the next train() call starts from, kept while no train() runs, so that what
        # other code draws between calls (or after from_checkpoint) does not change the run
        self._rng_between_calls: dict[str, Any] | None = None
        self._reset_interruptions()  # what to roll back to, or what is left to commit
        self._diverged = False
        self._metric_keys: list[str] | None = None  # loss-term names, for a process with an empty shard
        self._amp = NetworkAutocast(self.model, self.device, amp_dtype, enabled=config.amp)
        self.run_dir: Path | None = None

    def _set_up_data(self, train_data: Any, eval_data: Any) -> None:
        """The training and evaluation data sets, validated against the model."""
        model, config = self.model, self.config
        unit_range = model.needs_unit_range_data
        self.train_dataset = as_dataset(train_data)
        validate_data(self.train_dataset, model.input_dim, unit_range=unit_range, name="train_data")
        self.eval_dataset = None
        if eval_data is not None:
            self.eval_dataset = as_dataset(eval_data)
            validate_data(self.eval_dataset, model.input_dim, unit_range=unit_range, name="eval_data")
        self.train_dataset = place_data(self.train_dataset, self.device, config.data_on_device, "train_data")
        self.eval_dataset = place_data(self.eval_dataset, self.device, config.data_on_device, "eval_data")
        if config.drop_last and self._num_train_batches() == 0:
            raise DataError(f"train_data has {self.dataset_size} sample(s), fewer than one batch of "
                            f"TrainerConfig.batch_size={config.batch_size}, and TrainerConfig.drop_last=True drops "
                            "that incomplete batch, so no step would be trained; use drop_last=False or a "
                            "batch_size of at most the number of samples")

    @property
    def dataset_size(self) -> int:
        """Number of training samples (0 for a user loader whose length is unknown)."""
        try:
            return len(self.train_dataset)
        except TypeError:
            return 0

    def _num_train_batches(self) -> int | None:
        try:
            return num_batches(self.train_dataset, self.config.batch_size, drop_last=self.config.drop_last)
        except (TypeError, DataError):
            return None

    # -- training -------------------------------------------------------------------
    def train(self) -> list[dict[str, Any]]:
        """Train for ``num_epochs`` (continuing a resumed or earlier run); return the per-epoch history.

        Calling it again, e.g. after raising ``num_epochs``, continues from where training stopped.

        Writes ``final_model/`` (the best model), ``history.json`` and the requested
        checkpoints in ``run_dir``. If anything interrupts training (an exception, Ctrl-C),
        a ``checkpoint_interrupted`` folder is written first when ``output_dir`` is set.
        """
        cfg = self.config
        if self._broken:
            raise TrainingError("this trainer was interrupted inside an optimizer update, so its state is unknown; "
                                "resume from its last checkpoint with Trainer.from_checkpoint")
        if not self._started:
            set_seed(cfg.seed)
            self.data_generator.manual_seed(cfg.seed)
            self._epoch_start_data_state = self.data_generator.get_state()
            self.run_dir = self._make_run_dir()
            self._started = True
            self._rng_between_calls = rng_state(self.device)  # the seeded states, held until the run starts
        self._diverged = False
        locked = self._lock_run_dir()
        try:
            set_rng_state(self._rng_between_calls, self.device)
            self._rng_between_calls = None  # while training, the global RNGs are the run's
            self._train_locked()
        finally:
            self._rng_between_calls = rng_state(self.device)
            if locked:
                release_lock(self.run_dir)
        return self.state.history

    def _train_locked(self) -> None:
        cfg = self.config
        previous_determinism = torch.are_deterministic_algorithms_enabled()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self.model.train()
        try:
            self._emit("on_train_begin")
            with self._amp, self._holding_interrupts_in_commits():
                while self.state.epoch < cfg.num_epochs and not self.stopped_early:
                    self._train_epoch()
                    self._end_epoch()
        except BaseException as err:
            self._save_interrupted()
            if self._diverged and isinstance(err, TrainingError):
                self._save_best_model(err)
            with contextlib.suppress(Exception):  # a failing callback must not mask the training error
                self._emit("on_train_interrupted", err)
            raise
        finally:
            torch.use_deterministic_algorithms(previous_determinism)
        self._finish()

    def resume(self, checkpoint_dir: str | Path) -> list[dict[str, Any]]:
        """Load ``checkpoint_dir`` into this trainer and continue training from it exactly."""
        self.load_checkpoint(checkpoint_dir)
        return self.train()

    # -- training loop ----------------------------------------------------------------
    def _train_epoch(self) -> None:
        """The steps left in the current epoch, each with its snapshot, step and step-end callbacks."""
        cfg, state = self.config, self.state
        # this epoch's order from the state saved before it was drawn (also when resumed mid-epoch)
        self.data_generator.set_state(self._epoch_start_data_state)
        n = self._num_train_batches()
        batches = iter(iterate_batches(self.train_dataset, cfg.batch_size, shuffle=cfg.shuffle,
                                       generator=self.data_generator, start_batch=state.step_in_epoch,
                                       device=self.device, drop_last=cfg.drop_last))
        show = cfg.show_progress and self.is_main_process
        if state.step_in_epoch == 0:
            self._emit("on_epoch_begin")
        with progress(show, n, state.step_in_epoch, f"Epoch {state.epoch + 1}/{cfg.num_epochs}") as bar:
            while True:
                self._take_snapshot(parameters=False)
                self._at("before_data")
                batch = next(batches, None)
                if batch is None:
                    break
                self._at("after_data")
                self._emit("on_step_begin")
                ctx = StepContext(epoch=state.epoch, global_step=state.global_step, num_epochs=cfg.num_epochs,
                                  dataset_size=self.dataset_size, training=True)
                output = self._train_step(batch, ctx)  # ends with its commit: counters advanced
                bar.update(1)
                if show and (state.step_in_epoch % cfg.log_every_n_steps == 0 or state.step_in_epoch == n):
                    bar.set_postfix(loss=f"{self._epoch_sums['loss'].item() / state.step_in_epoch:.4f}")
                if output is not None:  # None: this process had no samples in a small last batch
                    self._emit("on_step_end", output)
                    if state.global_step % cfg.log_every_n_steps == 0:
                        self._emit_computed("on_log", step_metrics, output)
                if self._finite_every > 1 and state.global_step % self._finite_every == 0:
                    self._read_nonfinite_flag()
                if cfg.checkpoint_every_n_steps and state.global_step % cfg.checkpoint_every_n_steps == 0:
                    self.save_checkpoint(f"checkpoint_step_{state.global_step}")
        self._snapshot = None
        self._read_nonfinite_flag()  # before the end of the epoch: its record, best model and checkpoint

    def _train_step(self, batch: Batch, ctx: StepContext) -> ModelOutput | None:
        """Forward and backward (rolled back if interrupted), then the commit of the update and counters."""
        if self.config.channels_last:
            batch = channels_last(batch)
        if self.parallel is not None:
            return self._parallel_step(batch, ctx)
        output = self.model(batch, ctx)
        self._at("after_forward")
        losses = self._group_losses(output)
        if self._finite_every == 1:
            error = self._nonfinite_error(output, losses)
            if error is not None:
                self._diverged = True
                raise error
        else:
            self._flag_nonfinite(output, losses)
        self._backward_all(output, losses)
        self._at("after_backward")
        self._commit(self._step_actions(set(losses), {"loss": output.loss, **output.terms}))
        return output

    def _step_actions(self, groups: set[str], metrics: dict[str, Tensor]) -> list[tuple[str, Callable[[], Any]]]:
        """The commit of a step: each involved group's optimizer step, the scaler update, then the counters."""
        actions = [(f"after_optimizer_step:{g}", functools.partial(self._optimizer_step, opt))
                   for g, opt in self.optimizers.items() if g in groups]
        if self.scaler is not None:
            actions.append(("after_scaler_update", self.scaler.update))
        actions.append(("after_counters", functools.partial(self._advance_step, metrics)))
        return actions

    def _optimizer_step(self, opt: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(opt)
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def _advance_step(self, metrics: dict[str, Tensor]) -> None:
        self._accumulate(metrics)
        self.state.step_in_epoch += 1
        self.state.global_step += 1

    def _group_losses(self, output: ModelOutput) -> dict[str, Tensor]:
        losses = output.group_losses if output.group_losses is not None else {"model": output.loss}
        unknown = sorted(set(losses) - set(self.groups))
        if unknown:
            raise TrainingError(f"{type(self.model).__name__} returned losses for unknown group(s) {unknown}; "
                                f"its groups are {sorted(self.groups)}")
        return losses

    def _backward_all(self, output: ModelOutput, losses: dict[str, Tensor]) -> None:
        if output.group_losses is None and len(self.groups) == 1:
            self._backward(output.loss)
            return
        names = list(losses)
        for i, g in enumerate(names):
            self._backward(losses[g], inputs=self.groups[g], retain_graph=i < len(names) - 1)

    def _backward(self, loss: Tensor, **kwargs: Any) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward(**kwargs)

    @staticmethod
    def _all_finite(output: ModelOutput, losses: dict[str, Tensor]) -> Tensor:
        values = [output.loss] if output.group_losses is None else [output.loss, *losses.values()]
        return torch.isfinite(torch.stack([v.detach().float() for v in values])).all()

    def _flag_nonfinite(self, output: ModelOutput, losses: dict[str, Tensor]) -> None:
        """The deferred check: remember, on the device, the global step of the first non-finite loss."""
        if self._first_nonfinite is None:
            self._first_nonfinite = torch.full((), -1, dtype=torch.long, device=output.loss.device)
        bad = ~self._all_finite(output, losses)
        self._first_nonfinite = torch.where(bad & (self._first_nonfinite < 0), self.state.global_step + 1,
                                            self._first_nonfinite)

    def _unread_nonfinite_step(self) -> int | None:
        """The deferred check, read (one host synchronisation): the first non-finite global step, or None."""
        if self._first_nonfinite is None:
            return None
        first = int(self._first_nonfinite)
        return first if first >= 0 else None

    def _read_nonfinite_flag(self) -> None:
        """Read the deferred check; ``NonFiniteLossError`` naming the first non-finite step if there was one."""
        first = self._unread_nonfinite_step()
        if first is None:
            return
        self._diverged = True
        raise NonFiniteLossError(
            f"non-finite loss at global step {first}, found when the check was read at global step "
            f"{self.state.global_step} (TrainerConfig.check_finite_every_n_steps={self._finite_every}): the model "
            "has trained through that step, so its parameters may not be finite; no checkpoint and not the best "
            "model hold it. Try a lower learning_rate, or check the data and the model config; "
            "check_finite_every_n_steps=1 stops at the step itself, with its loss terms.")

    def _nonfinite_error(self, output: ModelOutput, losses: dict[str, Tensor]) -> NonFiniteLossError | None:
        if bool(self._all_finite(output, losses)):
            return None
        terms = {k: float(v.detach()) for k, v in output.terms.items()}
        groups = {k: float(v.detach()) for k, v in losses.items()}
        return NonFiniteLossError(
            f"non-finite loss at epoch {self.state.epoch + 1}, step {self.state.step_in_epoch + 1} "
            f"(global step {self.state.global_step + 1}): loss={float(output.loss.detach())}, terms={terms}, "
            f"group losses={groups}. Try a lower learning_rate, or check the data and the model config."
        )

    def _accumulate(self, values: dict[str, Tensor]) -> None:
        for key, value in values.items():
            value = value.detach().float()
            if key in self._epoch_sums:
                self._epoch_sums[key] += value
            else:
                self._epoch_sums[key] = value.clone()

    def _end_epoch(self) -> None:
        """The model's end-of-epoch update and evaluation (rolled back if interrupted), then the commit of
        the schedulers and the epoch record; then history.json, callbacks and the periodic checkpoint."""
        state = self.state
        self._take_snapshot(parameters=True)
        self._at("epoch_end")
        if self.parallel is not None:
            self._gather_per_sample_buffers()
        self.model.on_epoch_end(StepContext(epoch=state.epoch, global_step=state.global_step,
                                            num_epochs=self.config.num_epochs, dataset_size=self.dataset_size,
                                            training=True))
        self._at("after_model_epoch_end")
        steps = max(state.step_in_epoch, 1)
        record: dict[str, Any] = {"epoch": state.epoch + 1, "global_step": state.global_step}
        record.update({f"train_{k}": v.item() / steps for k, v in self._epoch_sums.items()})
        metrics = self.evaluate() if self.eval_dataset is not None else None
        if metrics is not None:
            record.update({f"eval_{k}": v for k, v in metrics.items()})
        self._at("after_evaluation")
        monitored = metrics["loss"] if metrics is not None else record.get("train_loss", math.inf)
        self._commit([("after_scheduler_step", functools.partial(self._step_schedulers, monitored)),
                      ("after_epoch_record", functools.partial(self._advance_epoch, record, monitored))])
        if self.run_dir is not None and self.is_main_process:
            write_json(self.run_dir / "history.json", state.history)
        if metrics is not None:
            self._emit("on_evaluate", metrics)
        self._emit_computed("on_log", epoch_metrics, record)
        every = self.config.images_every_n_epochs
        if every is not None and state.epoch % every == 0:
            self._emit_computed("on_prediction_step", self.prediction_images)
        self._emit("on_epoch_end", record)
        if self.config.checkpoint_every_n_epochs and state.epoch % self.config.checkpoint_every_n_epochs == 0:
            self.save_checkpoint(f"checkpoint_epoch_{state.epoch}")

    def _step_schedulers(self, monitored: float) -> None:
        with warnings.catch_warnings():  # after a resume at an end of epoch no optimizer has stepped in this process
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
            for sched in self.schedulers.values():
                if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                    sched.step(monitored)
                elif sched is not None:
                    sched.step()

    def _advance_epoch(self, record: dict[str, Any], monitored: float) -> None:
        state = self.state
        record.update({f"lr_{g}": opt.param_groups[0]["lr"] for g, opt in self.optimizers.items()})
        if monitored < state.best_loss:
            state.best_loss, state.best_epoch, state.epochs_since_best = monitored, state.epoch + 1, 0
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        else:
            state.epochs_since_best += 1
        state.history.append(record)
        state.epoch += 1
        state.step_in_epoch = 0
        self._epoch_sums = {}
        self._epoch_start_data_state = self.data_generator.get_state()  # the next epoch draws from here

    def _finish(self) -> None:
        if self.run_dir is not None and self.is_main_process:  # also when the last epoch's write was interrupted
            write_json(self.run_dir / "history.json", self.state.history)
        if self.config.load_best_at_end and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        if self.run_dir is not None and isinstance(self.model, BaseAE):
            path = self.run_dir / "final_model"
            if self.is_main_process:
                self.model.save(path, training_config=self.config)
            self._barrier()
            self._emit("on_save", path)
        self._emit("on_train_end")

    @property
    def stopped_early(self) -> bool:
        """Whether the monitored loss has not improved for ``early_stopping_patience`` epochs."""
        patience = self.config.early_stopping_patience
        return patience is not None and self.state.epochs_since_best >= patience

    @property
    def final_model_dir(self) -> Path | None:
        """``run_dir / "final_model"`` once training has finished (None without ``output_dir``)."""
        return None if self.run_dir is None else self.run_dir / "final_model"

    def _emit(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            if self.is_main_process or getattr(callback, "on_all_ranks", False):
                getattr(callback, hook)(self, *args)

    def _emit_computed(self, hook: str, compute: Callable[..., Any], *args: Any) -> None:
        """Call ``hook`` with ``compute(*args)``, computed only when a callback of this process overrides it."""
        listeners = [cb for cb in self.callbacks if (self.is_main_process or getattr(cb, "on_all_ranks", False))
                     and overrides(cb, hook)]
        if listeners:
            value = compute(*args)
            for callback in listeners:
                getattr(callback, hook)(self, value)
