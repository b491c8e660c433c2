"""The Gaussian decoder's variance (``BaseAEConfig.decoder_variance``): its maths, where it enters the objectives,
old folders keeping their scale, and the paper presets carrying the paper's code's scale (docs/deviations.md)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gaekit.errors import ConfigError
from gaekit.models import VAE, AutoModel, VAEConfig, _losses, create_model
from gaekit.nn import EncoderOutput

VARIANCES = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)
V1_DIR = Path(__file__).resolve().parents[1] / "data_files" / "folders_v1"


@settings(max_examples=40, deadline=None)
@given(variance=VARIANCES, seed=st.integers(0, 2**16))
def test_the_mse_loss_is_the_gaussian_nll_up_to_its_constant(variance, seed):
    """``||x - m||^2 / (2 s2)`` is ``-log N(x; m, s2 I)`` minus ``D/2 log(2 pi s2)``, for every variance."""
    g = torch.Generator().manual_seed(seed)
    x, mean = torch.rand(3, 2, 5, generator=g), torch.rand(3, 2, 5, generator=g)
    nll = -torch.distributions.Normal(mean.double(), math.sqrt(variance)).log_prob(x.double()).flatten(1).sum(1)
    constant = 0.5 * 10 * math.log(2 * math.pi * variance)
    loss = _losses.reconstruction_loss(mean, x, "mse", mean, variance)
    torch.testing.assert_close(loss.double(), nll - constant, rtol=1e-5, atol=1e-5)
    log_p = _losses.decoder_log_likelihood(mean, x, "mse", mean, variance=variance)
    torch.testing.assert_close(log_p.double(), -nll, rtol=1e-5, atol=1e-4)
    unnormalized = _losses.decoder_log_likelihood(mean, x, "mse", mean, normalized=False, variance=variance)
    assert torch.equal(unnormalized, -loss)


def test_the_default_scale_is_the_plain_sum_of_squared_errors_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    x, mean = torch.rand(4, 7, generator=g), torch.rand(4, 7, generator=g)
    assert torch.equal(_losses.reconstruction_loss(mean, x, "mse", mean), (mean - x).pow(2).sum(1))
    assert VAEConfig().decoder_variance == _losses.DEFAULT_DECODER_VARIANCE == 0.5
    assert VAEConfig.from_dict({"name": "VAE", "latent_dim": 2}).decoder_variance == 0.5  # a file without it


def test_bce_ignores_the_variance():
    g = torch.Generator().manual_seed(1)
    logits, x = torch.randn(3, 6, generator=g), torch.rand(3, 6, generator=g)
    assert torch.equal(_losses.reconstruction_loss(logits, x, "bce", variance=7.0),
                       _losses.reconstruction_loss(logits, x, "bce"))


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_a_non_positive_or_non_finite_variance_is_a_config_error(value):
    with pytest.raises(ConfigError, match="decoder_variance"):
        VAEConfig(input_dim=(4,), decoder_variance=value)


# models whose reconstruction term is the decoder's MSE: the variational ones and the deterministic ones
SCALED_MODELS = ["VAE", "BetaVAE", "IWAE", "VAMP", "InfoVAE_MMD", "HVAE", "AE", "RAE_L2", "WAE_MMD",
                 "Adversarial_AE", "VQVAE"]


@pytest.mark.parametrize("name", SCALED_MODELS)
def test_every_model_scales_its_reconstruction_term_by_the_variance(name):
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    terms = {}
    for variance in (0.5, 2.0):
        torch.manual_seed(0)
        model = create_model(name, input_dim=(1, 8, 8), latent_dim=2, decoder_variance=variance)
        torch.manual_seed(1)
        out = model(x)
        per_sample = (out.recon_x - x).pow(2).flatten(1).sum(1)
        torch.testing.assert_close(out.recon_loss, (per_sample / (2 * variance)).mean())
        terms[variance] = out
    assert not torch.equal(terms[0.5].loss, terms[2.0].loss)


class _ConstantDecoder(nn.Module):
    """Decodes every code to the same vector ``c`` (so that ``||x - recon_x|| = 0`` for ``x = c``)."""

    def __init__(self, c):
        super().__init__()
        self.c = nn.Parameter(c)

    def forward(self, z):
        return self.c.expand(z.shape[0], -1) + 0 * z.reshape(z.shape[0], -1).sum(-1, keepdim=True)


@pytest.mark.parametrize("name", ["VAE", "IWAE", "SVAE", "PoincareVAE"])
def test_log_likelihood_uses_the_variance_in_its_normalising_constant(name):
    """With a decoder that reconstructs ``x`` exactly, ``log p(x)`` changes by ``-D/2 log(2 s2)`` between the
    variances ``1/2`` and ``s2``: every importance weight moves by that constant."""
    c = torch.rand(5, generator=torch.Generator().manual_seed(3))
    got = {}
    for variance in (0.5, 3.0):
        torch.manual_seed(0)
        model = create_model(name, input_dim=(5,), latent_dim=2, output_activation="identity",
                             decoder_variance=variance, decoder=_ConstantDecoder(c.clone()))
        got[variance] = model.log_likelihood(c[None], 8, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(got[3.0] - got[0.5], torch.tensor([-2.5 * math.log(6.0)]), rtol=1e-5, atol=1e-5)


class _ExactPosterior(nn.Module):
    """The exact posterior of p(z) = N(0, I), p(x|z) = N(Wz + b, s2 I), diagonal when W^T W is."""

    def __init__(self, weight, bias, variance):
        super().__init__()
        self.cov = torch.linalg.inv(torch.eye(weight.shape[1]) + weight.T @ weight / variance)
        self.weight, self.bias, self.variance = weight, bias, variance

    def forward(self, x):
        mean = (x - self.bias) @ (self.weight @ self.cov) / self.variance
        return EncoderOutput(mean, torch.log(torch.diagonal(self.cov)).expand_as(mean))


class _Linear(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, z):
        return z @ self.weight.T + self.bias


@settings(max_examples=15, deadline=None)
@given(variance=st.floats(min_value=0.05, max_value=20.0))
def test_log_likelihood_is_the_linear_gaussian_marginal_for_any_variance(variance):
    """With its exact posterior as proposal every importance weight equals ``p(x)``, so the estimate is the
    closed-form marginal ``N(x; b, W W^T + s2 I)`` whatever the variance."""
    q, _ = torch.linalg.qr(torch.randn(4, 2, generator=torch.Generator().manual_seed(0)))
    weight, bias = q * torch.tensor([1.5, 0.7]), torch.tensor([0.1, -0.2, 0.05, 0.0])
    config = VAEConfig(input_dim=(4,), latent_dim=2, output_activation="identity", decoder_variance=variance)
    model = VAE(config, encoder=_ExactPosterior(weight, bias, variance), decoder=_Linear(weight, bias))
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    exact = torch.distributions.MultivariateNormal(bias, weight @ weight.T + variance * torch.eye(4)).log_prob(x)
    got = model.log_likelihood(x, num_importance_samples=3, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(got, exact, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("name", ["vae_mlp", "rhvae", "aae"])
def test_an_old_folder_without_the_field_keeps_the_plain_sum_of_squared_errors(name, tmp_path):
    folder = Path(shutil.copytree(V1_DIR / name, tmp_path / name))
    assert "decoder_variance" not in json.loads((folder / "config.json").read_text())
    model = AutoModel.load_from_folder(folder)
    assert model.model_config.decoder_variance == 0.5
    x = torch.rand(4, *model.input_dim, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(0)
    out = model.train()(x)
    assert torch.equal(out.recon_loss, (out.recon_x - x).pow(2).flatten(1).sum(1).mean())


def test_the_paper_presets_carry_the_paper_codes_scale_and_vamp_without_warm_up():
    from gaekit.bench.presets import PAPER_DECODER_VARIANCE, cpu_quick, paper, paper_latent
    from gaekit.bench.runs import expand

    assert PAPER_DECODER_VARIANCE == 0.5
    for spec in (paper(), paper_latent()):
        for model in spec.models:
            assert model.fields["decoder_variance"] == PAPER_DECODER_VARIANCE, model.label
        vamp = next(m for m in spec.models if m.label == "VAMP")
        assert vamp.fields["linear_scheduling_steps"] == 0
    runs = expand(paper())
    assert {run.config["decoder_variance"] for run in runs} == {PAPER_DECODER_VARIANCE}
    # cpu-quick keeps its spec (and the study folders started with it) and gets the same scale by default
    assert all("decoder_variance" not in m.fields for m in cpu_quick().models)
    assert VAEConfig().decoder_variance == PAPER_DECODER_VARIANCE
