"""HVAE and RHVAE maths and behaviour: leapfrog properties, the learned metric and its buffers, evaluation,
and the RHVAE sampler."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.errors import ConfigError
from gaekit.models import AutoModel
from gaekit.samplers import RHVAESampler, RHVAESamplerConfig
from gaekit.trainers import Trainer, TrainerConfig


def _x(n=6, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _energy(model, x, z, rho):
    log_pxz, _ = model.log_joint(x, z)
    return -log_pxz + 0.5 * rho.pow(2).sum(-1)


def test_hvae_leapfrog_volume_preserving_and_energy_error_order():
    torch.manual_seed(0)
    model = tiny_model("HVAE", beta_zero=1.0, num_leapfrog_steps=4).double()
    x = _x(3).double()
    z0 = torch.randn(3, 3, dtype=torch.float64)
    rho0 = torch.randn(3, 3, dtype=torch.float64)

    # log|det J| of the flat (z, rho) -> (z_K, rho_K) map is 0 (no tempering: beta_zero = 1)
    def flow(state):
        z, rho, *_ = model.hamiltonian_flow(x[:1], state[:3].unsqueeze(0), state[3:].unsqueeze(0), True)
        return torch.cat([z[0], rho[0]])

    jac = torch.autograd.functional.jacobian(flow, torch.cat([z0[0], rho0[0]]))
    assert torch.linalg.slogdet(jac).logabsdet.abs() < 1e-8

    errors = []
    for eps in (0.02, 0.01):
        model.log_eps_lf.data.fill_(torch.log(torch.tensor(eps)).item())
        z, rho, *_ = model.hamiltonian_flow(x, z0, rho0, False)
        errors.append((_energy(model, x, z, rho) - _energy(model, x, z0, rho0)).abs().max().item())
    assert errors[1] < errors[0] / 3  # ~ eps^2: halving eps divides the error by ~4


def test_rhvae_metric_spd_and_buffers_round_trip(tmp_path):
    model = tiny_model("RHVAE")
    x = _x(8)
    data = torch.rand(24, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    assert model.centroids.shape == (0, 3)
    Trainer(model, TrainerConfig(output_dir=None, show_progress=False, num_epochs=1, batch_size=8), data).train()
    # on_epoch_end made the last batch's centroids and L L^T the stored metric
    assert model.centroids.shape == (8, 3) and model.metric_matrices.shape == (8, 3, 3)
    assert torch.equal(model.centroids, model.last_batch_centroids)
    buffers = dict(model.named_buffers())
    for name in ("centroids", "metric_matrices", "last_batch_centroids", "last_batch_matrices"):
        assert name in buffers and name in model.state_dict()
    z = torch.randn(20, 3) * 2
    g = model.metric_tensor(z)
    torch.testing.assert_close(g, g.transpose(-1, -2))
    assert (torch.linalg.eigvalsh(model.metric_inverse(z)) > 0).all()
    model.save(tmp_path / "m")
    loaded = AutoModel.load_from_folder(tmp_path / "m")
    assert torch.equal(loaded.metric_inverse(z), model.metric_inverse(z))
    moved = loaded.to("cpu", torch.float64)
    assert moved.centroids.dtype == torch.float64
    assert model.embed(x).shape == (8, 3)


@pytest.mark.parametrize("name", ["HVAE", "RHVAE"])
def test_evaluate_finite_and_leaves_parameters(name):
    model = tiny_model(name, **({"learn_eps_lf": True, "learn_beta_zero": True} if name == "HVAE" else {}))
    data = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    trainer = Trainer(model, TrainerConfig(output_dir=None, show_progress=False, num_epochs=1, batch_size=8), data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = trainer.evaluate(data)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_rhvae_sampler_seeded_and_model_check():
    model = tiny_model("RHVAE")
    model.train()
    model(_x(8))
    model.on_epoch_end(None)
    sampler = RHVAESampler(model, RHVAESamplerConfig(num_mcmc_steps=4, num_leapfrog_steps=3, beta_zero=0.5))
    a, z = sampler.sample(5, seed=0, return_latents=True)
    assert a.shape == (5, 1, 8, 8) and torch.isfinite(a).all() and torch.isfinite(z).all()
    assert torch.equal(a, sampler.sample(5, seed=0))
    with pytest.raises(ConfigError, match="accepts: RHVAE"):
        RHVAESampler(tiny_model("HVAE"))
    with pytest.raises(ConfigError, match="num_mcmc_steps"):
        RHVAESamplerConfig(num_mcmc_steps=0).validate()
