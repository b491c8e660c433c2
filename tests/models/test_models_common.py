"""The registry-driven suite: every registered model gets these checks by registering (docs/architecture.md, Tests)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.errors import ConfigError
from gaekit.models import MODELS, AutoModel, ModelOutput
from gaekit.pipelines import TrainingPipeline
from gaekit.trainers import BaseTrainerConfig

MODEL_NAMES = MODELS.names()


def _batch(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_forward_shapes(name):
    model = tiny_model(name)
    x = _batch()
    out = model(x)
    assert isinstance(out, ModelOutput)
    assert out.loss.shape == () and torch.isfinite(out.loss)
    assert out.recon_x.shape == x.shape
    assert out.z.shape == (len(x), model.latent_dim)
    assert all(torch.isfinite(v) for v in out.terms.values())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_backward_reaches_every_group(name):
    model = tiny_model(name)
    out = model(_batch())
    groups = model.parameter_groups()
    losses = out.group_losses or {"model": out.loss}
    assert set(losses) <= set(groups)
    for i, (group, loss) in enumerate(losses.items()):
        loss.backward(inputs=groups[group], retain_graph=i < len(losses) - 1)
    for group in losses:
        grads = [p.grad for p in groups[group] if p.grad is not None]
        assert grads, f"no gradient reached group {group}"
        assert all(torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_seeded_determinism(name):
    x = _batch()
    losses = []
    for _ in range(2):
        model = tiny_model(name, seed=3)
        torch.manual_seed(5)
        losses.append(model(x).loss)
    assert torch.equal(losses[0], losses[1])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_helpers_shapes(name):
    model = tiny_model(name)
    x = _batch(4)
    assert model.embed(x).shape == (4, model.latent_dim)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and not recon.requires_grad
    assert model.interpolate(x[:2], x[2:], steps=5).shape == (2, 5, 1, 8, 8)
    gen = model.generate(3, generator=torch.Generator().manual_seed(0))
    assert gen.shape == (3, 1, 8, 8)
    assert torch.equal(gen, model.generate(3, generator=torch.Generator().manual_seed(0)))
    assert model.training, "helpers must restore the training mode"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_round_trip(name, tmp_path):
    model = tiny_model(name)
    x = _batch()
    model.save(tmp_path / "m")
    caller_rng = torch.get_rng_state()
    loaded = AutoModel.load_from_folder(tmp_path / "m")
    assert torch.equal(torch.get_rng_state(), caller_rng), "loading drew from the caller's global RNG"
    assert type(loaded) is type(model)
    assert loaded.model_config == model.model_config
    assert torch.equal(loaded.embed(x), model.embed(x))
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
    assert torch.equal(type(model).load_from_folder(tmp_path / "m").embed(x), model.embed(x))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_json_round_trip_and_unknown_keys(name, tmp_path):
    config = tiny_model(name).model_config
    config.to_json(tmp_path / "c.json")
    assert type(config).from_json(tmp_path / "c.json") == config
    with pytest.raises(ConfigError, match="accepted keys"):
        type(config).from_dict({**config.to_dict(), "not_a_field": 1})


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_training_pipeline_one_epoch(name, tmp_path):
    model = tiny_model(name)
    data = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    config = BaseTrainerConfig(output_dir=str(tmp_path), num_epochs=1, batch_size=16, learning_rate=1e-3,
                               show_progress=False)
    trainer = TrainingPipeline(training_config=config, model=model)(train_data=data, eval_data=data[:10])
    record = trainer.state.history[-1]
    assert torch.isfinite(torch.tensor(record["train_loss"])) and torch.isfinite(torch.tensor(record["eval_loss"]))
    reloaded = AutoModel.load_from_folder(trainer.final_model_dir)
    assert torch.equal(reloaded.embed(data), model.embed(data))
