"""Property: for every registered model, a run interrupted anywhere and resumed is bit-identical (CPU)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaekit.errors import ConfigError
from gaekit.models import MODELS
from gaekit.trainers import Trainer, TrainerConfig

STEPS_PER_EPOCH, EPOCHS = 4, 2  # 60 samples, batches of 16
POINTS = ["before_data", "after_forward", "after_backward", "after_counters", "eval_batch", "after_evaluation",
          "after_epoch_record"]
COMMON = {"deadline": None, "derandomize": True, "suppress_health_check": [HealthCheck.too_slow]}


def _config(folder):
    return TrainerConfig(output_dir=str(folder), num_epochs=EPOCHS, batch_size=16, learning_rate=1e-3,
                         show_progress=False, scheduler="StepLR", scheduler_params={"step_size": 1, "gamma": 0.5})


_latents: dict[str, list[int]] = {}
_references: dict[tuple[str, int], Trainer] = {}


def _valid_latents(name):
    """The latent sizes 1-8 that the model accepts (e.g. SVAE needs at least 2)."""
    if name not in _latents:
        _latents[name] = []
        for latent in range(1, 9):
            try:
                tiny_model(name, latent_dim=latent)
            except ConfigError:
                continue
            _latents[name].append(latent)
    return _latents[name]


def _reference(name, latent, data, folder):
    if (name, latent) not in _references:
        trainer = Trainer(tiny_model(name, latent_dim=latent), _config(folder), *data)
        trainer.train()
        _references[name, latent] = trainer
    return _references[name, latent]


@pytest.fixture(scope="module")
def data(digits):
    return digits[0].subset(slice(0, 60)), digits[1].subset(slice(0, 16))


def _check_resume_is_exact(name, draw, data, tmp_path_factory):
    latent = draw(st.sampled_from(_valid_latents(name)), label="latent_dim")
    step = draw(st.integers(0, STEPS_PER_EPOCH * EPOCHS - 1), label="interrupted at step")
    point = draw(st.sampled_from(POINTS), label="point")
    folder = tmp_path_factory.mktemp(name)
    reference = _reference(name, latent, data, folder)
    trainer = Trainer(tiny_model(name, latent_dim=latent), _config(folder), *data)
    when, fired = divmod(step, STEPS_PER_EPOCH), []

    def interrupt(at):
        if not fired and at == point and (trainer.state.epoch, trainer.state.step_in_epoch) >= when:
            fired.append(at)
            raise KeyboardInterrupt(f"interrupted at {at}")

    trainer._at = interrupt
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    resumed = Trainer(tiny_model(name, latent_dim=latent, seed=7), _config(folder), *data)
    resumed.resume(trainer.run_dir / "checkpoint_interrupted")
    ours, theirs = resumed.model.state_dict(), reference.model.state_dict()
    assert [k for k in theirs if not torch.equal(ours[k], theirs[k])] == [], (name, latent, step, point)
    assert resumed.state.history == reference.state.history, (name, latent, step, point)


@pytest.mark.parametrize("name", MODELS.names())
@settings(max_examples=3, **COMMON)
@given(draw=st.data())
def test_every_model_resumes_bit_identically(name, draw, data, tmp_path_factory):
    _check_resume_is_exact(name, draw.draw, data, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS.names())
@settings(max_examples=40, **COMMON)
@given(draw=st.data())
def test_every_model_resumes_bit_identically_many_draws(name, draw, data, tmp_path_factory):
    _check_resume_is_exact(name, draw.draw, data, tmp_path_factory)
