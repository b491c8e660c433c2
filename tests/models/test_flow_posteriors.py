"""VAE_LinNF and VAE_IAF: config normalisation, the flow ELBO, its reduction to the VAE at
identity flows, the importance-sampled likelihood through the flow, and learning on MNIST."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tiny_model
from torch import nn

from gaekit.errors import ConfigError
from gaekit.flows import IAF, PlanarFlow, RadialFlow
from gaekit.models import VAE, VAE_IAF, StepContext, VAE_IAFConfig, VAE_LinNF, VAE_LinNFConfig, VAEConfig, _losses

FAMILY = ["VAE_LinNF", "VAE_IAF"]


def _batch(n=6, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _make_identity(model):
    """Set every posterior flow layer to the identity map."""
    with torch.no_grad():
        for layer in model.flow.layers:
            if isinstance(layer, PlanarFlow):
                layer.u.zero_()
                layer.w.zero_()
            elif isinstance(layer, RadialFlow):
                layer.beta_raw.copy_(layer.alpha_raw)  # beta = softplus(beta_raw) - softplus(alpha_raw) = 0
            else:  # an IAF block: zero output layer -> shift 0, log-scale 0
                layer.made.output_layer.weight.zero_()
                layer.made.output_layer.bias.zero_()
    return model


# -- configs -------------------------------------------------------------------------------
@pytest.mark.parametrize("given, expected", [
    ("PRP", ("Planar", "Radial", "Planar")),
    ("10P", ("Planar",) * 10),
    ("PRPRPRPPPR", tuple({"P": "Planar", "R": "Radial"}[c] for c in "PRPRPRPPPR")),
    ("2P3R", ("Planar", "Planar", "Radial", "Radial", "Radial")),
    ("Radial", ("Radial",)),
    (["Planar", "Radial", "Planar"], ("Planar", "Radial", "Planar")),
    ("", ()),
])
def test_linnf_flows_accept_names_and_the_grid_shorthand(given, expected):
    config = VAE_LinNFConfig(input_dim=(4,), flows=given)
    assert config.flows == expected
    assert len(VAE_LinNF(config).flow) == len(expected)


def test_linnf_config_json_round_trip_keeps_the_expanded_names(tmp_path):
    config = VAE_LinNFConfig(input_dim=(4,), flows="3P")
    config.to_json(tmp_path / "c.json")
    assert VAE_LinNFConfig.from_json(tmp_path / "c.json").flows == ("Planar",) * 3
    assert config.replace(flows="R").flows == ("Radial",)


@pytest.mark.parametrize("bad", ["PXP", "0P", "planar", ["Planar", "MAF"], 3])
def test_linnf_config_refuses_unknown_flows_listing_the_allowed_ones(bad):
    with pytest.raises(ConfigError, match=r"VAE_LinNFConfig\.flows=.*expected"):
        VAE_LinNFConfig(input_dim=(4,), flows=bad)
    if not isinstance(bad, int):
        with pytest.raises(ConfigError, match="Planar.*Radial"):
            VAE_LinNFConfig(input_dim=(4,), flows=bad)


@pytest.mark.parametrize("field, value", [("num_made_blocks", 0), ("num_made_hidden_layers", -1), ("hidden_size", 0)])
def test_iaf_config_validates_its_fields(field, value):
    with pytest.raises(ConfigError, match=f"{field}={value} is invalid"):
        VAE_IAFConfig(input_dim=(4,), **{field: value})
    defaults = VAE_IAFConfig(input_dim=(4,))
    assert (defaults.num_made_blocks, defaults.num_made_hidden_layers, defaults.hidden_size) == (2, 3, 128)


def test_iaf_model_builds_the_configured_stack():
    model = VAE_IAF(VAE_IAFConfig(input_dim=(4,), latent_dim=5, num_made_blocks=3, num_made_hidden_layers=2,
                                  hidden_size=7))
    assert isinstance(model.flow, IAF) and model.flow.dim == 5
    assert (model.flow.num_made_blocks, model.flow.num_made_hidden_layers, model.flow.hidden_size) == (3, 2, 7)


# -- the objective -------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAMILY)
def test_loss_is_reconstruction_plus_the_flow_kl_on_the_same_draw(name):
    model = tiny_model(name, **({"flows": "PRP"} if name == "VAE_LinNF" else {}))
    x = _batch()
    torch.manual_seed(7)
    out = model(x)
    torch.manual_seed(7)
    mean, log_var = model.posterior(x)
    z0 = _losses.reparameterize(mean, log_var)
    z, log_det = z0, torch.zeros(len(x))
    for layer in model.flow.layers:  # the flow applied layer by layer
        z, ld = layer(z)
        log_det = log_det + ld
    recon = _losses.reconstruction_loss(model.decode_logits(z), x, "mse", model.decode(z))
    kl = _losses.log_normal_diag(z0, mean, log_var) - log_det - _losses.log_normal_standard(z)
    torch.testing.assert_close(out.z, z)
    torch.testing.assert_close(out.recon_loss, recon.mean())
    torch.testing.assert_close(out.kl, kl.mean())
    torch.testing.assert_close(out.log_det, log_det.mean())
    torch.testing.assert_close(out.loss, (recon + kl).mean())
    assert out.log_det.abs() > 1e-4  # the flow is really applied
    out.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.flow.parameters())
    assert any(p.grad.abs().sum() > 0 for p in model.flow.parameters())


@pytest.mark.parametrize("name", FAMILY)
def test_identity_flows_reduce_to_the_vae_with_a_monte_carlo_kl(name):
    model = _make_identity(tiny_model(name, **({"flows": "PRP"} if name == "VAE_LinNF" else {})))
    vae = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3))
    vae.encoder.load_state_dict(model.encoder.state_dict())
    vae.decoder.load_state_dict(model.decoder.state_dict())
    x = _batch()
    torch.manual_seed(11)
    out = model(x)
    torch.manual_seed(11)
    mean, log_var = vae.posterior(x)
    z = _losses.reparameterize(mean, log_var)
    recon_x, recon = vae.reconstruction_terms(vae.decode_logits(z), x)
    mc_kl = _losses.log_normal_diag(z, mean, log_var) - vae.log_prior(z)
    assert torch.equal(out.z, z) and out.log_det == 0
    torch.testing.assert_close(out.recon_x, recon_x)
    torch.testing.assert_close(out.loss, (recon + mc_kl).mean())
    # and the importance weights / embeddings are the VAE's
    z_k = torch.randn(4, len(x), 3)
    torch.testing.assert_close(model.log_importance_weights(x, mean, log_var, z_k),
                               vae.log_importance_weights(x, mean, log_var, z_k))
    torch.testing.assert_close(model.embed(x), vae.embed(x))


@pytest.mark.parametrize("name", FAMILY)
def test_embeddings_are_the_flowed_posterior_mean(name):
    model = tiny_model(name)
    x = _batch(4)
    mean, _ = model.posterior(x)
    flowed, _ = model.flow(mean)
    torch.testing.assert_close(model.embed(x), flowed.detach())
    torch.testing.assert_close(model.reconstruct(x), model.decode(flowed).detach())
    assert not torch.allclose(flowed, mean)


# -- likelihood ----------------------------------------------------------------------------
def _linear_gaussian_model(cls, config, seed=0):
    """A model whose decoder is p(x|z) = N(Wz + b, I/2) with p(z) = N(0, I): log p(x) is exact."""
    g = torch.Generator().manual_seed(seed)
    decoder = nn.Linear(2, 4)
    with torch.no_grad():
        decoder.weight.copy_(1.5 * torch.randn(4, 2, generator=g))
        decoder.bias.copy_(0.1 * torch.randn(4, generator=g))
    torch.manual_seed(seed)
    model = cls(config, decoder=decoder)
    cov = decoder.weight @ decoder.weight.T + 0.5 * torch.eye(4)
    exact = torch.distributions.MultivariateNormal(decoder.bias, cov)
    return model, exact


@pytest.mark.parametrize("cls, config, scale", [
    (VAE_LinNF, VAE_LinNFConfig(input_dim=(4,), latent_dim=2, output_activation="identity", flows="PRPP"), 3.0),
    (VAE_IAF, VAE_IAFConfig(input_dim=(4,), latent_dim=2, output_activation="identity", hidden_size=8), 1.5),
])
def test_log_likelihood_through_the_flow_is_consistent_with_the_exact_marginal(cls, config, scale):
    model, exact = _linear_gaussian_model(cls, config)
    with torch.no_grad():  # a pronounced flow, so that a wrong q_K would show
        for p in model.flow.parameters():
            p.mul_(scale)
    torch.manual_seed(1)
    x = exact.sample((5,))
    estimate = model.log_likelihood(x, 20_000, chunk_size=5_000, generator=torch.Generator().manual_seed(2))
    truth = exact.log_prob(x)
    assert torch.isfinite(estimate).all()
    assert (estimate - truth).abs().max() < 0.1, (estimate, truth)  # seen: <= 0.07
    # the same draws weighted with the base density q(z_0|x) instead of q_K(z_K|x) are clearly off
    with torch.no_grad():
        mean, log_var = model.posterior(x)
        z0 = _losses.reparameterize(mean.expand(5_000, *mean.shape), log_var.expand(5_000, *log_var.shape),
                                    StepContext(generator=torch.Generator().manual_seed(2)))
        _, log_det = model.apply_flow(z0)
        wrong = torch.logsumexp(model.log_importance_weights(x, mean, log_var, z0) - log_det, 0) - math.log(5_000)
    assert (wrong - truth).abs().max() > 0.3  # seen: 1.7 (VAE_LinNF), 0.38 (VAE_IAF)


@pytest.mark.parametrize("name", FAMILY)
def test_importance_sampled_likelihood_is_above_the_elbo(name):
    model = tiny_model(name, reconstruction_loss="bce").eval()
    x = _batch(8)
    ll = model.log_likelihood(x, 200, generator=torch.Generator().manual_seed(0))
    assert ll.shape == (8,) and torch.isfinite(ll).all()
    with torch.no_grad():
        neg_elbo = []
        for seed in range(100):  # the training loss averaged over draws: the negative ELBO
            torch.manual_seed(seed)
            neg_elbo.append(model(x).loss)
        neg_elbo = torch.stack(neg_elbo).mean()
        mean, log_var = model.posterior(x)
        z0 = _losses.reparameterize(mean.expand(200, *mean.shape), log_var.expand(200, *log_var.shape),
                                    StepContext(generator=torch.Generator().manual_seed(0)))
        log_w = model.log_importance_weights(x, mean, log_var, z0)
    torch.testing.assert_close(-log_w.mean(), neg_elbo, rtol=0.02, atol=0.0)  # the weights match the loss
    assert ll.mean() >= -neg_elbo
    assert (ll >= log_w.mean(0)).all()  # Jensen on the same draws
