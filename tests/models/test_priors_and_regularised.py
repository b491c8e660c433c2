"""Maths of the prior and regularised family: MMD kernels and estimate, the VampPrior and its
sampler, InfoVAE_MMD and WAE_MMD objectives, RAE_L2 parameter groups, RAE_GP gradient penalty."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tiny_model
from torch import nn

from gaekit.errors import ConfigError
from gaekit.models import (
    VAMP,
    InfoVAE_MMDConfig,
    StepContext,
    VAMPConfig,
    WAE_MMDConfig,
    _losses,
)
from gaekit.nn import EncoderOutput
from gaekit.samplers import VAMPSampler

FAMILY = ["VAMP", "InfoVAE_MMD", "WAE_MMD", "RAE_L2", "RAE_GP"]


def _batch(n=6, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _kernels(latent_dim=3, bandwidth=1.0):
    c = 2 * latent_dim * bandwidth ** 2
    return {
        "imq": lambda a, b: _losses.imq_kernel(a, b, c),
        "rbf": lambda a, b: _losses.rbf_kernel(a, b, c),
    }


# ------------------------------------------------------------------------------ kernels / MMD
@pytest.mark.parametrize("kind", ["imq", "rbf"])
def test_kernels_are_symmetric_positive_and_match_their_formula(kind):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(4, 3, generator=g)
    c, scales = 2 * 3 * 0.7 ** 2, (0.5, 1.0, 3.0)
    fn = _losses.imq_kernel if kind == "imq" else _losses.rbf_kernel
    k_ab, k_ba = fn(a, b, c, scales), fn(b, a, c, scales)
    assert k_ab.shape == (5, 4)
    torch.testing.assert_close(k_ab, k_ba.T)
    assert (k_ab > 0).all()
    torch.testing.assert_close(fn(a, a, c, scales).diagonal(), torch.full((5,), float(len(scales))))
    d2 = ((a[1] - b[2]) ** 2).sum()
    expected = (sum(s * c / (s * c + d2) for s in scales) if kind == "imq"
                else sum(torch.exp(-d2 / (s * c)) for s in scales))
    torch.testing.assert_close(k_ab[1, 2], expected)


def test_mmd_unbiased_is_the_u_statistic():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(5, 2, generator=g), torch.randn(7, 2, generator=g) + 0.3
    k = _kernels(2)["imq"]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    xx = sum(kxx[i, j] for i in range(5) for j in range(5) if i != j) / (5 * 4)
    yy = sum(kyy[i, j] for i in range(7) for j in range(7) if i != j) / (7 * 6)
    torch.testing.assert_close(_losses.mmd_unbiased(x, y, k), xx + yy - 2 * kxy.mean())
    assert torch.isfinite(_losses.mmd_unbiased(x[:1], y[:1], k))  # one point: falls back, no NaN


@pytest.mark.parametrize("kind", ["imq", "rbf"])
def test_mmd_is_near_zero_for_one_distribution_and_grows_with_a_mean_shift(kind):
    g = torch.Generator().manual_seed(2)
    k = _kernels(2)[kind]
    x = torch.randn(400, 2, generator=g)
    values = [_losses.mmd_unbiased(x, torch.randn(400, 2, generator=g) + shift, k).item()
              for shift in (0.0, 0.5, 1.0, 2.0)]
    assert abs(values[0]) < 0.1 * values[1]
    assert values[0] < values[1] < values[2] < values[3]


def test_mmd_u_statistic_is_unbiased_where_the_v_statistic_is_not():
    g = torch.Generator().manual_seed(3)
    k = _kernels(2)["imq"]
    n, draws = 8, 2000
    x, y = torch.randn(draws, n, 2, generator=g), torch.randn(draws, n, 2, generator=g)
    u = torch.stack([_losses.mmd_unbiased(x[i], y[i], k) for i in range(draws)])
    v = torch.stack([k(x[i], x[i]).mean() + k(y[i], y[i]).mean() - 2 * k(x[i], y[i]).mean() for i in range(draws)])
    standard_error = u.std() / math.sqrt(draws)
    assert abs(u.mean()) < 3.5 * standard_error
    assert v.mean() > 10 * standard_error  # the biased estimate is positive on average


# ------------------------------------------------------------------------------------- VAMP
def test_vamp_log_prior_is_the_normalised_mixture_of_pseudo_input_posteriors():
    model = tiny_model("VAMP", num_components=5)
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        means, log_vars = model.posterior(model.pseudo_input_values())
        mixture = torch.distributions.MixtureSameFamily(
            torch.distributions.Categorical(logits=torch.zeros(5)),
            torch.distributions.Independent(torch.distributions.Normal(means, torch.exp(0.5 * log_vars)), 1),
        )
        torch.testing.assert_close(model.log_prior(z), mixture.log_prob(z))
        zk = z.expand(4, 7, 3)  # leading sample dimension, as in log_importance_weights
        torch.testing.assert_close(model.log_prior(zk), mixture.log_prob(zk))


def test_vamp_pseudo_inputs_are_a_hardtanh_layer_on_the_identity():
    model = tiny_model("VAMP", num_components=4)
    u = model.pseudo_input_values()
    assert u.shape == (4, 1, 8, 8)
    expected = nn.functional.hardtanh(model.pseudo_inputs(torch.eye(4)), 0.0, 1.0).view(4, 1, 8, 8)
    torch.testing.assert_close(u, expected)
    with torch.no_grad():
        model.pseudo_inputs.weight.mul_(10).sub_(3)
    assert model.pseudo_input_values().min() >= 0 and model.pseudo_input_values().max() <= 1


def test_vamp_warm_up_schedule_and_loss():
    model = tiny_model("VAMP", linear_scheduling_steps=4)
    weights = [model.kl_weight(StepContext(epoch=e)) for e in range(6)]
    assert weights == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert model.kl_weight(None) == 1.0
    assert model.kl_weight(StepContext(epoch=0, training=False)) == 1.0  # evaluation: the true ELBO
    assert tiny_model("VAMP", linear_scheduling_steps=0).kl_weight(StepContext(epoch=0)) == 1.0
    x = _batch()
    for epoch, w in ((1, 0.25), (9, 1.0)):
        torch.manual_seed(4)
        out = model(x, StepContext(epoch=epoch))
        torch.testing.assert_close(out.loss, out.recon_loss + w * out.kl)


def test_vamp_kl_is_the_monte_carlo_log_ratio_at_the_drawn_code():
    model = tiny_model("VAMP")
    x = _batch()
    torch.manual_seed(5)
    out = model(x)
    torch.manual_seed(5)
    mean, log_var = model.posterior(x)
    z = _losses.reparameterize(mean, log_var)
    torch.testing.assert_close(out.z, z)
    expected = (_losses.log_normal_diag(z, mean, log_var) - model.log_prior(z)).mean()
    torch.testing.assert_close(out.kl, expected)


def test_vamp_log_likelihood_uses_the_vamp_prior():
    model = tiny_model("VAMP")
    x = _batch(4)
    ll = model.log_likelihood(x, 20, generator=torch.Generator().manual_seed(0))
    assert ll.shape == (4,) and torch.isfinite(ll).all()
    with torch.no_grad():
        model.pseudo_inputs.weight.copy_(torch.rand_like(model.pseudo_inputs.weight))
    changed = model.log_likelihood(x, 20, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(ll, changed)


class _SharpEncoder(nn.Module):
    """Posterior mean = the first 2 pixels; a tiny fixed variance."""

    def forward(self, x):
        mean = x.flatten(1)[:, :2] * 4
        return EncoderOutput(embedding=mean, log_covariance=torch.full_like(mean, -16.0))


def test_vamp_prior_samples_come_from_the_mixture_components():
    torch.manual_seed(0)
    model = VAMP(VAMPConfig(input_dim=(1, 8, 8), latent_dim=2, num_components=3), encoder=_SharpEncoder())
    means, _ = model.prior_components()
    z = model.sample_prior(300, generator=torch.Generator().manual_seed(1))
    distance = torch.cdist(z, means.detach())
    assert distance.min(1).values.max() < 1e-2  # every code sits on a component mean
    counts = torch.bincount(distance.argmin(1), minlength=3)
    assert (counts > 60).all()  # components drawn uniformly
    torch.testing.assert_close(z, model.sample_prior(300, generator=torch.Generator().manual_seed(1)))


def test_vamp_sampler_shapes_determinism_and_accepted_models():
    model = tiny_model("VAMP")
    sampler = VAMPSampler(model)
    x, z = sampler.sample(5, seed=0, return_latents=True)
    assert x.shape == (5, 1, 8, 8) and z.shape == (5, 3)
    assert torch.equal(x, sampler.sample(5, seed=0))
    assert not torch.allclose(x, sampler.sample(5, seed=1))
    torch.testing.assert_close(z, model.sample_prior(5, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ConfigError, match="accepts: VAMP"):
        VAMPSampler(tiny_model("VAE"))


def test_vamp_config_is_validated():
    with pytest.raises(ConfigError, match="num_components"):
        VAMPConfig(input_dim=(4,), num_components=0)
    with pytest.raises(ConfigError, match="linear_scheduling_steps"):
        VAMPConfig(input_dim=(4,), linear_scheduling_steps=-1)


# ------------------------------------------------------------------------- InfoVAE / WAE
def _reproduce_mmd(model, x, seed, variational):
    """The MMD term of a forward pass seeded with ``seed``, recomputed from the same draws."""
    torch.manual_seed(seed)
    if variational:
        z = _losses.reparameterize(*model.posterior(x))
    else:
        z = model.encode(x).embedding
    return _losses.mmd_unbiased(z, torch.randn_like(z), model.mmd_kernel())


@pytest.mark.parametrize("alpha, lbd", [(0.0, 10.0), (0.5, 2.0), (-1.0, 0.1), (1.0, 0.0)])
def test_info_vae_weights_kl_and_mmd(alpha, lbd):
    model = tiny_model("InfoVAE_MMD", alpha=alpha, lbd=lbd)
    x = _batch()
    torch.manual_seed(6)
    out = model(x)
    torch.testing.assert_close(out.loss, out.recon_loss + (1 - alpha) * out.kl + (alpha + lbd - 1) * out.mmd)
    torch.testing.assert_close(out.mmd, _reproduce_mmd(model, x, 6, variational=True))
    mean, log_var = model.posterior(x)
    torch.testing.assert_close(out.kl, _losses.gaussian_kl(mean, log_var).mean())
    if alpha == 1.0 and lbd == 0.0:
        torch.testing.assert_close(out.loss, out.recon_loss)  # both KL and MMD removed


def test_wae_is_deterministic_and_composes_its_objective():
    model = tiny_model("WAE_MMD", reg_weight=3.0, reconstruction_loss_scale=0.5, kernel_choice="rbf")
    x = _batch()
    torch.manual_seed(7)
    out = model(x)
    torch.manual_seed(8)
    assert torch.equal(model(x).z, out.z)  # no noise in the code
    assert torch.equal(model.encode(x).embedding, out.z)
    torch.testing.assert_close(out.loss, 0.5 * out.recon_loss + 3.0 * out.mmd)
    torch.testing.assert_close(out.mmd, _reproduce_mmd(model, x, 7, variational=False))


def test_kernel_config_defaults_scales_and_validation():
    assert WAE_MMDConfig(input_dim=(4,)).kernel_scales() == (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
    assert InfoVAE_MMDConfig(input_dim=(4,), kernel_choice="rbf").kernel_scales() == (1.0,)
    config = WAE_MMDConfig(input_dim=(4,), kernel_choice="rbf", scales=(1.0, 2.0))
    assert config.kernel_scales() == (1.0, 2.0)
    assert WAE_MMDConfig.from_dict(config.to_dict()) == config
    x = _batch()
    one = tiny_model("WAE_MMD", kernel_choice="rbf")
    two = tiny_model("WAE_MMD", kernel_choice="rbf", scales=(1.0, 4.0))
    assert not torch.allclose(_reproduce_mmd(one, x, 0, False), _reproduce_mmd(two, x, 0, False))  # honoured
    for cls in (WAE_MMDConfig, InfoVAE_MMDConfig):
        for bad in ({"kernel_bandwidth": 0.0}, {"scales": ()}, {"scales": (1.0, -2.0)}, {"kernel_choice": "x"}):
            with pytest.raises(ConfigError, match=next(iter(bad))):
                cls(input_dim=(4,), **bad)
    with pytest.raises(ConfigError, match="alpha"):
        InfoVAE_MMDConfig(input_dim=(4,), alpha=1.5)
    with pytest.raises(ConfigError, match="lbd"):
        InfoVAE_MMDConfig(input_dim=(4,), lbd=-1.0)
    with pytest.raises(ConfigError, match="reg_weight"):
        WAE_MMDConfig(input_dim=(4,), reg_weight=-1.0)


# -------------------------------------------------------------------------------------- RAEs
def test_rae_l2_groups_get_exactly_the_gradient_of_their_own_loss():
    model = tiny_model("RAE_L2", embedding_weight=0.5, reg_weight=0.1)
    groups = model.parameter_groups()
    assert set(groups) == {"encoder", "decoder"}
    assert {id(p) for g in groups.values() for p in g} == {id(p) for p in model.parameters()}
    x = _batch()
    out = model(x)
    for i, (name, loss) in enumerate(out.group_losses.items()):  # what the trainer does
        loss.backward(inputs=groups[name], retain_graph=i == 0)
    z = model.encode(x).embedding
    recon_x, rec = model.reconstruction_terms(model.decode_logits(z), x)
    enc_params, dec_params = groups["encoder"], groups["decoder"]
    enc_ref = torch.autograd.grad(rec.mean() + 0.5 * _losses.half_squared_norm(z).mean(), enc_params,
                                  retain_graph=True)
    sq = sum(p.pow(2).sum() for p in dec_params)
    dec_ref = torch.autograd.grad(rec.mean() + 0.1 * sq, dec_params, retain_graph=True)
    dec_rec = torch.autograd.grad(rec.mean(), dec_params)
    for p, ref in zip(enc_params, enc_ref):
        torch.testing.assert_close(p.grad, ref)
    for p, ref, r, in zip(dec_params, dec_ref, dec_rec):
        torch.testing.assert_close(p.grad, ref)
        torch.testing.assert_close(p.grad, r + 2 * 0.1 * p.detach())  # coupled weight decay 2*lambda
    torch.testing.assert_close(out.loss, out.recon_loss + 0.5 * out.embedding_loss + 0.1 * out.decoder_l2)


def test_rae_l2_penalty_is_the_sum_of_squares_of_every_decoder_parameter_biases_included():
    model = tiny_model("RAE_L2")
    named = dict(model.decoder.named_parameters())
    assert any(n.endswith("bias") for n in named)
    expected = sum(float((p.detach().double() ** 2).sum()) for p in named.values())
    assert model(_batch()).decoder_l2.item() == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():
        for n, p in named.items():
            p.fill_(0.0 if n.endswith("weight") else 2.0)
    n_bias = sum(p.numel() for n, p in named.items() if n.endswith("bias"))
    assert model(_batch()).decoder_l2.item() == pytest.approx(4.0 * n_bias)


class _TinyDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 6))

    def forward(self, z):
        return self.net(z).view(-1, 1, 2, 3)


def _tiny_rae_gp(reg_weight=1.0, dtype=torch.float64):
    from gaekit.models import RAE_GP, RAE_GPConfig

    torch.manual_seed(0)
    model = RAE_GP(RAE_GPConfig(input_dim=(1, 2, 3), latent_dim=2, reg_weight=reg_weight), decoder=_TinyDecoder())
    return model.to(dtype)


def test_rae_gp_penalty_matches_jacobian_and_finite_differences():
    model = _tiny_rae_gp()
    z = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    gp = model.gradient_penalty(z)
    for b in range(4):
        jac = torch.autograd.functional.jacobian(lambda v: model.decode(v.unsqueeze(0)).flatten(), z[b].detach())
        torch.testing.assert_close(gp[b], jac.sum(0).pow(2).sum())  # ||J^T 1||^2
        h, total = 1e-6, (lambda v: model.decode(v.unsqueeze(0)).sum())
        fd = torch.stack([(total(z[b].detach() + h * e) - total(z[b].detach() - h * e)) / (2 * h)
                          for e in torch.eye(2, dtype=torch.float64)])
        torch.testing.assert_close(gp[b], fd.pow(2).sum(), rtol=1e-6, atol=1e-9)


def test_rae_gp_loss_grads_and_evaluation_value():
    model = _tiny_rae_gp(reg_weight=0.3, dtype=torch.float32)
    x = torch.rand(5, 1, 2, 3, generator=torch.Generator().manual_seed(2))
    out = model(x)
    torch.testing.assert_close(out.loss, out.recon_loss + 1e-3 * out.embedding_loss + 0.3 * out.gradient_penalty)
    z = model.encode(x).embedding.detach().requires_grad_(True)
    torch.testing.assert_close(out.gradient_penalty, model.gradient_penalty(z).mean())
    gp_grads = torch.autograd.grad(out.gradient_penalty, list(model.parameters()), retain_graph=True,
                                   allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in gp_grads)  # double back-propagation reaches weights
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    with torch.no_grad():  # evaluation: the same objective, no graph
        evaluated = model(x)
    assert not evaluated.loss.requires_grad
    torch.testing.assert_close(evaluated.gradient_penalty, out.gradient_penalty.detach())
