"""The one trainer: any model, any number of parameter groups, exact resume.

Each step runs ``forward``, then for every parameter group with a loss this step
``loss.backward(inputs=group_params)`` -- so no loss leaks gradients into another group's
parameters -- then every involved optimizer steps (DESIGN §2). A model with one group is
the plain case.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from gaekit.data import Batch, as_dataset, iterate_batches, num_batches, validate_data
from gaekit.errors import CheckpointError, ConfigError, DataError, TrainingError
from gaekit.models._shard import batch_shard
from gaekit.models.base import BaseAE, BaseModel, ModelOutput, StepContext
from gaekit.serialization import write_json
from gaekit.trainers.callbacks import TrainerCallback
from gaekit.trainers.checkpoint import read_checkpoint, rng_state, set_rng_state, write_checkpoint
from gaekit.trainers.config import TrainerConfig, optimizer_class, scheduler_class
from gaekit.trainers.distributed import DataParallel, float_buffers, launched_distributed, local_device
from gaekit.trainers.precision import NetworkAutocast, autocast_dtype, model_networks


@dataclass
class TrainerState:
    """Counters and records that a checkpoint restores."""

    epoch: int = 0  # epochs completed
    step_in_epoch: int = 0  # steps completed in the current epoch
    global_step: int = 0
    best_loss: float = math.inf
    best_epoch: int | None = None
    epochs_since_best: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"TrainerConfig.device={name!r} but CUDA is not available; use 'cpu' or 'auto'")
    return device


def set_seed(seed: int) -> None:
    """Seed torch, numpy and ``random``."""
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
        Called on rank 0 only in data-parallel training, unless a callback sets ``on_all_ranks``.

    Notes
    -----
    Started by ``torchrun`` (or inside an initialised ``torch.distributed`` group) the trainer trains
    data-parallel across the processes (``TrainerConfig.distributed``; scheme in
    ``gaekit.trainers.distributed``): ``batch_size`` is the global batch, every process ends with the
    same weights, history and best record, and only rank 0 writes checkpoints and the final model.

    Examples
    --------
    >>> trainer = Trainer(model, TrainerConfig(num_epochs=5), train_data=x)  # doctest: +SKIP
    >>> trainer.train()                                                       # doctest: +SKIP
    """

    def __init__(self, model: BaseModel, training_config: TrainerConfig | None = None, train_data: Any = None,
                 eval_data: Any = None, callbacks: Iterable[TrainerCallback] | None = None):
        if not isinstance(model, BaseModel):
            raise ConfigError(f"Trainer needs a gaekit model (BaseModel), got {type(model).__name__}")
        config = training_config if training_config is not None else TrainerConfig()
        if not isinstance(config, TrainerConfig):
            raise ConfigError(f"training_config must be a TrainerConfig, got {type(config).__name__}")
        config.validate()
        if train_data is None:
            raise ConfigError("Trainer needs train_data")
        self.config = config
        self.model = model
        self.callbacks = list(callbacks or [])
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
        self._safe_to_checkpoint = True
        self._step_rng: dict[str, Tensor] | None = None
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
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        base = Path(self.config.output_dir) / f"{self.model.model_config.name}_training_{stamp}"
        run_dir, n = base, 1
        while run_dir.exists():
            run_dir, n = base.with_name(f"{base.name}_{n}"), n + 1
        run_dir.mkdir(parents=True)
        return run_dir

    # -- training -------------------------------------------------------------------
    def train(self) -> list[dict[str, Any]]:
        """Train for ``num_epochs`` (continuing a resumed or earlier run); return the per-epoch history.

        Calling it again, e.g. after raising ``num_epochs``, continues from where training stopped.

        Writes ``final_model/`` (the best model), ``history.json`` and the requested
        checkpoints in ``run_dir``. If anything interrupts training (an exception, Ctrl-C),
        a ``checkpoint_interrupted`` folder is written first when ``output_dir`` is set.
        """
        cfg = self.config
        if not self._started:
            set_seed(cfg.seed)
            self.data_generator.manual_seed(cfg.seed)
            self.run_dir = self._make_run_dir()
            self._started = True
        previous_determinism = torch.are_deterministic_algorithms_enabled()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self.model.train()
        try:
            self._emit("on_train_begin")
            with self._amp:
                while self.state.epoch < cfg.num_epochs and not self.stopped_early:
                    self._train_epoch()
                    self._end_epoch()
        except BaseException as err:
            self._save_interrupted()
            with contextlib.suppress(Exception):  # a failing callback must not mask the training error
                self._emit("on_train_interrupted", err)
            raise
        finally:
            torch.use_deterministic_algorithms(previous_determinism)
        self._finish()
        return self.state.history

    def resume(self, checkpoint_dir: str | Path) -> list[dict[str, Any]]:
        """Load ``checkpoint_dir`` into this trainer and continue training from it exactly."""
        self.load_checkpoint(checkpoint_dir)
        return self.train()

    def _train_epoch(self) -> None:
        cfg, state = self.config, self.state
        if state.step_in_epoch == 0:
            self._epoch_start_data_state = self.data_generator.get_state()
            self._epoch_sums = {}
        else:  # resumed mid-epoch: redraw the same permutation, then skip the finished steps
            self.data_generator.set_state(self._epoch_start_data_state)
        n = self._num_train_batches()
        batches = iterate_batches(self.train_dataset, cfg.batch_size, shuffle=cfg.shuffle,
                                  generator=self.data_generator, start_batch=state.step_in_epoch,
                                  device=self.device, drop_last=cfg.drop_last)
        show = cfg.show_progress and self.is_main_process
        with _progress(show, n, state.step_in_epoch, f"Epoch {state.epoch + 1}/{cfg.num_epochs}") as bar:
            for batch in batches:
                ctx = StepContext(epoch=state.epoch, global_step=state.global_step, num_epochs=cfg.num_epochs,
                                  dataset_size=self.dataset_size, training=True)
                output = self._train_step(batch, ctx)
                state.step_in_epoch += 1
                state.global_step += 1
                bar.update(1)
                if show and (state.step_in_epoch % cfg.log_every_n_steps == 0
                                          or state.step_in_epoch == n):
                    bar.set_postfix(loss=f"{self._epoch_sums['loss'].item() / state.step_in_epoch:.4f}")
                if output is not None:  # None: this process had no samples in a small last batch
                    self._emit("on_step_end", output)
                if cfg.checkpoint_every_n_steps and state.global_step % cfg.checkpoint_every_n_steps == 0:
                    self.save_checkpoint(f"checkpoint_step_{state.global_step}")

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
        # an interrupt before the update resumes from here (a step draws from torch's generators only)
        self._step_rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            self._step_rng["cuda"] = torch.cuda.get_rng_state(self.device)
        if self.config.channels_last:
            batch = _channels_last(batch)
        if self.parallel is not None:
            return self._parallel_step(batch, ctx)
        output = self.model(batch, ctx)
        losses = self._group_losses(output)
        error = self._nonfinite_error(output, losses)
        if error is not None:
            raise error
        self._backward_all(output, losses)
        self._optimizer_steps(set(losses))
        self._accumulate({"loss": output.loss, **output.terms})
        return output

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
            raise self._nonfinite_error(output, losses) if nonfinite else TrainingError(
                f"non-finite loss on another process at epoch {self.state.epoch + 1}, step "
                f"{self.state.step_in_epoch + 1}; see its error. Try a lower learning_rate, or check the data.")
        self._optimizer_steps(to_step)
        self._accumulate(reduced)
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

    def _optimizer_steps(self, groups: set[str]) -> None:
        self._safe_to_checkpoint = False
        for g, opt in self.optimizers.items():
            if g not in groups:
                continue
            if self.scaler is not None:
                self.scaler.step(opt)
            else:
                opt.step()
            opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.update()
        self._safe_to_checkpoint = True
        self._step_rng = None

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
        state = self.state
        self._safe_to_checkpoint = False
        if self.parallel is not None:
            self._gather_per_sample_buffers()
        self.model.on_epoch_end(StepContext(epoch=state.epoch, global_step=state.global_step,
                                            num_epochs=self.config.num_epochs, dataset_size=self.dataset_size,
                                            training=True))
        steps = max(state.step_in_epoch, 1)
        record: dict[str, Any] = {"epoch": state.epoch + 1, "global_step": state.global_step}
        record.update({f"train_{k}": v.item() / steps for k, v in self._epoch_sums.items()})
        metrics = self.evaluate() if self.eval_dataset is not None else None
        if metrics is not None:
            record.update({f"eval_{k}": v for k, v in metrics.items()})
        monitored = metrics["loss"] if metrics is not None else record.get("train_loss", math.inf)
        for sched in self.schedulers.values():
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(monitored)
            elif sched is not None:
                sched.step()
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
        self._safe_to_checkpoint = True
        if self.run_dir is not None and self.is_main_process:
            write_json(self.run_dir / "history.json", state.history)
        if metrics is not None:
            self._emit("on_evaluate", metrics)
        self._emit("on_epoch_end", record)
        if self.config.steps_saving and state.epoch % self.config.steps_saving == 0:
            self.save_checkpoint(f"checkpoint_epoch_{state.epoch}")

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
    def _checkpoint_state(self, rng: dict[str, Any]) -> dict[str, Any]:
        data_state = (self.data_generator.get_state() if self.state.step_in_epoch == 0
                      else self._epoch_start_data_state)
        return {
            "trainer": asdict(self.state),
            "model_name": self.model.model_config.name,
            "networks": {part: getattr(getattr(self.model, part, None), "network_spec", None)
                         for part in getattr(self.model, "network_names", tuple)()},
            "optimizers": {g: opt.state_dict() for g, opt in self.optimizers.items()},
            "schedulers": {g: s.state_dict() for g, s in self.schedulers.items() if s is not None},
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng,
            "epoch_start_data_state": data_state,
            "epoch_sums": dict(self._epoch_sums),
        }

    def save_checkpoint(self, name: str, rng: dict[str, Any] | None = None) -> Path:
        """Write ``run_dir/name`` atomically with everything needed to resume exactly (rank 0 writes)."""
        path = self._write_checkpoint(name, rng)
        self._barrier()
        self._emit("on_save", path)
        return path

    def _write_checkpoint(self, name: str, rng: dict[str, Any] | None) -> Path:
        if self.run_dir is None:
            raise ConfigError("checkpoints need TrainerConfig.output_dir")
        path = self.run_dir / name
        if self.is_main_process:
            write_checkpoint(
                path,
                model_state=self.model.state_dict(),
                best_state=self.best_state,
                state=self._checkpoint_state(rng if rng is not None else rng_state(self.device)),
                configs={"config": self.model.model_config, "training_config": self.config},
            )
        return path

    def _save_interrupted(self) -> None:
        if self.run_dir is None or not self._safe_to_checkpoint or not self.is_main_process:
            return
        # interrupted inside a step's forward/backward: nothing was updated yet, so the
        # checkpoint is the state before that step, with the random state it started from.
        # Written without waiting for the other processes, which may not have stopped.
        rng = {**rng_state(self.device), **(self._step_rng or {})}
        self._step_rng = None
        with contextlib.suppress(Exception):
            self._emit("on_save", self._write_checkpoint("checkpoint_interrupted", rng))

    def load_checkpoint(self, checkpoint_dir: str | Path) -> None:
        """Restore weights, optimizers, schedulers, RNG, data order, counters and best record."""
        checkpoint_dir = Path(checkpoint_dir)
        model_state, best_state, state = read_checkpoint(checkpoint_dir)
        if state["model_name"] != self.model.model_config.name:
            raise CheckpointError(f"{checkpoint_dir} is a checkpoint of a {state['model_name']!r} model, "
                                  f"not of {self.model.model_config.name!r}")
        if set(state["optimizers"]) != set(self.optimizers):
            raise CheckpointError(f"{checkpoint_dir} has optimizer groups {sorted(state['optimizers'])}, "
                                  f"the model has {sorted(self.optimizers)}")
        self.model.load_weights(model_state, source=str(checkpoint_dir))
        try:
            for g, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][g])
            for g, sched in self.schedulers.items():
                if sched is not None and g in state["schedulers"]:
                    sched.load_state_dict(state["schedulers"][g])
            if self.scaler is not None and state["scaler"] is not None:
                self.scaler.load_state_dict(state["scaler"])
        except (ValueError, KeyError, RuntimeError) as err:
            raise CheckpointError(f"{checkpoint_dir}: optimizer or scheduler state does not fit ({err})") from None
        self.best_state = best_state
        self.state = TrainerState(**state["trainer"])
        set_rng_state(state["rng"], self.device)
        self._epoch_start_data_state = state["epoch_start_data_state"]
        self.data_generator.set_state(self._epoch_start_data_state)
        self._epoch_sums = {k: v.to(self.device) for k, v in state["epoch_sums"].items()}
        self.run_dir = checkpoint_dir.parent
        self._started = True

    @classmethod
    def from_checkpoint(cls, checkpoint_dir: str | Path, train_data: Any, eval_data: Any = None,
                        encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                        callbacks: Iterable[TrainerCallback] | None = None,
                        training_config: TrainerConfig | None = None,
                        networks_given: dict[str, nn.Module] | None = None) -> Trainer:
        """Rebuild model and trainer from a checkpoint folder alone (configs included), ready to ``train()``.

        Networks made by ``gaekit.nn.create_network`` are rebuilt from the checkpoint; other custom
        networks must be passed as ``encoder``/``decoder`` or, for a model's extra networks (e.g. a
        discriminator), in ``networks_given``.
        """
        from gaekit.models.base import MODELS, _registered_network
        from gaekit.serialization import read_json
        from gaekit.trainers.checkpoint import STATE_FILE

        checkpoint_dir = Path(checkpoint_dir)
        model_config = read_json(checkpoint_dir / "config.json", "not a gaekit training checkpoint")
        networks = read_json(checkpoint_dir / STATE_FILE, "not a gaekit training checkpoint").get("state", {})
        networks = networks.get("networks", {}) if isinstance(networks, dict) else {}
        model_cls = MODELS.get(model_config.get("name", "?"))
        given = {"encoder": encoder, "decoder": decoder, **(networks_given or {})}
        for part in model_cls.network_names():
            if given.get(part) is None:
                given[part] = _registered_network(networks.get(part))
        model = model_cls(model_cls.config_class.from_dict(model_config), **given)
        if training_config is None:
            training_config = TrainerConfig.from_json(checkpoint_dir / "training_config.json")
        trainer = cls(model, training_config, train_data, eval_data, callbacks)
        trainer.load_checkpoint(checkpoint_dir)
        return trainer


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
