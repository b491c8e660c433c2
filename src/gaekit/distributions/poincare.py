"""Distributions on the Poincare ball ``B^d_c``: the wrapped normal and the Riemannian normal.

Mathieu et al. 2019, "Continuous Hierarchical Representations with Poincare Variational Auto-Encoders",
arXiv:1901.06033, Sec. 3 and App. B: the wrapped normal ``N^W(mu, Sigma)`` and the Riemannian normal
``N_R(mu, sigma^2)`` (closed-form normaliser, exact polar sampling, implicit reparameterisation of the
radius, Figurnov et al. 2018). The ball's maps are in ``gaekit.manifolds``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

from gaekit.distributions._tensor import _back, _rand, _randn
from gaekit.distributions.hypersphere import sample_sphere_uniform
from gaekit.manifolds import MIN_NORM, conformal_factor, expmap, log_sphere_area, logmap, poincare_distance

__all__ = ["RiemannianNormal", "WrappedNormal", "riemannian_normal_log_normalizer"]


class WrappedNormal:
    """Wrapped normal ``N^W(loc, diag(scale^2))`` on the Poincare ball of curvature ``-c``
    (Mathieu et al. 2019, Sec. 3).

    ``z = exp_mu(u / lambda_mu)`` with ``u ~ N(0, diag(scale^2))`` in the tangent space at the origin,
    carried to ``mu`` by parallel transport (``P_{0->mu}(u) = (lambda_0 / lambda_mu) u``), so that
    ``||u|| = d_c(mu, z)``. Density w.r.t. the Riemannian volume (the Jacobian of the exponential map):
    ``log N^W(z) = log N(u; 0, diag(scale^2)) + (d-1) log(sqrt(c) r / sinh(sqrt(c) r))``, ``r = d_c(mu, z)``,
    ``u = lambda_mu log_mu(z)``.

    Parameters
    ----------
    loc : Tensor
        ``(..., d)`` points inside the ball.
    scale : Tensor
        ``(..., d)`` (or broadcastable) positive standard deviations.
    c : float
        Curvature magnitude (ball radius ``1/sqrt(c)``).
    """

    def __init__(self, loc: Tensor, scale: Tensor, c: float):
        self.loc = loc
        self.scale = scale.expand_as(loc) if scale.dim() else scale * torch.ones_like(loc)
        self.c = float(c)
        self.dim = loc.shape[-1]

    def rsample(self, num_samples: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Samples ``(*loc.shape)`` or ``(num_samples, *loc.shape)``, reparameterised in loc and scale."""
        shape = self.loc.shape if num_samples is None else (num_samples, *self.loc.shape)
        u = self.scale * _randn(shape, generator, self.loc)
        return expmap(self.loc, u / conformal_factor(self.loc, self.c), self.c)

    def log_prob(self, z: Tensor) -> Tensor:
        """Log-density w.r.t. the Riemannian volume of the ball, shape ``z.shape[:-1]``."""
        u = conformal_factor(self.loc, self.c) * logmap(self.loc, z, self.c)
        log_normal = -0.5 * ((u / self.scale).pow(2) + 2 * torch.log(self.scale) + math.log(2 * math.pi)).sum(-1)
        r = math.sqrt(self.c) * u.norm(dim=-1)
        return log_normal + (self.dim - 1) * _log_x_over_sinh(r)


def _log_x_over_sinh(r: Tensor) -> Tensor:
    """``log(r / sinh(r))``, stable for small and large ``r``."""
    r = r.clamp_min(1e-6)
    # log sinh r = r + log(1 - exp(-2r)) - log 2
    return torch.log(r) - (r + torch.log(-torch.expm1(-2 * r)) - math.log(2))


# -- the Riemannian normal on the Poincare ball -------------------------------------------------------
# The radial integral J_m(s) = int_0^inf exp(-t^2/2) (sinh(s t)/s)^m dt, m = d - 1, s = sqrt(c) sigma,
# gives the normaliser; it is evaluated by its power series below this value of s sqrt(m) and by the
# closed-form binomial sum above it (each is accurate to ~1e-13 in float64 on its side, d <= 128).
_SERIES_BELOW = 1.5


@functools.cache
def _radial_series(m: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(2n, log a_n)`` with ``J_m(s) = sum_n a_n s^{2n}``: ``a_n = b_n M_{m+2n}``, ``b_n`` the coefficient
    of ``x^{2n}`` in ``(sinh(x)/x)^m`` (an exact integer sum) and ``M_p = int_0^inf t^p e^{-t^2/2} dt``."""
    powers, logs = [], []
    for n in range(2 * m + 60):
        p = m + 2 * n
        exact = sum((-1) ** k * math.comb(m, k) * (m - 2 * k) ** p for k in range(m + 1))  # (m+2n)! 2^m b_n
        if exact:
            log_b = math.log(exact) - m * math.log(2) - math.lgamma(p + 1)
            powers.append(2.0 * n)
            logs.append(log_b + (p - 1) / 2 * math.log(2) + math.lgamma((p + 1) / 2))
    return tuple(powers), tuple(logs)


def _log_radial_integral_series(m: int, s: Tensor) -> Tensor:
    powers, logs = (torch.tensor(v, dtype=s.dtype, device=s.device) for v in _radial_series(m))
    return torch.logsumexp(logs + powers * torch.log(s.clamp_min(1e-300)).unsqueeze(-1), dim=-1)


def _log_radial_integral_closed(m: int, s: Tensor) -> Tensor:
    """``log J_m(s)`` from ``sinh^m`` as a binomial sum of exponentials, terms ``k`` and ``m - k`` paired:
    ``J_m = sqrt(2 pi) (2 s)^{-m} [sum_{j = m - 2k > 0} (-1)^k C(m, k) e^{j^2 s^2 / 2} erf(j s / sqrt 2)]``
    for odd ``m``; for even ``m`` the ``erf`` is 1 and the middle term ``(-1)^{m/2} C(m, m/2) / 2`` is added.
    Summed in log space with signs (large ``s`` never overflows)."""
    ks = [k for k in range(m + 1) if m - 2 * k > 0]
    j = torch.tensor([m - 2 * k for k in ks], dtype=s.dtype, device=s.device)
    log_terms = [math.log(math.comb(m, k)) for k in ks]
    signs = [(-1.0) ** k for k in ks]
    x = j * s.unsqueeze(-1)
    logs = torch.tensor(log_terms, dtype=s.dtype, device=s.device) + x * x / 2
    if m % 2:
        logs = logs + torch.log(torch.erf(x / math.sqrt(2)))
    else:
        middle = torch.full_like(s, math.log(math.comb(m, m // 2) / 2)).unsqueeze(-1)
        logs = torch.cat([logs, middle], dim=-1)
        signs.append((-1.0) ** (m // 2))
    top = logs.max(dim=-1, keepdim=True).values.detach()
    total = (torch.tensor(signs, dtype=s.dtype, device=s.device) * torch.exp(logs - top)).sum(-1)
    return top.squeeze(-1) + torch.log(total) + 0.5 * math.log(2 * math.pi) - m * math.log(2) - m * torch.log(s)


def _log_radial_integral(m: int, s: Tensor) -> Tensor:
    """``log J_m(s)``, ``s > 0``, differentiable (float64 recommended)."""
    if m <= 1:  # J_0 = sqrt(pi/2); J_1 = sqrt(2 pi) e^{s^2/2} erf(s/sqrt 2) / (2 s): no cancellation
        return _log_radial_integral_series(m, s) if m == 0 else _log_radial_integral_closed(m, s)
    switch = _SERIES_BELOW / math.sqrt(m)
    use_series = s < switch
    # each branch is evaluated only on inputs where it is accurate, so neither gives NaN gradients
    series = _log_radial_integral_series(m, torch.where(use_series, s, switch / 2))
    closed = _log_radial_integral_closed(m, torch.where(use_series, 2 * switch, s))
    return torch.where(use_series, series, closed)


def riemannian_normal_log_normalizer(dim: int, c: float, scale: Tensor) -> Tensor:
    """``log Z(c, sigma)`` of the Riemannian normal on ``B^d_c`` (Mathieu et al. 2019, Sec. 3 and App. B):
    ``Z = |S^{d-1}| int_0^inf exp(-r^2 / (2 sigma^2)) (sinh(sqrt(c) r) / sqrt(c))^{d-1} dr
    = |S^{d-1}| sigma^d J_{d-1}(sqrt(c) sigma)``; differentiable in ``scale``, computed in float64."""
    sigma = scale.double()
    log_z = log_sphere_area(dim) + dim * torch.log(sigma) + _log_radial_integral(dim - 1, math.sqrt(c) * sigma)
    return log_z.to(scale.dtype)


def _log_radial_density(t: Tensor, s: Tensor, m: int) -> Tensor:
    """Unnormalised ``log q_s(t) = -t^2/2 + m log(sinh(s t) / s)``: the density of ``t = d_c(mu, z) / sigma``."""
    if m == 0:
        return -t * t / 2
    return -t * t / 2 + m * (torch.log(t) - _log_x_over_sinh(s * t))


def _coth_minus_inverse(x: Tensor) -> Tensor:
    """``coth(x) - 1/x`` for ``x >= 0``, by its series near 0."""
    small = x < 1e-3
    xs = torch.where(small, 1.0, x)
    return torch.where(small, x / 3 - x ** 3 / 45, 1 / torch.tanh(xs) - 1 / xs)


def _radial_mode(s: Tensor, m: int) -> Tensor:
    """Mode of ``q_s``: the root of ``-t + m s coth(s t) = 0`` in ``[sqrt(m), m s + sqrt(m)]`` (bisection)."""
    lo = torch.full_like(s, math.sqrt(m))
    hi = m * s + math.sqrt(m)
    for _ in range(60):
        mid = (lo + hi) / 2
        up = -mid + m * (_coth_minus_inverse(s * mid) * s + 1 / mid) > 0
        lo, hi = torch.where(up, mid, lo), torch.where(up, hi, mid)
    return (lo + hi) / 2


_GAUSS_LEGENDRE = 128  # nodes of the quadrature of the implicit gradient; the integrands are smooth
_TAIL = 12.0  # q_s(t) <= q_s(mode) exp(-(t - mode)^2 / 2): mass beyond mode +- 12 is below e^-72


def _quadrature(lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Gauss-Legendre nodes ``(N, K)`` and weights ``(N, K)`` for ``int_lo^hi``, row by row."""
    x, w = np.polynomial.legendre.leggauss(_GAUSS_LEGENDRE)
    x, w = _back(x, lo), _back(w, lo)
    half = ((hi - lo) / 2).unsqueeze(-1)
    return lo.unsqueeze(-1) + half * (x + 1), half * w


class _RadialDraw(torch.autograd.Function):
    """``t ~ q_s`` exactly, by rejection; gradient ``dt/ds`` by implicit reparameterisation."""

    @staticmethod
    def forward(ctx, s: Tensor, m: int, generator: torch.Generator | None) -> Tensor:
        mode = _radial_mode(s, m) if m else torch.zeros_like(s)
        log_peak = _log_radial_density(mode.clamp_min(MIN_NORM), s, m)
        t = torch.empty_like(s)
        pending = torch.ones_like(s, dtype=torch.bool)
        for _ in range(1000):  # acceptance is >= ~1/2 for every s and m: few rounds are ever needed
            if not bool(pending.any()):
                break
            idx = pending.nonzero().squeeze(-1)
            proposal = mode[idx] + _randn(idx.shape, generator, s)
            log_u = torch.log(_rand(idx.shape, generator, s))
            positive = proposal > 0
            bound = log_peak[idx] - (proposal - mode[idx]) ** 2 / 2
            ok = positive & (log_u <= _log_radial_density(proposal.clamp_min(MIN_NORM), s[idx], m) - bound)
            t[idx[ok]] = proposal[ok]
            pending[idx[ok]] = False
        else:
            raise RuntimeError("Riemannian normal radius sampler: no acceptance after 1000 rounds")
        ctx.m = m
        ctx.save_for_backward(s, t, mode)
        return t

    @staticmethod
    def backward(ctx, grad: Tensor):
        s, t, mode = ctx.saved_tensors
        m = ctx.m
        if m == 0:
            return torch.zeros_like(s), None, None
        lo = (mode - _TAIL).clamp_min(0)
        t_in = torch.maximum(t, lo)
        log_peak = _log_radial_density(mode, s, m).unsqueeze(-1)

        def integrals(hi: Tensor) -> tuple[Tensor, Tensor]:
            u, w = _quadrature(lo, hi)
            density = w * torch.exp(_log_radial_density(u.clamp_min(MIN_NORM), s.unsqueeze(-1), m) - log_peak)
            score = m * u * _coth_minus_inverse(s.unsqueeze(-1) * u)  # d/ds log q_s(u)
            return density.sum(-1), (density * score).sum(-1)

        mass_t, dmass_t = integrals(t_in)
        mass, dmass = integrals(mode + _TAIL)
        cdf = mass_t / mass
        # F(t; s) = N(t; s) / N(inf; s):  dt/ds = -dF/ds / q_s(t) = -(dN(t) - F dN(inf)) / n(t)
        density_t = torch.exp(_log_radial_density(t.clamp_min(MIN_NORM), s, m) - log_peak.squeeze(-1))
        dt_ds = -(dmass_t - cdf * dmass) / density_t.clamp_min(1e-300)
        return grad * dt_ds, None, None


class RiemannianNormal:
    """Riemannian (maximum-entropy) normal ``N_R(loc, scale^2)`` on the Poincare ball of curvature ``-c``
    (Mathieu et al. 2019, Sec. 3 and App. B): density w.r.t. the Riemannian volume
    ``N_R(z | mu, sigma^2) = exp(-d_c(mu, z)^2 / (2 sigma^2)) / Z(c, sigma)``, isotropic (one ``sigma``).

    ``log_prob`` uses ``riemannian_normal_log_normalizer`` (closed form, stable, differentiable in ``sigma``).

    ``rsample`` is exact, by the polar decomposition: ``z = exp_mu(r v / lambda_mu)`` with ``v`` uniform on
    the unit sphere (so ``d_c(mu, z) = r``) and ``r = sigma t``, ``t`` drawn from
    ``q_s(t) ~ exp(-t^2/2) (sinh(s t)/s)^{d-1}``, ``s = sqrt(c) sigma``, by rejection from the Gaussian
    ``N(mode, 1)``: ``log q_s`` has curvature ``<= -1``, so ``q_s(t) <= q_s(mode) exp(-(t - mode)^2 / 2)``
    and the acceptance rate stays above about one half for every ``s`` and ``d``.
    Gradients: w.r.t. ``loc`` through the exponential map; w.r.t. ``scale`` by implicit reparameterisation
    of the radius (Figurnov et al. 2018, arXiv:1805.08498): ``dt/ds = -(dF_s(t)/ds) / q_s(t)`` for the CDF
    ``F_s``, both integrals by Gauss-Legendre quadrature; the draws are exact, so the estimator is unbiased
    with no score-function term.

    Parameters
    ----------
    loc : Tensor
        ``(..., d)`` points inside the ball.
    scale : Tensor
        Positive ``sigma``: a scalar, ``(...)`` or ``(..., 1)``.
    c : float
        Curvature magnitude (ball radius ``1/sqrt(c)``).
    """

    def __init__(self, loc: Tensor, scale: Tensor, c: float):
        self.loc = loc
        self.dim = loc.shape[-1]
        self.c = float(c)
        if scale.dim() == loc.dim():
            scale = scale.squeeze(-1)
        self.scale = scale.expand(loc.shape[:-1])

    def log_normalizer(self) -> Tensor:
        """``log Z(c, sigma)``, shape ``loc.shape[:-1]``."""
        return riemannian_normal_log_normalizer(self.dim, self.c, self.scale)

    def log_prob(self, z: Tensor) -> Tensor:
        """Log-density w.r.t. the Riemannian volume of the ball, shape ``z.shape[:-1]``."""
        dist = poincare_distance(self.loc, z, self.c)
        return -dist.pow(2) / (2 * self.scale.pow(2)) - self.log_normalizer()

    def rsample(self, num_samples: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Samples ``(*loc.shape)`` or ``(num_samples, *loc.shape)``, reparameterised in loc and scale."""
        shape = self.loc.shape if num_samples is None else (num_samples, *self.loc.shape)
        sigma = self.scale.expand(shape[:-1]).reshape(-1)
        s = math.sqrt(self.c) * sigma.double()
        radius = sigma * _RadialDraw.apply(s, self.dim - 1, generator).to(sigma.dtype)
        direction = sample_sphere_uniform((radius.shape[0],), self.dim, generator, self.loc)
        loc = self.loc.expand(shape).reshape(-1, self.dim)
        step = radius.unsqueeze(-1) * direction / conformal_factor(loc, self.c)
        return expmap(loc, step, self.c).reshape(shape)
