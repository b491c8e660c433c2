"""Maths of the geometric models: the von Mises-Fisher distribution of the SVAE (Davidson et al. 2018,
arXiv:1804.00891), the Poincare ball and its wrapped normal (Mathieu et al. 2019, arXiv:1901.06033), and
the samplers of their priors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import tiny_model

from gaekit import distributions as D
from gaekit import manifolds as M
from gaekit.errors import ConfigError
from gaekit.models import AutoModel, PoincareVAE, PoincareVAEConfig, SVAEConfig
from gaekit.nn import MLPDecoder
from gaekit.nn.gyroplane import GyroplaneLayer
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
    log_ratio = q.log_prob(z) + M.log_sphere_area(d)
    kl = q.kl_to_uniform()[0]
    assert abs(log_ratio.mean() - kl) < 5 * log_ratio.std() / math.sqrt(n) + 1e-6
    assert kl >= 0


def test_vmf_density_integrates_to_one_on_s2():
    # importance sampling with the uniform as proposal: E_U[q(z)] |S^2| = 1
    n = 200_000
    z = D.sample_sphere_uniform((n,), 3, torch.Generator().manual_seed(0), torch.empty(0, dtype=torch.float64))
    q = D.VonMisesFisher(_unit(3).expand(n, 3), torch.full((n, 1), 3.0, dtype=torch.float64))
    total = (q.log_prob(z) + M.log_sphere_area(3)).exp().mean()
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


def _integral_over_disk(q, c: float) -> float:
    """``int q(z) dvol(z)`` over the disk of radius 1/sqrt(c) on a polar grid; dvol = lambda_z^2 dx."""
    r_max = 1 / math.sqrt(c)
    n_r, n_t = 1500, 256
    r = (torch.arange(n_r, dtype=torch.float64) + 0.5) / n_r * r_max
    t = torch.arange(n_t, dtype=torch.float64) / n_t * 2 * math.pi
    rr, tt = torch.meshgrid(r, t, indexing="ij")
    z = torch.stack([rr * torch.cos(tt), rr * torch.sin(tt)], -1).reshape(-1, 2)
    density = (q.log_prob(z) + M.log_riemannian_volume(z, c)).exp()
    return float((density * rr.reshape(-1)).sum() * (r_max / n_r) * (2 * math.pi / n_t))


# -------------------------------------------------------------------------------- Poincare ball
@pytest.mark.parametrize("c", [0.5, 1.0, 2.0])
def test_poincare_exp_and_log_maps_are_inverse(c):
    g = torch.Generator().manual_seed(0)
    v = torch.randn(50, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(M.logmap0(M.expmap0(v, c), c), v)
    x = M.expmap0(0.5 * torch.randn(50, 3, generator=g, dtype=torch.float64), c)
    y = M.expmap0(0.5 * torch.randn(50, 3, generator=g, dtype=torch.float64), c)
    torch.testing.assert_close(M.expmap(x, M.logmap(x, y, c), c), y)
    # tangent vectors of Riemannian norm ~1 (a geodesic step of length ~1 from x)
    w = torch.randn(50, 3, generator=g, dtype=torch.float64) / M.conformal_factor(x, c)
    torch.testing.assert_close(M.logmap(x, M.expmap(x, w, c), c), w)
    # the geodesic distance is the Riemannian norm of the log map
    dist = M.poincare_distance(x, y, c)
    torch.testing.assert_close(dist, (M.conformal_factor(x, c) * M.logmap(x, y, c)).norm(dim=-1))
    torch.testing.assert_close(M.poincare_distance(torch.zeros_like(y), y, c),
                               2 * M.logmap0(y, c).norm(dim=-1))


@pytest.mark.parametrize("c", [0.5, 1.0, 2.0])
def test_wrapped_normal_samples_lie_inside_the_ball(c):
    loc = M.expmap0(torch.randn(10, 4, generator=torch.Generator().manual_seed(0)), c)
    q = D.WrappedNormal(loc, torch.full((10, 4), 2.0), c)
    z = q.rsample(500, torch.Generator().manual_seed(1))
    assert z.shape == (500, 10, 4)
    assert (z.norm(dim=-1) < 1 / math.sqrt(c)).all() and torch.isfinite(q.log_prob(z)).all()


@pytest.mark.parametrize(("c", "loc", "scale"), [(1.0, (0.0, 0.0), (0.5, 0.5)), (1.0, (0.3, -0.4), (0.4, 0.7)),
                                                 (2.0, (0.2, 0.1), (0.6, 0.3))])
def test_wrapped_normal_density_integrates_to_one_in_2d(c, loc, scale):
    q = D.WrappedNormal(torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64), c)
    assert _integral_over_disk(q, c) == pytest.approx(1.0, abs=0.01)


def test_wrapped_normal_log_prob_matches_sampling_histogram():
    # P(d(mu, z) < s) for the isotropic wrapped normal equals P(||u|| < s), u ~ N(0, sigma^2 I)
    q = D.WrappedNormal(torch.tensor([0.2, 0.3], dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), 1.0)
    z = q.rsample(20_000, torch.Generator().manual_seed(0))
    dist = M.poincare_distance(q.loc, z, 1.0)
    assert (dist < 0.5).double().mean() == pytest.approx(1 - math.exp(-0.5), abs=0.015)


# ------------------------------------------------------------------- Riemannian normal on the ball
def _log_radial(r: np.ndarray, sigma: float, c: float, d: int) -> np.ndarray:
    """log of the radial density ``exp(-r^2 / (2 sigma^2)) (sinh(sqrt(c) r) / sqrt(c))^(d-1)``, written out."""
    sc = math.sqrt(c)
    log_sinh = sc * r + np.log1p(-np.exp(-2 * sc * r)) - math.log(2)
    return -r * r / (2 * sigma**2) + (d - 1) * (log_sinh - math.log(sc))


def _radial_support(sigma: float, c: float, d: int) -> tuple[float, float]:
    """(mode, an upper end beyond which the radial density is negligible)."""
    mode = sigma * ((d - 1) * sigma * math.sqrt(c) + math.sqrt(d - 1))
    return mode, mode + 14 * sigma


def _radial_cdf(r: np.ndarray, sigma: float, c: float, d: int) -> np.ndarray:
    """P(d_c(mu, z) <= r) for the Riemannian normal, by integrating the radial density numerically."""
    from scipy.integrate import cumulative_trapezoid

    grid = np.linspace(1e-9, _radial_support(sigma, c, d)[1], 20_001)
    log_p = _log_radial(grid, sigma, c, d)
    cdf = cumulative_trapezoid(np.exp(log_p - log_p.max()), grid, initial=0)
    return np.interp(r, grid, cdf / cdf[-1])


def _ks_distance(samples: torch.Tensor, cdf) -> float:
    x = np.sort(samples.detach().double().numpy())
    n = len(x)
    ref = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - ref), np.max(ref - np.arange(n) / n)))


@pytest.mark.parametrize(("c", "loc", "sigma"), [(1.0, (0.0, 0.0), 0.5), (1.0, (0.3, -0.4), 0.8),
                                                 (2.0, (0.2, 0.1), 0.4), (0.5, (-0.6, 0.5), 1.0)])
def test_riemannian_normal_density_integrates_to_one_in_2d(c, loc, sigma):
    q = D.RiemannianNormal(torch.tensor(loc, dtype=torch.float64), torch.tensor(sigma, dtype=torch.float64), c)
    assert _integral_over_disk(q, c) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("d", [2, 3, 5, 17])
def test_riemannian_normal_normalizer_matches_quadrature(d):
    from scipy.integrate import quad

    for c in (0.5, 1.0, 2.0):
        # small and large sigma: both sides of the series / closed-form switch
        for sigma in (0.02, 0.2, 0.6, 1.5):
            mode, top = _radial_support(sigma, c, d)
            shift = float(_log_radial(np.array(max(mode, 1e-3)), sigma, c, d))
            value, _ = quad(lambda r, s=sigma, c=c, sh=shift: math.exp(float(_log_radial(np.array(r), s, c, d)) - sh),
                            1e-12, top, points=[mode], limit=200, epsabs=0, epsrel=1e-11)
            expected = M.log_sphere_area(d) + math.log(value) + shift
            got = D.riemannian_normal_log_normalizer(d, c, torch.tensor(sigma, dtype=torch.float64))
            assert float(got) == pytest.approx(expected, abs=1e-7), (c, sigma)


def test_riemannian_normal_normalizer_is_smooth_and_differentiable():
    sigma = torch.tensor([0.005, 0.05, 0.3, 0.37, 0.38, 1.0, 4.0], dtype=torch.float64, requires_grad=True)
    for d in (2, 5, 17, 64):
        assert torch.autograd.gradcheck(lambda t, d=d: D.riemannian_normal_log_normalizer(d, 1.0, t), (sigma,))
        # log Z grows with sigma, also across the switch (at sigma = 1.5 / sqrt(d - 1) for c = 1)
        grid = torch.linspace(0.01, 3.0, 600, dtype=torch.float64)
        log_z = D.riemannian_normal_log_normalizer(d, 1.0, grid)
        assert torch.isfinite(log_z).all() and (log_z[1:] > log_z[:-1]).all()


@pytest.mark.parametrize(("c", "d", "sigma"), [(1.0, 2, 0.5), (2.0, 3, 0.9), (0.5, 5, 0.3), (1.0, 10, 1.2)])
def test_riemannian_normal_samples_match_the_radial_law(c, d, sigma):
    n = 20_000
    loc = M.expmap0(torch.full((d,), 0.3, dtype=torch.float64), c)
    q = D.RiemannianNormal(loc, torch.tensor(sigma, dtype=torch.float64), c)
    z = q.rsample(n, torch.Generator().manual_seed(0))
    assert z.shape == (n, d) and (z.norm(dim=-1) < 1 / math.sqrt(c)).all()
    # the geodesic distance to the mean follows the radial density (KS distance below its 1% level)
    dist = M.poincare_distance(loc, z, c)
    assert _ks_distance(dist, lambda r: _radial_cdf(r, sigma, c, d)) < 1.63 / math.sqrt(n)
    # and the direction is isotropic: the tangent vectors at the mean average to zero
    u = M.conformal_factor(loc, c) * M.logmap(loc, z, c)
    assert (u.mean(0).abs() < 5 * u.std(0) / math.sqrt(n)).all()
    assert torch.isfinite(q.log_prob(z)).all()


def test_riemannian_normal_rsample_gradients_are_finite_and_unbiased():
    # finite gradients w.r.t. mu and sigma over a wide range of scales, in float32
    loc = M.expmap0(0.5 * torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), 1.0).requires_grad_()
    sigma = torch.tensor([1e-3, 0.05, 0.3, 1.0, 3.0, 8.0]).requires_grad_()
    q = D.RiemannianNormal(loc, sigma, 1.0)
    z = q.rsample(5, torch.Generator().manual_seed(1))
    (z.sum() + q.log_prob(z).sum()).backward()
    assert torch.isfinite(z).all() and torch.isfinite(loc.grad).all() and torch.isfinite(sigma.grad).all()
    assert (loc.grad.abs().sum(-1) > 0).all() and (sigma.grad != 0).all()
    # d/dsigma E[d_c(mu, z)^2] from the reparameterised samples equals the derivative of the quadrature value
    from scipy.integrate import quad

    c, d, s0, n = 2.0, 3, 0.6, 20_000

    def second_moment(s: float) -> float:
        top = _radial_support(s, c, d)[1]
        def dens(r, k):
            return r**k * math.exp(float(_log_radial(np.array(r), s, c, d)))
        return quad(dens, 1e-12, top, args=(2,), epsrel=1e-12)[0] / quad(dens, 1e-12, top, args=(0,), epsrel=1e-12)[0]

    h = 1e-4
    expected = (second_moment(s0 + h) - second_moment(s0 - h)) / (2 * h)
    sigmas = torch.full((n,), s0, dtype=torch.float64, requires_grad=True)
    loc = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64).expand(n, d)
    z = D.RiemannianNormal(loc, sigmas, c).rsample(generator=torch.Generator().manual_seed(2))
    (per_sample,) = torch.autograd.grad(M.poincare_distance(loc, z, c).pow(2).sum(), sigmas)
    assert abs(per_sample.mean() - expected) < 5 * per_sample.std() / math.sqrt(n)


def test_riemannian_normal_sampler_is_reproducible_with_a_generator():
    q = D.RiemannianNormal(torch.zeros(5, 3), torch.full((5, 1), 0.7), 1.0)
    a = q.rsample(4, torch.Generator().manual_seed(0))
    assert a.shape == (4, 5, 3)
    torch.testing.assert_close(a, q.rsample(4, torch.Generator().manual_seed(0)))
    assert not torch.equal(a, q.rsample(4, torch.Generator().manual_seed(1)))


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
    for field in ("prior_distribution", "posterior_distribution", "decoder_first_layer"):
        with pytest.raises(ConfigError, match=field):
            PoincareVAEConfig(input_dim=(1, 8, 8), **{field: "student_t"})


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


DISTRIBUTIONS = ("wrapped_normal", "riemannian_normal")


@pytest.mark.parametrize("prior", DISTRIBUTIONS)
@pytest.mark.parametrize("posterior", DISTRIBUTIONS)
def test_poincare_vae_trains_with_every_prior_and_posterior(prior, posterior):
    model = tiny_model("PoincareVAE", curvature=1.5, prior_distribution=prior, posterior_distribution=posterior)
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = model(x)
    expected = {"wrapped_normal": D.WrappedNormal, "riemannian_normal": D.RiemannianNormal}
    assert isinstance(model.posterior_distribution(x), expected[posterior])
    assert isinstance(model.prior(), expected[prior])
    torch.testing.assert_close(out.kl, (model.posterior_distribution(x).log_prob(out.z)
                                        - model.prior().log_prob(out.z)).mean())
    out.loss.backward()
    for name, p in model.named_parameters():  # the scale head is reached through the sampled radius too
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    before = [p.detach().clone() for p in model.parameters()]
    torch.optim.Adam(model.parameters(), lr=1e-3).step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert torch.isfinite(model(x).loss)
    assert torch.isfinite(model.log_likelihood(x, 10, generator=torch.Generator().manual_seed(0))).all()


def test_poincare_vae_riemannian_posterior_scale_is_the_geometric_mean():
    model = tiny_model("PoincareVAE", posterior_distribution="riemannian_normal")
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    q = model.posterior_distribution(x)
    mean, log_var = model.posterior(x)
    torch.testing.assert_close(q.loc, mean)
    torch.testing.assert_close(q.scale, torch.exp(0.5 * log_var).prod(-1) ** (1 / 3))


# ------------------------------------------------------------------------------ gyroplane layer
def _np_mobius_add(x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    xy, x2, y2 = x @ y, x @ x, y @ y
    return ((1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y) / (1 + 2 * c * xy + c * c * x2 * y2)


def _np_distance(x: np.ndarray, y: np.ndarray, c: float) -> float:
    return 2 / math.sqrt(c) * math.atanh(math.sqrt(c) * np.linalg.norm(_np_mobius_add(-x, y, c)))


@pytest.mark.parametrize(("c", "d"), [(1.0, 2), (0.5, 2), (2.0, 4)])
def test_gyroplane_distance_matches_brute_force(c, d):
    from scipy.optimize import minimize

    torch.manual_seed(0)
    layer = GyroplaneLayer(d, 3, c).double()
    with torch.no_grad():
        layer.bias.normal_(0, 0.5)
        z = M.expmap0(torch.randn(4, d, dtype=torch.float64), c)
        signed, out, points = layer.signed_distance(z).numpy(), layer(z).numpy(), layer.points().numpy()
    weight = layer.weight.detach().numpy()
    for k in range(3):
        p = points[k]
        lam_p = 2 / (1 - c * p @ p)
        normal = 2 / lam_p * weight[k]  # a_k = P_{0 -> p}(w_k) = (lambda_0 / lambda_p) w_k
        basis = np.linalg.svd(normal[None])[2][1:]  # orthonormal basis of the complement of a_k
        for i, zi in enumerate(z.numpy()):
            # the gyroplane is {p (+) v : v orthogonal to a_k, ||v|| < 1/sqrt(c)}; v = tanh-squashed coords
            def dist(coords, p=p, basis=basis, zi=zi):
                v = coords @ basis
                v = np.tanh(math.sqrt(c) * np.linalg.norm(v)) * v / (math.sqrt(c) * max(np.linalg.norm(v), 1e-300))
                return _np_distance(zi, _np_mobius_add(p, v, c), c)

            best = min(minimize(dist, np.full(d - 1, start), method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000}).fun for start in (0, 0.7))
            side = np.sign(_np_mobius_add(-p, zi, c) @ normal)
            assert signed[i, k] == pytest.approx(side * best, abs=1e-6)
            # the unit's output: the distance scaled by ||a_k||_p = lambda_p ||a_k||
            assert out[i, k] == pytest.approx(lam_p * np.linalg.norm(normal) * side * best, abs=1e-5)


def test_poincare_vae_gyroplane_decoder_trains_saves_and_loads(tmp_path):
    model = tiny_model("PoincareVAE", curvature=2.0, decoder_first_layer="gyroplane",
                       posterior_distribution="riemannian_normal")
    assert isinstance(model.decoder, MLPDecoder) and isinstance(model.decoder.body[0], GyroplaneLayer)
    assert model.decoder.body[0].c == 2.0
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    model(x).loss.backward()
    layer = model.decoder.body[0]
    assert torch.isfinite(layer.weight.grad).all() and layer.bias.grad.abs().sum() > 0
    torch.optim.Adam(model.parameters(), lr=1e-2).step()
    model.save(tmp_path / "pvae")
    for loaded in (AutoModel.load_from_folder(tmp_path / "pvae"), PoincareVAE.load_from_folder(tmp_path / "pvae")):
        assert loaded.model_config.decoder_first_layer == "gyroplane"
        assert isinstance(loaded.decoder.body[0], GyroplaneLayer)
        torch.testing.assert_close(loaded.reconstruct(x), model.reconstruct(x), rtol=0, atol=0)
    # a linear-decoder model does not take these weights
    linear = tiny_model("PoincareVAE", curvature=2.0, posterior_distribution="riemannian_normal")
    with pytest.raises(Exception, match="wrong shape"):
        linear.load_weights(model.state_dict())


def test_poincare_vae_gyroplane_needs_the_default_decoder():
    config = PoincareVAEConfig(input_dim=(1, 8, 8), latent_dim=3, decoder_first_layer="gyroplane")
    with pytest.raises(ConfigError, match="default decoder only"):
        PoincareVAE(config, decoder=MLPDecoder((1, 8, 8), 3))


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


@pytest.mark.parametrize("prior", DISTRIBUTIONS)
def test_poincare_sampler_draws_from_the_prior_of_either_type(prior):
    from scipy.stats import chi2

    model = tiny_model("PoincareVAE", prior_distribution=prior, prior_scale=0.8)
    n = 4000
    _, z = PoincareDiskSampler(model).sample(n, seed=0, return_latents=True)
    assert (z.norm(dim=-1) < 1).all()
    radius = M.poincare_distance(torch.zeros(3), z, 1.0)
    laws = {"wrapped_normal": lambda r: chi2.cdf((r / 0.8) ** 2, 3),  # d(0, z) = ||u||, u ~ N(0, 0.8^2 I)
            "riemannian_normal": lambda r: _radial_cdf(r, 0.8, 1.0, 3)}
    other = next(k for k in laws if k != prior)
    assert _ks_distance(radius, laws[prior]) < 1.63 / math.sqrt(n)
    assert _ks_distance(radius, laws[other]) > 3 / math.sqrt(n)  # the two priors are told apart


@pytest.mark.parametrize("link", ["exp", "softplus_plus_one"])
def test_svae_concentration_link_maps_the_encoder_output_as_named(link):
    """``concentration_link``: kappa = exp(h) (gaekit's) or softplus(h) + 1 (the authors' code and Pythae's),
    clamped to [kappa_min, kappa_max]; a link that is neither is refused by name."""
    torch.manual_seed(0)
    model = tiny_model("SVAE", concentration_link=link, kappa_max=50.0)
    x = torch.rand(6, *model.input_dim)
    h = model.encode(x).log_concentration
    _, kappa = model.posterior(x)
    expected = h.exp() if link == "exp" else torch.nn.functional.softplus(h) + 1
    assert torch.allclose(kappa, expected.clamp(1e-3, 50.0))
    if link == "softplus_plus_one":
        assert bool((kappa >= 1).all())
    with pytest.raises(ConfigError, match="concentration_link"):
        SVAEConfig(input_dim=(1, 8, 8), latent_dim=3, concentration_link="sigmoid")
