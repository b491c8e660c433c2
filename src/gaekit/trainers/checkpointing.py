"""The trainer's side of checkpoints: what it saves, how it loads one and resumes from it exactly.

The folder format (safetensors, JSON state tree, checksums, format migration) is
``gaekit.trainers.checkpoint``; this module decides what goes in and checks what comes out against the
trainer before anything changes.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from gaekit.errors import CheckpointError, ConfigError, TrainingError
from gaekit.models.base import BaseAE
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
from gaekit.trainers.config import TrainerConfig

if TYPE_CHECKING:
    from gaekit.trainers.trainer import Trainer

# TrainerConfig fields that may differ when resuming: they change what is written or shown, or (num_epochs)
# how long training goes on, never the numbers of the epochs trained
RESUME_FREE_FIELDS = ("num_epochs", "output_dir", "show_progress", "log_every_n_steps", "checkpoint_every_n_epochs",
                      "checkpoint_every_n_steps", "images_every_n_epochs", "check_finite_every_n_steps",
                      "data_on_device")


class Checkpointing:
    """Trainer mixin: ``save_checkpoint``, ``load_checkpoint``, ``from_checkpoint``, and the checkpoints written
    when training is interrupted (see ``gaekit.trainers.interruptions``) or diverges (the best model)."""

    def _checkpoint_state(self) -> dict[str, Any]:
        return {
            "trainer": asdict(self.state),
            "model_name": self.model.model_config.name,
            "optimizers": {g: opt.state_dict() for g, opt in self.optimizers.items()},
            "optimizer_classes": {g: type(opt).__name__ for g, opt in self.optimizers.items()},
            "schedulers": {g: s.state_dict() for g, s in self.schedulers.items() if s is not None},
            "scheduler_classes": {g: None if s is None else type(s).__name__ for g, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": self._rng_between_calls if self._rng_between_calls is not None else rng_state(self.device),
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
        self._read_nonfinite_flag()  # no checkpoint holds a non-finite step
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
        """Bring the trainer to a consistent state (see ``gaekit.trainers.interruptions``) and write
        ``checkpoint_interrupted`` (rank 0, without waiting for the other processes, which may not have stopped)."""
        consistent = self._recover()
        if self.run_dir is None or not self.is_main_process:
            return
        # the deferred check (check_finite_every_n_steps > 1): no checkpoint holds a non-finite step
        nonfinite = self._unread_nonfinite_step()
        if nonfinite is not None:
            if not self._diverged:  # else the error being raised says it
                warnings.warn(f"no checkpoint_interrupted is written: the loss was non-finite at global step "
                              f"{nonfinite} (found by the deferred check, TrainerConfig.check_finite_every_n_steps); "
                              f"resume from the last checkpoint in {self.run_dir}", stacklevel=3)
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
            global_rng = rng_state(self.device)
            set_rng_state(state["rng"], self.device)  # fits? the next train() call starts from it
            set_rng_state(global_rng, self.device)
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
        self._rng_between_calls = state["rng"]

    @classmethod
    def from_checkpoint(cls, checkpoint_dir: str | Path, train_data: Any, eval_data: Any = None,
                        encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                        callbacks: Iterable[TrainerCallback] | None = None,
                        training_config: TrainerConfig | None = None,
                        networks_given: dict[str, nn.Module] | None = None,
                        overrides: dict[str, Any] | None = None) -> Trainer:
        """Rebuild model and trainer from a checkpoint folder alone (configs included), ready to ``train()``.

        The model is built by ``gaekit.create_model`` from the checkpoint's ``config.json``; custom networks
        must be passed as ``encoder``/``decoder`` or, for a model's extra networks (e.g. a discriminator), in
        ``networks_given``.

        The training config is the checkpoint's ``training_config.json``, or ``training_config``, with
        ``overrides`` (``{field: value}``, e.g. ``{"num_epochs": 30}`` to train more epochs) applied. It
        may differ from the checkpoint's only in ``RESUME_FREE_FIELDS`` (``num_epochs`` and fields that
        change what is written or shown: ``output_dir``, ``show_progress``, ``log_every_n_steps``,
        ``checkpoint_every_n_epochs``, ``checkpoint_every_n_steps``, ``images_every_n_epochs``); any other
        difference is a ``ConfigError`` listing the fields, so that the resumed run stays exact. A missing or
        malformed file, or an unknown model, is a ``CheckpointError`` naming the file. Checkpoints of the
        previous format resume too (see ``gaekit.trainers.checkpoint``), and one whose save was killed
        between its two renames is restored first.
        """
        from gaekit.models.factory import saved_model_builder
        from gaekit.trainers.checkpoint import _read_meta, from_tree

        checkpoint_dir = Path(checkpoint_dir)
        read_checkpoint_info(checkpoint_dir)  # a valid, unmodified checkpoint before anything is built
        config_path = checkpoint_dir / "config.json"
        legacy = _read_meta(checkpoint_dir)["state"].get("networks")  # checkpoints of earlier releases
        legacy = from_tree(legacy, {}) if isinstance(legacy, dict) else {}  # specs hold tuples (hidden_dims)
        given = {"encoder": encoder, "decoder": decoder, **(networks_given or {})}
        model = saved_model_builder(read_json_object(config_path), str(checkpoint_dir), given, legacy_specs=legacy)()
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


def _check_checkpoint_name(name: Any) -> str:
    """``name`` if it is a plain folder name (a checkpoint goes directly into the run folder)."""
    ok = (isinstance(name, str) and name not in ("", ".", "..") and not name.startswith(".")
          and "/" not in name and "\\" not in name and os.sep not in name and "\0" not in name)
    if not ok:
        raise ConfigError(f"checkpoint name {name!r} is invalid: expected a plain folder name inside the run "
                          "folder (no path separators, not empty, not starting with '.'), e.g. 'checkpoint_best'")
    return name
