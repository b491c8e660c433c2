"""The deferred non-finite-loss check (``TrainerConfig.check_finite_every_n_steps``): read on the host every N
steps, before every checkpoint and at every end of epoch; runs without a non-finite step are identical to the
per-step check, and no checkpoint ever holds a non-finite step."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from conftest import tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaekit.errors import ConfigError, NonFiniteLossError
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig, read_checkpoint_info
from gaekit.trainers.setup import finite_check_interval

STEPS_PER_EPOCH = 3  # 48 samples, batch 16


def _config(tmp_path, **kw):
    base = {"output_dir": str(tmp_path), "num_epochs": 3, "batch_size": 16, "learning_rate": 1e-3,
            "show_progress": False, "seed": 3}
    return TrainerConfig(**{**base, **kw})


def _data():
    return torch.rand(48, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _diverging(model, bad_step: int):
    """``model`` whose loss is NaN at training step ``bad_step`` (1-based, counted over the run)."""
    forward, calls = model.forward, {"n": 0}

    def diverging_forward(batch, ctx=None):
        calls["n"] += model.training
        out = forward(batch, ctx)
        return replace(out, loss=out.loss * float("nan")) if calls["n"] == bad_step else out

    model.forward = diverging_forward
    return model


def _checkpoint_steps(trainer) -> list[int]:
    return sorted(read_checkpoint_info(p)["global_step"] for p in trainer.run_dir.glob("checkpoint_*"))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(every=st.integers(2, 7), checkpoint_every=st.sampled_from([None, 2, 4]))
def test_runs_without_a_non_finite_step_are_identical_to_the_per_step_check(tmp_path_factory, every, checkpoint_every):
    def run(check):
        torch.manual_seed(0)
        trainer = Trainer(tiny_model("VAE"), _config(tmp_path_factory.mktemp("run"), check_finite_every_n_steps=check,
                                                     checkpoint_every_n_steps=checkpoint_every), _data())
        return trainer, trainer.train()

    (a, history_a), (b, history_b) = run(1), run(every)
    assert history_a == history_b
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    assert _checkpoint_steps(a) == _checkpoint_steps(b)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(every=st.integers(2, 8), bad_step=st.integers(1, 3 * STEPS_PER_EPOCH),
       checkpoint_every=st.sampled_from([None, 2, 5]))
def test_a_non_finite_step_is_named_at_the_next_read_and_never_checkpointed(tmp_path_factory, every, bad_step,
                                                                          checkpoint_every):
    torch.manual_seed(0)
    trainer = Trainer(_diverging(tiny_model("VAE"), bad_step),
                      _config(tmp_path_factory.mktemp("run"), check_finite_every_n_steps=every,
                              checkpoint_every_n_steps=checkpoint_every, checkpoint_every_n_epochs=1), _data())
    with pytest.raises(NonFiniteLossError, match=rf"non-finite loss at global step {bad_step}, found") as info:
        trainer.train()
    # the host reads the check every `every` steps, before each checkpoint and at each end of epoch
    reads = [s for s in range(bad_step, 3 * STEPS_PER_EPOCH + 1)
             if s % every == 0 or s % STEPS_PER_EPOCH == 0 or (checkpoint_every and s % checkpoint_every == 0)]
    assert f"read at global step {reads[0]} " in str(info.value)
    assert trainer.state.global_step == reads[0]
    assert all(s < bad_step for s in _checkpoint_steps(trainer))  # checkpoint_interrupted included
    if trainer.best_state is not None:  # the best model is from an epoch that ended before the bad step
        assert trainer.state.best_epoch * STEPS_PER_EPOCH < bad_step


def test_the_deferred_check_is_read_only_every_n_steps(tmp_path, monkeypatch):
    reads, per_step = [], []
    original_read = Trainer._read_nonfinite_flag
    monkeypatch.setattr(Trainer, "_read_nonfinite_flag",
                        lambda self: (reads.append(self.state.global_step), original_read(self))[1])
    monkeypatch.setattr(Trainer, "_nonfinite_error", lambda self, *a: per_step.append(1))
    torch.manual_seed(0)
    Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=4, batch_size=4, check_finite_every_n_steps=5),
            _data()).train()
    assert not per_step  # no host read inside a step
    assert reads == sorted(set(range(5, 49, 5)) | set(range(12, 49, 12)))  # every 5 steps, each end of epoch


def test_interruption_after_an_unread_non_finite_step_writes_no_checkpoint(tmp_path):
    class StopAtStep(TrainerCallback):
        def on_step_end(self, trainer, output):
            if trainer.state.global_step == 5:
                raise KeyboardInterrupt

    torch.manual_seed(0)
    trainer = Trainer(_diverging(tiny_model("VAE"), 4), _config(tmp_path, check_finite_every_n_steps=50,
                                                                num_epochs=1, batch_size=4), _data(),
                      callbacks=[StopAtStep()])
    message = "no checkpoint_interrupted is written: the loss was non-finite at global step 4"
    with pytest.warns(UserWarning, match=message), pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert not (trainer.run_dir / "checkpoint_interrupted").exists()


def test_default_interval_by_device_and_distributed_training():
    cfg = TrainerConfig(log_every_n_steps=25)
    assert finite_check_interval(cfg, torch.device("cpu"), distributed=False) == 1
    assert finite_check_interval(cfg, torch.device("cuda"), distributed=False) == 25
    assert finite_check_interval(cfg, torch.device("mps"), distributed=True) == 1
    explicit = TrainerConfig(check_finite_every_n_steps=7)
    assert finite_check_interval(explicit, torch.device("cpu"), distributed=False) == 7
    with pytest.raises(ConfigError, match="cannot be used in distributed training"):
        finite_check_interval(explicit, torch.device("cpu"), distributed=True)
    assert finite_check_interval(TrainerConfig(check_finite_every_n_steps=1), torch.device("cpu"), True) == 1


@pytest.mark.parametrize("bad", [-2, 1.5, "5"])
def test_check_finite_every_n_steps_is_checked(bad):  # 0 is a bad-inputs case (docs/bad-inputs.md)
    with pytest.raises(ConfigError, match="check_finite_every_n_steps"):
        TrainerConfig(check_finite_every_n_steps=bad).validate()
