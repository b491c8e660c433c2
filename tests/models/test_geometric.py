"""Maths of the geometric models: the von Mises-Fisher distribution of the SVAE (Davidson et al. 2018,
arXiv:1804.00891), the Poincare ball and its wrapped normal (Mathieu et al. 2019, arXiv:1901.06033), and
the samplers of their priors."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tiny_model

from gaekit.errors import ConfigError
from gaekit.models import PoincareVAEConfig, SVAEConfig
from gaekit.models import _distributions as D
from gaekit.samplers import HypersphereUniformSampler, PoincareDiskSampler


def _unit(d: int, seed: int = 0) -> torch.Tensor:
    v = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return v / v.norm()


def _vmf(d: int, kappa: float, n: int, seed: int = 0) -> tuple[D.VonMisesFisher, torch.Tensor]:
    mu = _unit(d, seed)
    q = D.VonMisesFisher(mu.expand(n, d), torch.full((n, 1), kappa, dtype=torch.float64))
    return q, q.rsample(generator=torch.Generator().manual_seed(seed + 1))


# ------------------------------------------------------------------------------ Bessel functions
def test_log_bessel_and_ratio_match_scipy_and_their_derivatives():
    from scipy.special import iv

    k = torch.tensor([0.01, 0.5, 3.0, 40.0], dtype=torch.float64)
    for nu in (0.5, 1.0, 7.0):
        torch.testing.assert_close(D.log_bessel_iv(nu, k), torch.log(torch.from_numpy(iv(nu, k.numpy()))))
        ratio = torch.from_numpy(iv(nu + 1, k.numpy()) / iv(nu, k.numpy()))
        torch.testing.assert_close(D.bessel_ratio(nu, k), ratio)
        kg = k.clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda t, nu=nu: D.log_bessel_iv(nu, t), (kg,))
    for d in (3, 16):
        assert torch.autograd.gradcheck(lambda t, d=d: D.vmf_mean_resultant_length(d, t), (k.clone().requires_grad_(),))
        assert torch.autograd.gradcheck(lambda t, d=d: D.vmf_kl_to_uniform(d, t), (k.clone().requires_grad_(),))


def test_log_bessel_survives_underflow_and_overflow():
    k = torch.tensor([1e-3, 1e4, 1e6], dtype=torch.float64)
    out = D.log_bessel_iv(200.0, k)  # I_200(1e-3) underflows, I_200(1e6) overflows a float64
    assert torch.isfinite(out).all()
    assert out[1] == pytest.approx(1e4 - 0.5 * math.log(2 * math.pi * 1e4) - (4 * 200**2 - 1) / 8e4, rel=1e-5)


# ----------------------------------------------------------------------------- von Mises-Fisher
@pytest.mark.parametrize(("d", "kappa"), [(3, 1e-3), (3, 2.0), (5, 10.0), (16, 50.0), (3, 1e4)])
def test_vmf_samples_on_sphere_with_the_right_mean(d, kappa):
    n = 20_000
    q, z = _vmf(d, kappa, n)
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(n, dtype=torch.float64))
    mean = z.mean(0)
    a_d = float(D.vmf_mean_resultant_length(d, torch.tensor(kappa, dtype=torch.float64)))
    # E[mu^T z] = A_d(kappa): compare with the Monte-Carlo mean and its standard error
    proj = z @ q.loc[0]
    assert abs(proj.mean() - a_d) < 5 * proj.std() / math.sqrt(n) + 1e-9
    # the off-mean components average to zero; the mean resultant length is ||E z|| = A_d
    assert abs(mean.norm() - a_d) < 5 * math.sqrt(d) / math.sqrt(n)
    if a_d > 0.3:
        assert torch.dot(mean / mean.norm(), q.loc[0]) > 0.99


@pytest.mark.parametrize(("d", "kappa"), [(3, 0.5), (5, 10.0), (16, 50.0), (3, 1e4)])
def test_vmf_kl_to_uniform_matches_monte_carlo(d, kappa):
    n = 20_000
    q, z = _vmf(d, kappa, n, seed=3)
    log_ratio = q.log_prob(z) + D.log_sphere_area(d)
    kl = q.kl_to_uniform()[0]
    assert abs(log_ratio.mean() - kl) < 5 * log_ratio.std() / math.sqrt(n) + 1e-6
    assert kl >= 0


def test_vmf_density_integrates_to_one_on_s2():
    # importance sampling with the uniform as proposal: E_U[q(z)] |S^2| = 1
    n = 200_000
    z = D.sample_sphere_uniform((n,), 3, torch.Generator().manual_seed(0), torch.empty(0, dtype=torch.float64))
    q = D.VonMisesFisher(_unit(3).expand(n, 3), torch.full((n, 1), 3.0, dtype=torch.float64))
    total = (q.log_prob(z) + D.log_sphere_area(3)).exp().mean()
    assert total == pytest.approx(1.0, abs=0.02)


def test_vmf_no_nan_over_the_concentration_range():
    d = 8
    kappa = torch.logspace(-3, 4, 15).unsqueeze(-1).requires_grad_()
    loc = torch.randn(15, d, generator=torch.Generator().manual_seed(0)).requires_grad_()
    q = D.VonMisesFisher(loc / loc.norm(dim=-1, keepdim=True), kappa)
    z = q.rsample(generator=torch.Generator().manual_seed(1))
    target = torch.randn(15, d, generator=torch.Generator().manual_seed(2))
    kl = q.kl_to_uniform()
    (kl.sum() + (z * target).sum() + q.log_prob(z.detach()).sum()).backward()
    for t in (z, kl, q.log_prob(z), kappa.grad, loc.grad):
        assert torch.isfinite(t).all()
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(15))
    assert (kl[1:] >= kl[:-1]).all()  # the KL to the uniform grows with kappa


def test_vmf_refuses_non_finite_concentrations():
    q = D.VonMisesFisher(_unit(3).expand(2, 3), torch.tensor([[1.0], [float("nan")]], dtype=torch.float64))
    with pytest.raises(ValueError, match="finite concentrations"):
        q.rsample()


def test_vmf_sampler_is_reproducible_with_a_generator():
    q = D.VonMisesFisher(_unit(4).expand(5, 4), torch.full((5, 1), 2.0, dtype=torch.float64))
    a = q.rsample(3, torch.Generator().manual_seed(0))
    assert a.shape == (3, 5, 4)
    torch.testing.assert_close(a, q.rsample(3, torch.Generator().manual_seed(0)))


# -------------------------------------------------------------------------------- Poincare ball
@pytest.mark.parametrize("c", [0.5, 1.0, 2.0])
def test_poincare_exp_and_log_maps_are_inverse(c):
    g = torch.Generator().manual_seed(0)
    v = torch.randn(50, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(D.logmap0(D.expmap0(v, c), c), v)
    x = D.expmap0(0.5 * torch.randn(50, 3, generator=g, dtype=torch.float64), c)
    y = D.expmap0(0.5 * torch.randn(50, 3, generator=g, dtype=torch.float64), c)
    torch.testing.assert_close(D.expmap(x, D.logmap(x, y, c), c), y)
    # tangent vectors of Riemannian norm ~1 (a geodesic step of length ~1 from x)
    w = torch.randn(50, 3, generator=g, dtype=torch.float64) / D.conformal_factor(x, c)
    torch.testing.assert_close(D.logmap(x, D.expmap(x, w, c), c), w)
    # the geodesic distance is the Riemannian norm of the log map
    dist = D.poincare_distance(x, y, c)
    torch.testing.assert_close(dist, (D.conformal_factor(x, c) * D.logmap(x, y, c)).norm(dim=-1))
    torch.testing.assert_close(D.poincare_distance(torch.zeros_like(y), y, c),
                               2 * D.logmap0(y, c).norm(dim=-1))


@pytest.mark.parametrize("c", [0.5, 1.0, 2.0])
def test_wrapped_normal_samples_lie_inside_the_ball(c):
    loc = D.expmap0(torch.randn(10, 4, generator=torch.Generator().manual_seed(0)), c)
    q = D.WrappedNormal(loc, torch.full((10, 4), 2.0), c)
    z = q.rsample(500, torch.Generator().manual_seed(1))
    assert z.shape == (500, 10, 4)
    assert (z.norm(dim=-1) < 1 / math.sqrt(c)).all() and torch.isfinite(q.log_prob(z)).all()


@pytest.mark.parametrize(("c", "loc", "scale"), [(1.0, (0.0, 0.0), (0.5, 0.5)), (1.0, (0.3, -0.4), (0.4, 0.7)),
                                                 (2.0, (0.2, 0.1), (0.6, 0.3))])
def test_wrapped_normal_density_integrates_to_one_in_2d(c, loc, scale):
    # a polar grid over the disk of radius 1/sqrt(c); dz = lambda_z^2 dx (Riemannian volume)
    r_max = 1 / math.sqrt(c)
    n_r, n_t = 1500, 256
    r = (torch.arange(n_r, dtype=torch.float64) + 0.5) / n_r * r_max
    t = torch.arange(n_t, dtype=torch.float64) / n_t * 2 * math.pi
    rr, tt = torch.meshgrid(r, t, indexing="ij")
    z = torch.stack([rr * torch.cos(tt), rr * torch.sin(tt)], -1).reshape(-1, 2)
    q = D.WrappedNormal(torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64), c)
    density = (q.log_prob(z) + D.log_riemannian_volume(z, c)).exp()
    total = (density * rr.reshape(-1)).sum() * (r_max / n_r) * (2 * math.pi / n_t)
    assert total == pytest.approx(1.0, abs=0.01)


def test_wrapped_normal_log_prob_matches_sampling_histogram():
    # P(d(mu, z) < s) for the isotropic wrapped normal equals P(||u|| < s), u ~ N(0, sigma^2 I)
    q = D.WrappedNormal(torch.tensor([0.2, 0.3], dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), 1.0)
    z = q.rsample(20_000, torch.Generator().manual_seed(0))
    dist = D.poincare_distance(q.loc, z, 1.0)
    assert (dist < 0.5).double().mean() == pytest.approx(1 - math.exp(-0.5), abs=0.015)


# ----------------------------------------------------------------------------------------- models
def test_svae_posterior_is_on_the_sphere_and_kl_is_closed_form():
    model = tiny_model("SVAE")
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = model(x)
    torch.testing.assert_close(out.z.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(model.embed(x).norm(dim=-1), torch.ones(5))
    mu, kappa = model.posterior(x)
    torch.testing.assert_close(out.kl, D.vmf_kl_to_uniform(3, kappa).mean())
    torch.testing.assert_close(model.sample_prior(4).norm(dim=-1), torch.ones(4))
    assert torch.isfinite(model.log_likelihood(x, 10, generator=torch.Generator().manual_seed(0))).all()


def test_svae_and_poincare_configs_are_checked():
    with pytest.raises(ConfigError, match="latent_dim"):
        SVAEConfig(input_dim=(1, 8, 8), latent_dim=1)
    with pytest.raises(ConfigError, match="curvature"):
        PoincareVAEConfig(input_dim=(1, 8, 8), curvature=0.0)
    for field in ("prior_distribution", "posterior_distribution"):
        with pytest.raises(ConfigError, match="not implemented yet"):
            PoincareVAEConfig(input_dim=(1, 8, 8), **{field: "riemannian_normal"})


def test_poincare_vae_codes_lie_in_the_ball():
    model = tiny_model("PoincareVAE", curvature=2.0)
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = model(x)
    radius = 1 / math.sqrt(2.0)
    assert (out.z.norm(dim=-1) < radius).all() and (model.embed(x).norm(dim=-1) < radius).all()
    assert (model.sample_prior(100).norm(dim=-1) < radius).all()
    mean, log_var = model.posterior(x)
    q = D.WrappedNormal(mean, torch.exp(0.5 * log_var), 2.0)
    assert torch.isfinite(model.log_likelihood(x, 10, generator=torch.Generator().manual_seed(0))).all()
    assert torch.isfinite(q.log_prob(out.z)).all()


# --------------------------------------------------------------------------------------- samplers
@pytest.mark.parametrize(("sampler_cls", "model_name", "wrong"), [
    (HypersphereUniformSampler, "SVAE", "PoincareVAE"), (PoincareDiskSampler, "PoincareVAE", "SVAE")])
def test_samplers_draw_from_the_prior_and_refuse_other_models(sampler_cls, model_name, wrong):
    model = tiny_model(model_name)
    x, z = sampler_cls(model).sample(64, seed=0, return_latents=True)
    assert x.shape == (64, 1, 8, 8) and z.shape == (64, 3)
    assert torch.isfinite(x).all() and torch.isfinite(z).all()
    if model_name == "SVAE":
        torch.testing.assert_close(z.norm(dim=-1), torch.ones(64))
    else:
        assert (z.norm(dim=-1) < 1).all()
    for other in (wrong, "VAE"):
        with pytest.raises(ConfigError, match=f"cannot be used with a {other} model; it accepts: {model_name}"):
            sampler_cls(tiny_model(other))
