"""The one trainer: any model, any number of parameter groups, exact resume.

Each step runs ``forward``, then for every parameter group with a loss this step
``loss.backward(inputs=group_params)`` -- so no loss leaks gradients into another group's
parameters -- then every involved optimizer steps (DESIGN §2). A model with one group is
the plain case.

Interruptions (Ctrl-C, an exception anywhere) never leave a half-done step in a checkpoint. Each
step and each end of epoch has a rollback part and a commit: until the commit begins, an
interruption rolls back to the state saved when the step began (weights untouched, buffers and RNG
restored), so the step is redone on resume; the commit (every optimizer step of the step, the
gradient scaler, then the counters -- or the schedulers then the epoch record) runs as one unit:
Ctrl-C is held until it ends, and an exception raised between its parts is handled by finishing the
remaining parts (the gradients are already computed) before ``checkpoint_interrupted`` is written.
Only an exception raised *inside* an optimizer's own update leaves an unknown state: then no
``checkpoint_interrupted`` is written (resume from the last periodic checkpoint).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
import itertools
import json
import math
import os
import random
import signal
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from gaekit.config import check_seed
from gaekit.data import Batch, as_dataset, iterate_batches, num_batches, validate_data
from gaekit.errors import CheckpointError, ConfigError, DataError, TrainingError
from gaekit.locks import LOCK_FILE, acquire_lock, release_lock, remove_leftovers
from gaekit.models._shard import batch_shard
from gaekit.models.base import BaseAE, BaseModel, ModelOutput, StepContext
from gaekit.serialization import check_output_folder, write_json
from gaekit.trainers.callbacks import TrainerCallback
from gaekit.trainers.checkpoint import (
    STATE_FILE,
    TrainerState,
    check_optimizer_shapes,
    read_checkpoint,
    read_checkpoint_info,
    read_json_object,
    read_training_config,
    rng_state,
    set_rng_state,
    write_checkpoint,
)
from gaekit.trainers.config import TrainerConfig, optimizer_class, parse_device, scheduler_class
from gaekit.trainers.distributed import DataParallel, float_buffers, launched_distributed, local_device
from gaekit.trainers.precision import NetworkAutocast, autocast_dtype, model_networks

__all__ = ["RESUME_FREE_FIELDS", "Trainer", "TrainerState", "check_output_dir", "read_checkpoint_info",
           "resolve_device", "set_seed"]

# TrainerConfig fields that may differ when resuming: they change what is written or shown, or (num_epochs)
# how long training goes on, never the numbers of the epochs trained
RESUME_FREE_FIELDS = ("num_epochs", "output_dir", "show_progress", "log_every_n_steps", "steps_saving",
                      "checkpoint_every_n_steps")


def resolve_device(name: str) -> torch.device:
    """The device of ``TrainerConfig.device``; ``ConfigError`` when it is malformed or not available here."""
    device = parse_device(name)
    if device is None:  # "auto"
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    reason = None
    if device.type == "cuda" and not torch.cuda.is_available():
        reason = "CUDA is not available"
    elif device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        reason = f"this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})"
    elif device.type == "mps" and not torch.backends.mps.is_available():
        reason = "MPS (Apple GPU) is not available in this PyTorch build or on this machine"
    if reason is not None:
        raise ConfigError(f"TrainerConfig.device={name!r} cannot be used: {reason}; use 'cpu' or 'auto'")
    return device


def check_output_dir(path: str | Path, what: str = "TrainerConfig.output_dir") -> None:
    """``ConfigError`` naming ``what`` (e.g. ``--output-dir``) unless folders can be made under ``path``
    (see ``gaekit.serialization.check_output_folder``); nothing is created."""
    check_output_folder(path, what)


def set_seed(seed: int) -> None:
    """Seed torch, numpy and ``random``."""
    seed = check_seed(seed, "set_seed: seed")
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
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
        self.data_source = _check_data_source(data_source)
        self.config = config
        self.model = model
        self.callbacks = _check_callbacks(callbacks)
        self.device = resolve_device(config.device)
        self.parallel: DataParallel | None = None
        if config.distributed == "auto" and launched_distributed():
            self.device = local_device(self.device)
            self.parallel = DataParallel(self.device)
        unit_range = model.needs_unit_range_data
        self.train_dataset = as_dataset(train_data)
        validate_data(self.train_dataset, model.input_dim, unit_range=unit_range, name="train_data")
        self.eval_dataset = None
        if eval_data is not None:
            self.eval_dataset = as_dataset(eval_data)
            validate_data(self.eval_dataset, model.input_dim, unit_range=unit_range, name="eval_data")
        if config.drop_last and self._num_train_batches() == 0:
            raise DataError(f"train_data has {self.dataset_size} sample(s), fewer than one batch of "
                            f"TrainerConfig.batch_size={config.batch_size}, and TrainerConfig.drop_last=True drops "
                            "that incomplete batch, so no step would be trained; use drop_last=False or a "
                            "batch_size of at most the number of samples")
        self._set_up_model()
        self.groups = self._parameter_groups()
        self.optimizers = {g: self._build_optimizer(g, params) for g, params in self.groups.items()}
        self.schedulers = {g: self._build_scheduler(g, opt) for g, opt in self.optimizers.items()}
        amp_dtype = autocast_dtype(self.device, config.amp_dtype)
        if config.amp and amp_dtype == torch.float16 and self.device.type != "cuda":
            raise ConfigError(f"TrainerConfig.amp_dtype='float16' needs a CUDA device (device is {self.device}); "
                              "use 'bfloat16'")
        self.scaler = torch.amp.GradScaler("cuda") if config.amp and amp_dtype == torch.float16 else None
        self.state = TrainerState()
        self.best_state: dict[str, Tensor] | None = None
        self.data_generator = torch.Generator()
        self._epoch_start_data_state: Tensor | None = None
        self._epoch_sums: dict[str, Tensor] = {}
        self._started = False  # seeded and given a run folder (by a first train() or a checkpoint)
        # interruption handling (see the module docstring): what to roll back to, or what is left to commit
        self._snapshot: dict[str, Any] | None = None
        self._pending: list[tuple[str, Callable[[], Any]]] = []
        self._in_commit = False
        self._held_interrupt = False
        self._broken = False  # an update itself failed: the state is unknown
        self._diverged = False
        self._metric_keys: list[str] | None = None  # loss-term names, for a process with an empty shard
        self._amp = NetworkAutocast(self.model, self.device, amp_dtype, enabled=config.amp)
        self.run_dir: Path | None = None

    @property
    def rank(self) -> int:
        """This process's rank in data-parallel training (0 otherwise)."""
        return 0 if self.parallel is None else self.parallel.rank

    @property
    def world_size(self) -> int:
        """Number of data-parallel processes (1 otherwise)."""
        return 1 if self.parallel is None else self.parallel.world_size

    @property
    def is_main_process(self) -> bool:
        """Whether this process writes files and runs callbacks (rank 0)."""
        return self.rank == 0

    # -- set-up ---------------------------------------------------------------------
    def _set_up_model(self) -> None:
        cfg = self.config
        if cfg.channels_last and len(self.model.input_dim) != 3:
            raise ConfigError(f"TrainerConfig.channels_last=True needs image data with input_dim (C, H, W); "
                              f"{type(self.model).__name__} has input_dim {tuple(self.model.input_dim)}")
        self.model.to(self.device)
        if cfg.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if self.parallel is not None:
            if cfg.batch_size < self.world_size:
                raise ConfigError(f"TrainerConfig.batch_size={cfg.batch_size} is the global batch and must be at "
                                  f"least the number of processes ({self.world_size})")
            self.parallel.check_same(self.dataset_size, "the number of training samples")
            self.parallel.broadcast_module(self.model)
        if cfg.compile:  # each network's forward, so that amp's hooks around it stay eager
            for module in model_networks(self.model) or [self.model]:
                module.forward = torch.compile(module.forward, **cfg.compile_options)

    def _parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = {g: [p for p in ps if p.requires_grad] for g, ps in self.model.parameter_groups().items()}
        seen: dict[int, str] = {}
        for g, params in groups.items():
            for p in params:
                if id(p) in seen:
                    raise TrainingError(f"a parameter is in both groups {seen[id(p)]!r} and {g!r}")
                seen[id(p)] = g
        orphans = [n for n, p in self.model.named_parameters() if p.requires_grad and id(p) not in seen]
        if orphans:
            raise TrainingError(f"trainable parameters in no parameter group: {orphans[:5]}")
        unknown = sorted(set(self.config.group_overrides) - set(groups))
        if unknown:
            raise ConfigError(f"TrainerConfig.group_overrides names unknown group(s) {unknown}; "
                              f"{type(self.model).__name__} has groups {sorted(groups)}")
        return groups

    def _build_optimizer(self, group: str, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        settings = self.config.group_settings(group)
        cls = optimizer_class(settings["optimizer"])
        kwargs = dict(settings["optimizer_params"])
        accepts = inspect.signature(cls.__init__).parameters
        if ("fused" in accepts and "fused" not in kwargs and "foreach" not in kwargs
                and self.device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in params)):
            kwargs["fused"] = True  # one kernel per step instead of one per parameter and op
        return cls(params, lr=settings["learning_rate"], **kwargs)

    def _build_scheduler(self, group: str, optimizer: torch.optim.Optimizer) -> Any:
        settings = self.config.group_settings(group)
        if settings["scheduler"] is None:
            return None
        return scheduler_class(settings["scheduler"])(optimizer, **settings["scheduler_params"])

    def _make_run_dir(self) -> Path | None:
        if self.config.output_dir is None:
            return None
        run_dir = self._create_run_dir() if self.is_main_process else None
        return run_dir if self.parallel is None else self.parallel.broadcast_object(run_dir)

    def _create_run_dir(self) -> Path:
        """A new ``<Model>_training_<time>[_N]`` folder: ``mkdir`` decides, so concurrent runs never share one."""
        parent = Path(self.config.output_dir)
        parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        base = f"{self.model.model_config.name}_training_{stamp}"
        for n in itertools.count():
            run_dir = parent / (base if n == 0 else f"{base}_{n}")
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            return run_dir
        raise AssertionError("unreachable")  # pragma: no cover

    def _lock_run_dir(self) -> bool:
        """Hold ``run_dir/.lock`` (rank 0) and clean what killed processes left; TrainingError if it is held."""
        holder = None
        if self.run_dir is not None and self.is_main_process:
            holder = acquire_lock(self.run_dir)
            if holder is None:
                remove_leftovers(self.run_dir)
        if self.parallel is not None:
            holder = self.parallel.broadcast_object(holder)
        if holder is not None:
            host, pid = holder
            raise TrainingError(f"run folder {self.run_dir} is in use by another trainer: process {pid} on host "
                                f"{host!r} holds {self.run_dir / LOCK_FILE}. Wait for it to end (a lock left by a "
                                "dead process on this host is taken over), or resume into another copy of the folder")
        return self.run_dir is not None and self.is_main_process

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
        self._diverged = False
        locked = self._lock_run_dir()
        try:
            self._train_locked()
        finally:
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

    # -- interruption handling (see the module docstring) ------------------------------
    def _at(self, point: str) -> None:
        """A named point of a step or an end of epoch: a no-op, that tests patch to interrupt training there."""

    def _take_snapshot(self, parameters: bool) -> None:
        """Remember the RNG and buffers (and the parameters) to roll an unfinished phase back to."""
        tensors = {name: t.detach().clone() for name, t in self.model.named_buffers()}
        if parameters:
            tensors.update({name: p.detach().clone() for name, p in self.model.named_parameters()})
        self._snapshot = {"rng": rng_state(self.device), "tensors": tensors}

    def _roll_back(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        own = {**dict(self.model.named_buffers()), **dict(self.model.named_parameters())}
        with torch.no_grad():
            for name, value in snapshot["tensors"].items():
                if name in own and own[name].shape == value.shape:
                    own[name].copy_(value)
                else:  # a buffer the phase replaced by one of another shape
                    owner, _, leaf = name.rpartition(".")
                    setattr(self.model.get_submodule(owner), leaf, value)
        set_rng_state(snapshot["rng"], self.device)
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        self.model.train()  # an interrupted evaluation left it in eval mode

    def _commit(self, actions: list[tuple[str, Callable[[], Any]]]) -> None:
        """Run ``(point, action)`` pairs as one unit: once begun it is finished, never rolled back."""
        self._in_commit = True  # first: an interruption before the next line still rolls back
        self._pending = list(actions)
        self._snapshot = None
        try:
            while self._pending:
                point, action = self._pending[0]
                try:
                    action()
                except BaseException:
                    self._broken = True
                    raise
                self._pending.pop(0)
                self._at(point)
        finally:
            self._in_commit = False
        if self._held_interrupt:
            self._held_interrupt = False
            raise KeyboardInterrupt("interrupted (Ctrl-C held until the step's update was complete)")

    def _recover(self) -> bool:
        """After an interruption: finish a begun commit or roll back the unfinished phase; False if impossible."""
        self._held_interrupt = False
        if self._broken:
            return False
        try:
            while self._pending:
                self._pending[0][1]()
                self._pending.pop(0)
        except Exception:
            self._broken = True
            return False
        if self._snapshot is not None:
            self._roll_back()
        return True

    @contextlib.contextmanager
    def _holding_interrupts_in_commits(self) -> Iterator[None]:
        """Ctrl-C inside a commit is raised when the commit ends (main thread, default SIGINT handler only)."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._in_commit:
                self._held_interrupt = True
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    # -- training loop ----------------------------------------------------------------
    def _train_epoch(self) -> None:
        cfg, state = self.config, self.state
        # this epoch's order from the state saved before it was drawn (also when resumed mid-epoch)
        self.data_generator.set_state(self._epoch_start_data_state)
        n = self._num_train_batches()
        batches = iter(iterate_batches(self.train_dataset, cfg.batch_size, shuffle=cfg.shuffle,
                                       generator=self.data_generator, start_batch=state.step_in_epoch,
                                       device=self.device, drop_last=cfg.drop_last))
        show = cfg.show_progress and self.is_main_process
        with _progress(show, n, state.step_in_epoch, f"Epoch {state.epoch + 1}/{cfg.num_epochs}") as bar:
            while True:
                self._take_snapshot(parameters=False)
                self._at("before_data")
                batch = next(batches, None)
                if batch is None:
                    break
                self._at("after_data")
                ctx = StepContext(epoch=state.epoch, global_step=state.global_step, num_epochs=cfg.num_epochs,
                                  dataset_size=self.dataset_size, training=True)
                output = self._train_step(batch, ctx)  # ends with its commit: counters advanced
                bar.update(1)
                if show and (state.step_in_epoch % cfg.log_every_n_steps == 0
                                          or state.step_in_epoch == n):
                    bar.set_postfix(loss=f"{self._epoch_sums['loss'].item() / state.step_in_epoch:.4f}")
                if output is not None:  # None: this process had no samples in a small last batch
                    self._emit("on_step_end", output)
                if cfg.checkpoint_every_n_steps and state.global_step % cfg.checkpoint_every_n_steps == 0:
                    self.save_checkpoint(f"checkpoint_step_{state.global_step}")
        self._snapshot = None

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

    def _train_step(self, batch: Batch, ctx: StepContext) -> ModelOutput | None:
        """Forward and backward (rolled back if interrupted), then the commit of the update and counters."""
        if self.config.channels_last:
            batch = _channels_last(batch)
        if self.parallel is not None:
            return self._parallel_step(batch, ctx)
        output = self.model(batch, ctx)
        self._at("after_forward")
        losses = self._group_losses(output)
        error = self._nonfinite_error(output, losses)
        if error is not None:
            self._diverged = True
            raise error
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

    def _parallel_step(self, batch: Batch, ctx: StepContext) -> ModelOutput | None:
        """One data-parallel step on this process's shard; see ``gaekit.trainers.distributed``."""
        n = len(batch)
        exclude = self.model.per_sample_buffers
        before = {name: buf.detach().clone() for name, buf in float_buffers(self.model, exclude)}
        output, shard_size = self._shard_forward(batch, ctx)
        losses, nonfinite = {}, False
        if output is not None:
            losses = self._group_losses(output)
            nonfinite = self._nonfinite_error(output, losses) is not None
            if not nonfinite:
                self._backward_all(output, losses)
            metrics = {"loss": output.loss, **output.terms}
            self._metric_keys = list(metrics)
        elif self._metric_keys is None:
            raise DataError(f"a global batch of {n} sample(s) leaves process {self.rank} without data on its first "
                            f"step; use at least {self.world_size} training samples")
        else:
            metrics = {k: torch.zeros((), device=self.device) for k in self._metric_keys}
        now = dict(float_buffers(self.model, exclude))
        for name, old in before.items():
            if name not in now or now[name].shape != old.shape:
                raise TrainingError(f"buffer {name!r} of {type(self.model).__name__} changed shape in a training "
                                    "step; list per-sample buffers in the model's per_sample_buffers")
        buffers = {name: (old, now[name]) for name, old in before.items()}
        to_step, reduced, any_nonfinite = self.parallel.sync_step(self.groups, set(losses), shard_size / n,
                                                                  buffers, metrics, nonfinite)
        if any_nonfinite:
            self._diverged = True
            raise self._nonfinite_error(output, losses) if nonfinite else TrainingError(
                f"non-finite loss on another process at epoch {self.state.epoch + 1}, step "
                f"{self.state.step_in_epoch + 1}; see its error. Try a lower learning_rate, or check the data.")
        self._commit(self._step_actions(to_step, reduced))
        return output

    def _shard_forward(self, batch: Batch, ctx: StepContext) -> tuple[ModelOutput | None, int]:
        """The model on this process's rows of a global batch, and their number (``None, 0``: no rows)."""
        start, stop = self.parallel.shard(len(batch))
        if stop == start:
            return None, 0
        with batch_shard(start, stop, len(batch)):
            return self.model(batch.rows(start, stop), ctx), stop - start

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

    def _nonfinite_error(self, output: ModelOutput, losses: dict[str, Tensor]) -> TrainingError | None:
        values = [output.loss] if output.group_losses is None else [output.loss, *losses.values()]
        if bool(torch.isfinite(torch.stack([v.detach().float() for v in values])).all()):
            return None
        terms = {k: float(v.detach()) for k, v in output.terms.items()}
        groups = {k: float(v.detach()) for k, v in losses.items()}
        return TrainingError(
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

    def _gather_per_sample_buffers(self) -> None:
        for name in self.model.per_sample_buffers:
            owner, _, leaf = name.rpartition(".")
            module = self.model.get_submodule(owner)
            setattr(module, leaf, self.parallel.gather_rows(module.get_buffer(leaf)))

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
        self._emit("on_epoch_end", record)
        if self.config.steps_saving and state.epoch % self.config.steps_saving == 0:
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

    def evaluate(self, data: Any = None) -> dict[str, float]:
        """Mean loss and loss terms over ``data`` (default: the eval data), per sample.

        Runs in eval mode with a fixed noise seed, so epochs are compared on the same draws
        and the training random stream is left untouched; without gradients unless the model
        declares ``needs_grad_in_eval`` (parameters are never updated here). In data-parallel
        training each process evaluates its shard of every batch and the sums are reduced.
        """
        dataset = self.eval_dataset if data is None else as_dataset(data)
        if dataset is None:
            raise ConfigError("evaluate() needs data: no eval_data was given to the Trainer")
        was_training = self.model.training
        self.model.eval()
        sums: dict[str, Tensor] = {}
        count = 0
        devices = [self.device] if self.device.type == "cuda" else []
        with (torch.random.fork_rng(devices=devices), torch.set_grad_enabled(self.model.needs_grad_in_eval),
              self._amp):
            torch.manual_seed(self.config.seed + 1)
            batch_size = self.config.eval_batch_size or self.config.batch_size
            for batch in iterate_batches(dataset, batch_size, shuffle=False, generator=None, device=self.device):
                self._at("eval_batch")
                ctx = StepContext(epoch=self.state.epoch, global_step=self.state.global_step,
                                  num_epochs=self.config.num_epochs, dataset_size=self.dataset_size,
                                  training=False)
                if self.config.channels_last:
                    batch = _channels_last(batch)
                if self.parallel is None:
                    output, n = self.model(batch, ctx), len(batch)
                else:
                    output, n = self._shard_forward(batch, ctx)
                    if output is None:
                        continue
                for key, value in {"loss": output.loss, **output.terms}.items():
                    sums[key] = sums.get(key, 0) + value.detach().double() * n
                count += n
        self.model.train(was_training)
        if self.parallel is not None:
            keys = list(sums) or self._metric_keys or []
            totals = [torch.as_tensor(sums.get(k, 0.0), dtype=torch.float64, device=self.device) for k in keys]
            reduced = self.parallel.all_reduce_sum(torch.stack([*totals, torch.tensor(float(count),
                                                                                     dtype=torch.float64,
                                                                                     device=self.device)]))
            sums, count = dict(zip(keys, reduced[:-1], strict=True)), reduced[-1]
        return {k: (v / count).item() for k, v in sums.items()}

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

    def _barrier(self) -> None:
        if self.parallel is not None:
            self.parallel.barrier()

    # -- checkpoints ------------------------------------------------------------------
    def _checkpoint_state(self) -> dict[str, Any]:
        return {
            "trainer": asdict(self.state),
            "model_name": self.model.model_config.name,
            "networks": {part: getattr(getattr(self.model, part, None), "network_spec", None)
                         for part in getattr(self.model, "network_names", tuple)()},
            "optimizers": {g: opt.state_dict() for g, opt in self.optimizers.items()},
            "optimizer_classes": {g: type(opt).__name__ for g, opt in self.optimizers.items()},
            "schedulers": {g: s.state_dict() for g, s in self.schedulers.items() if s is not None},
            "scheduler_classes": {g: None if s is None else type(s).__name__ for g, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng_state(self.device),
            "epoch_start_data_state": self._epoch_start_data_state,
            "epoch_sums": dict(self._epoch_sums),
            "data_source": self.data_source,
        }

    def save_checkpoint(self, name: str) -> Path:
        """Write ``run_dir/name`` atomically with everything needed to resume exactly (rank 0 writes)."""
        path = self._write_checkpoint(name)
        self._barrier()
        self._emit("on_save", path)
        return path

    def _write_checkpoint(self, name: str) -> Path:
        if self.run_dir is None:
            raise ConfigError("checkpoints need TrainerConfig.output_dir")
        path = self.run_dir / _check_checkpoint_name(name)
        if self.is_main_process:
            write_checkpoint(
                path,
                model_state=self.model.state_dict(),
                best_state=self.best_state,
                state=self._checkpoint_state(),
                configs={"config": self.model.model_config, "training_config": self.config},
            )
        return path

    def _save_interrupted(self) -> None:
        """Bring the trainer to a consistent state (see the module docstring) and write ``checkpoint_interrupted``
        (rank 0, without waiting for the other processes, which may not have stopped)."""
        consistent = self._recover()
        if self.run_dir is None or not self.is_main_process:
            return
        if not consistent:
            warnings.warn(f"training was interrupted inside an optimizer update, so no checkpoint_interrupted is "
                          f"written; resume from the last checkpoint in {self.run_dir}", stacklevel=3)
            return
        try:
            path = self._write_checkpoint("checkpoint_interrupted")
            self._emit("on_save", path)
        except Exception as err:  # the training error matters more
            warnings.warn(f"could not write {self.run_dir / 'checkpoint_interrupted'}: {err}", stacklevel=3)

    def _save_best_model(self, err: TrainingError) -> None:
        """After divergence: write the best weights as a model folder ``run_dir/best_model`` and name it in ``err``."""
        if self.run_dir is None or self.best_state is None or not isinstance(self.model, BaseAE):
            return
        path = self.run_dir / "best_model"
        if self.is_main_process:
            current = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            try:
                self.model.load_state_dict(self.best_state)
                self.model.save(path, training_config=self.config)
            except Exception as save_err:
                warnings.warn(f"could not write {path}: {save_err}", stacklevel=3)
                return
            finally:
                self.model.load_state_dict(current)
        err.args = (f"{err.args[0] if err.args else err} The best weights (epoch {self.state.best_epoch}, monitored "
                    f"loss {self.state.best_loss:.6g}) are saved in {path}; load them with "
                    f"AutoModel.load_from_folder({str(path)!r}).", *err.args[1:])

    def load_checkpoint(self, checkpoint_dir: str | Path) -> None:
        """Restore weights, optimizers, schedulers, RNG, data order, counters, best record and ``data_source``.

        Everything is checked before anything changes: the model name, the parameter groups, each group's
        optimizer and scheduler class, the training config (only ``RESUME_FREE_FIELDS`` may differ from the
        checkpoint's ``training_config.json``) and every field of the state (``CheckpointError`` otherwise).
        """
        checkpoint_dir = Path(checkpoint_dir)
        model_state, best_state, state = read_checkpoint(checkpoint_dir)
        where = checkpoint_dir / STATE_FILE
        if state["model_name"] != self.model.model_config.name:
            raise CheckpointError(f"{checkpoint_dir} is a checkpoint of a {state['model_name']!r} model, "
                                  f"not of {self.model.model_config.name!r}")
        if set(state["optimizers"]) != set(self.optimizers):
            raise CheckpointError(f"{checkpoint_dir} has optimizer groups {sorted(state['optimizers'])}, "
                                  f"the model has {sorted(self.optimizers)}")
        for kind, built in (("optimizer", self.optimizers), ("scheduler", self.schedulers)):
            for g, obj in built.items():
                mine, saved = None if obj is None else type(obj).__name__, state[f"{kind}_classes"][g]
                if mine != saved:
                    raise CheckpointError(f"{where}: group {g!r} was trained with {kind} {saved}, but this trainer's "
                                          f"config gives {mine}; resume with the checkpoint's {kind}")
        check_resume_config(read_training_config(checkpoint_dir), self.config, checkpoint_dir)
        trainer_state = TrainerState.from_dict(asdict(state["trainer"]), where, self._num_train_batches())
        names = {id(p): n for n, p in self.model.named_parameters()}
        for g, opt in self.optimizers.items():
            check_optimizer_shapes(state["optimizers"][g], opt, g, where, names)
        if best_state is not None:
            self.model.check_weights(best_state, str(checkpoint_dir / "best_model.safetensors"))
        self.model.load_weights(model_state, source=str(checkpoint_dir))
        try:
            for g, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][g])
            for g, sched in self.schedulers.items():
                if sched is not None:
                    sched.load_state_dict(state["schedulers"][g])
            if self.scaler is not None and state["scaler"] is not None:
                self.scaler.load_state_dict(state["scaler"])
            set_rng_state(state["rng"], self.device)
            self.data_generator.set_state(state["epoch_start_data_state"])
            self._epoch_sums = {k: v.to(self.device) for k, v in state["epoch_sums"].items()}
        except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as err:
            raise CheckpointError(f"{checkpoint_dir}: optimizer, scheduler or RNG state does not fit ({err})") from None
        self.best_state = best_state
        self.state = trainer_state
        self._epoch_start_data_state = state["epoch_start_data_state"]
        self.data_source = state["data_source"]
        self.run_dir = checkpoint_dir.parent
        self._started = True
        self._snapshot, self._pending, self._broken = None, [], False

    @classmethod
    def from_checkpoint(cls, checkpoint_dir: str | Path, train_data: Any, eval_data: Any = None,
                        encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                        callbacks: Iterable[TrainerCallback] | None = None,
                        training_config: TrainerConfig | None = None,
                        networks_given: dict[str, nn.Module] | None = None,
                        overrides: dict[str, Any] | None = None) -> Trainer:
        """Rebuild model and trainer from a checkpoint folder alone (configs included), ready to ``train()``.

        Networks made by ``gaekit.nn.create_network`` are rebuilt from the checkpoint; other custom
        networks must be passed as ``encoder``/``decoder`` or, for a model's extra networks (e.g. a
        discriminator), in ``networks_given``.

        The training config is the checkpoint's ``training_config.json``, or ``training_config``, with
        ``overrides`` (``{field: value}``, e.g. ``{"num_epochs": 30}`` to train more epochs) applied. It
        may differ from the checkpoint's only in ``RESUME_FREE_FIELDS`` (``num_epochs`` and fields that
        change what is written or shown: ``output_dir``, ``show_progress``, ``log_every_n_steps``,
        ``steps_saving``, ``checkpoint_every_n_steps``); any other difference is a ``ConfigError``
        listing the fields, so that the resumed run stays exact. A missing or malformed file, or an
        unknown model, is a ``CheckpointError`` naming the file. Checkpoints of the previous format resume
        too (see ``gaekit.trainers.checkpoint``), and one whose save was killed between its two renames
        is restored first.
        """
        from gaekit.models.base import MODELS, _registered_network
        from gaekit.trainers.checkpoint import _read_meta, from_tree

        checkpoint_dir = Path(checkpoint_dir)
        read_checkpoint_info(checkpoint_dir)  # a valid, unmodified checkpoint before anything is built
        config_path = checkpoint_dir / "config.json"
        model_config = read_json_object(config_path)
        networks = _read_meta(checkpoint_dir)["state"].get("networks")
        networks = from_tree(networks, {}) if isinstance(networks, dict) else {}  # specs hold tuples (hidden_dims)
        given = {"encoder": encoder, "decoder": decoder, **(networks_given or {})}
        try:
            model_cls = MODELS.get(model_config.get("name", "?"))
            for part in model_cls.network_names():
                if given.get(part) is None:
                    given[part] = _registered_network(networks.get(part))
            model = model_cls(model_cls.config_class.from_dict(model_config), **given)
        except ConfigError as err:
            raise CheckpointError(f"{config_path}: {err}") from None
        config = training_config if training_config is not None else read_training_config(checkpoint_dir)
        if overrides:
            if not isinstance(overrides, dict):
                raise ConfigError(f"overrides={overrides!r} is invalid: expected a dict of TrainerConfig fields")
            config = config.replace(**overrides)
        check_resume_config(read_training_config(checkpoint_dir), config, checkpoint_dir)
        trainer = cls(model, config, train_data, eval_data, callbacks)
        trainer.load_checkpoint(checkpoint_dir)
        return trainer


def check_resume_config(saved: TrainerConfig, given: TrainerConfig, checkpoint_dir: Path) -> None:
    """``ConfigError`` listing the fields, other than ``RESUME_FREE_FIELDS``, where ``given`` differs from ``saved``."""
    old, new = saved.to_dict(), given.to_dict()
    differing = [f"{k} (checkpoint {old.get(k)!r}, given {new.get(k)!r})" for k in sorted(set(old) | set(new))
                 if k not in RESUME_FREE_FIELDS and old.get(k) != new.get(k)]
    if differing:
        raise ConfigError(f"cannot resume {checkpoint_dir} exactly with another training config: "
                          f"{'; '.join(differing)}. Only {list(RESUME_FREE_FIELDS)} may differ from its "
                          "training_config.json")


def _check_callbacks(callbacks: Any) -> list[TrainerCallback]:
    """The callbacks as a list; ``ConfigError`` naming the type of any that is not a ``TrainerCallback``."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (TrainerCallback, str, bytes)) or not isinstance(callbacks, Iterable):
        raise ConfigError(f"Trainer callbacks={callbacks!r:.80} is invalid: expected a list of TrainerCallback "
                          "instances")
    callbacks = list(callbacks)
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, TrainerCallback):
            raise ConfigError(f"Trainer callbacks[{i}] is a {type(callback).__qualname__}, not a TrainerCallback: "
                              "subclass gaekit.trainers.TrainerCallback and override the hooks you need")
    return callbacks


def _check_checkpoint_name(name: Any) -> str:
    """``name`` if it is a plain folder name (a checkpoint goes directly into the run folder)."""
    ok = (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
          and "/" not in name and "\\" not in name and os.sep not in name and "\0" not in name)
    if not ok:
        raise ConfigError(f"checkpoint name {name!r} is invalid: expected a plain folder name inside the run "
                          "folder (no path separators, not empty, not starting with '.'), e.g. 'checkpoint_best'")
    return name


def _check_data_source(source: Any) -> dict[str, Any] | None:
    if source is None:
        return None
    try:
        ok = isinstance(source, dict) and json.loads(json.dumps(source)) == source
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"Trainer data_source={source!r:.120} is invalid: expected None or a JSON-able dict "
                          "with string keys, e.g. {'dataset': 'mnist', 'data_dir': None}")
    return source


@contextlib.contextmanager
def _progress(enabled: bool, total: int, initial: int, desc: str) -> Iterator[Any]:
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, desc=desc, leave=False, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass


def _channels_last(batch: Batch) -> Batch:
    if batch.data.dim() != 4:
        return batch
    return Batch(batch.data.contiguous(memory_format=torch.channels_last), batch.labels)
