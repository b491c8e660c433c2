"""Interrupt training at every point of a step and of an end of epoch: the resumed run is bit-identical (CPU)."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from conftest import fail_at_training_step, tiny_model

from gaekit.trainers import Trainer, TrainerConfig
from gaekit.trainers import checkpoint as checkpoint_module

MODELS = {"VAE": {"reconstruction_loss": "bce"}, "VAEGAN": {}}
STEP_POINTS = ["before_data", "after_data", "after_forward", "after_backward", "after_counters"]
EPOCH_POINTS = ["epoch_end", "after_model_epoch_end", "eval_batch", "after_evaluation", "after_scheduler_step",
                "after_epoch_record"]
# (exception, the first (epoch, step_in_epoch) at which it is raised): the first step of epoch 2, mid epoch 1
WHEN = [(KeyboardInterrupt, (1, 0)), (RuntimeError, (0, 2))]


def _groups(name):
    return list(tiny_model(name).parameter_groups())


CASES = [(m, p) for m in MODELS for p in STEP_POINTS + [f"after_optimizer_step:{g}" for g in _groups(m)]
         + EPOCH_POINTS]


def _config(tmp_path, **kw):
    base = {"output_dir": str(tmp_path), "num_epochs": 2, "batch_size": 16, "learning_rate": 1e-3,
            "show_progress": False, "scheduler": "StepLR", "scheduler_params": {"step_size": 1, "gamma": 0.5}}
    return TrainerConfig(**{**base, **kw})


def _model(name, seed=0):
    return tiny_model(name, seed=seed, **MODELS[name])


@pytest.fixture(scope="module")
def data(digits):
    train, val, _ = digits
    return train.subset(slice(0, 60)), val.subset(slice(0, 24))  # 4 steps per epoch, 2 eval batches


@pytest.fixture(scope="module")
def references(data, tmp_path_factory):
    out = {}
    for name in MODELS:
        trainer = Trainer(_model(name), _config(tmp_path_factory.mktemp(name)), *data)
        trainer.train()
        out[name] = trainer
    return out


class Interrupt:
    """Raise ``exc`` at the first ``point`` reached at or after ``(epoch, step_in_epoch)``."""

    def __init__(self, trainer, point, exc, when):
        self.trainer, self.point, self.exc, self.when, self.fired = trainer, point, exc, when, False

    def __call__(self, point):
        state = self.trainer.state
        if not self.fired and point == self.point and (state.epoch, state.step_in_epoch) >= self.when:
            self.fired = True
            raise self.exc(f"injected at {point}")


def _assert_same_run(trainer, reference):
    a, b = trainer.model.state_dict(), reference.model.state_dict()
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert trainer.state.history == reference.state.history
    assert trainer.state.best_epoch == reference.state.best_epoch


@pytest.mark.parametrize(("exc", "when"), WHEN, ids=["ctrl-c", "error"])
@pytest.mark.parametrize(("name", "point"), CASES, ids=[f"{m}-{p}" for m, p in CASES])
def test_resume_after_an_interruption_at_any_point_is_exact(name, point, exc, when, data, references, tmp_path):
    trainer = Trainer(_model(name), _config(tmp_path), *data)
    trainer._at = Interrupt(trainer, point, exc, when)
    with pytest.raises(exc, match="injected"):
        trainer.train()
    trainer.train()  # the interrupted trainer itself was left consistent and goes on exactly
    _assert_same_run(trainer, references[name])
    resumed = Trainer(_model(name, seed=99), _config(tmp_path), *data)  # other weights: all from the checkpoint
    resumed.resume(trainer.run_dir / "checkpoint_interrupted")
    _assert_same_run(resumed, references[name])


def test_an_interruption_while_writing_a_periodic_checkpoint_resumes_exactly(data, references, tmp_path, monkeypatch):
    original, calls = checkpoint_module.save_tensors, {"n": 0}

    def failing_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # inside checkpoint_epoch_1, after its model.safetensors
            raise KeyboardInterrupt("injected while writing")
        return original(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "save_tensors", failing_once)
    trainer = Trainer(_model("VAEGAN"), _config(tmp_path, checkpoint_every_n_epochs=1), *data)
    with pytest.raises(KeyboardInterrupt, match="injected"):
        trainer.train()
    names = {p.name for p in trainer.run_dir.iterdir()}
    assert "checkpoint_epoch_1" not in names and "checkpoint_interrupted" in names
    assert not [n for n in names if n.startswith(".") and n != ".lock"]
    resumed = Trainer.from_checkpoint(trainer.run_dir / "checkpoint_interrupted", *data)
    resumed.train()
    _assert_same_run(resumed, references["VAEGAN"])


@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
def test_ctrl_c_during_the_optimizer_steps_is_held_until_the_step_is_complete(data, references, tmp_path):
    trainer = Trainer(_model("VAEGAN"), _config(tmp_path), *data)
    encoder_opt = trainer.optimizers["encoder"]
    original_step = encoder_opt.step

    def step_then_sigint(*args, **kwargs):  # a real SIGINT right after the encoder's update, in epoch 2's first step
        out = original_step(*args, **kwargs)
        if trainer.state.global_step == 4:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    encoder_opt.step = step_then_sigint
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert trainer.state.global_step == 5  # the step was finished (all groups and the counters), then stopped
    resumed = Trainer.from_checkpoint(trainer.run_dir / "checkpoint_interrupted", *data)
    assert resumed.state.global_step == 5
    resumed.train()
    _assert_same_run(resumed, references["VAEGAN"])


def test_an_error_in_the_first_step_of_an_epoch_resumes_with_that_epochs_data_order(data, references, tmp_path):
    model = _model("VAE")
    fail_at_training_step(model, 5)  # the first step of epoch 2, after its permutation was drawn
    trainer = Trainer(model, _config(tmp_path), *data)
    with pytest.raises(RuntimeError, match="simulated crash"):
        trainer.train()
    assert (trainer.state.epoch, trainer.state.step_in_epoch) == (1, 0)
    resumed = Trainer.from_checkpoint(trainer.run_dir / "checkpoint_interrupted", *data)
    resumed.train()
    _assert_same_run(resumed, references["VAE"])
