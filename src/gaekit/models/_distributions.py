"""Distributions on non-Euclidean latent spaces, shared by the geometric models and their samplers.

- **Hypersphere** ``S^{d-1}`` (Davidson et al. 2018, "Hyperspherical Variational Auto-Encoders",
  arXiv:1804.00891): the von Mises-Fisher distribution ``vMF(mu, kappa)``, density
  ``C_d(kappa) exp(kappa mu^T z)`` with ``C_d(kappa) = kappa^{d/2-1} / ((2 pi)^{d/2} I_{d/2-1}(kappa))``
  (their Sec. 3), sampled with Wood's (1994) rejection sampler and reparameterised as in Davidson et
  al. Sec. 3 / Naesseth et al. (2017); the uniform distribution on the sphere; and the closed-form
  ``KL(vMF || U(S^{d-1}))`` (Davidson et al. Sec. 3 and appendix).
- **Poincare ball** ``B^d_c`` of curvature ``-c`` (Mathieu et al. 2019, "Continuous Hierarchical
  Representations with Poincare Variational Auto-Encoders", arXiv:1901.06033, Sec. 2-3): Mobius
  addition, the exponential and logarithmic maps at the origin and at any point, the geodesic distance,
  the wrapped normal ``N^W(mu, Sigma)`` and the Riemannian normal ``N_R(mu, sigma^2)`` (their Sec. 3 and
  App. B: closed-form normaliser, exact polar sampling, implicit reparameterisation of the radius).

Bessel functions. ``log I_nu(kappa)`` and the ratio ``A(kappa) = I_{nu+1}(kappa) / I_nu(kappa)`` are
computed in float64 from SciPy's exponentially scaled ``ive`` (``I_nu(k) = ive(nu, k) e^k``, so large
concentrations never overflow); where ``ive`` underflows (tiny ``kappa`` in high dimension) the leading
term of the series, ``I_nu(k) ~ (k/2)^nu / Gamma(nu + 1)``, is used. Both are torch autograd Functions
with the analytic derivatives ``d log I_nu / dk = A(k) + nu / k`` and
``dA/dk = 1 - A^2 - (2 nu + 1) A / k``. The KL to the uniform has its own Function whose derivative,
``kappa dA_d/dkappa``, has none of the cancelling ``nu / kappa`` terms, so it stays finite and exact
for ``kappa`` from 1e-3 to 1e4 and beyond.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

# keep points strictly inside the ball / away from the poles in float32
BALL_EPS = 1e-5
MIN_NORM = 1e-15


# -- Bessel functions ------------------------------------------------------------------------------
def _log_iv_np(nu: float, k: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln, ive

    k = np.maximum(k, 1e-300)
    with np.errstate(divide="ignore"):
        out = np.log(ive(nu, k)) + k
    series = nu * np.log(k / 2) - gammaln(nu + 1)
    return np.where(np.isfinite(out), out, series)


def _ratio_np(nu: float, k: np.ndarray) -> np.ndarray:
    from scipy.special import ive

    k = np.maximum(k, 1e-300)
    num, den = ive(nu + 1, k), ive(nu, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    small = k / (2 * (nu + 1))  # leading term for k -> 0
    return np.where((den > 0) & np.isfinite(ratio), ratio, small)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _back(a: np.ndarray, like: Tensor) -> Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64)).to(like.device, like.dtype)


def bessel_ratio(nu: float, kappa: Tensor) -> Tensor:
    """``I_{nu+1}(kappa) / I_nu(kappa)`` (no gradient; see ``_BesselRatio`` for the differentiable one)."""
    return _back(_ratio_np(nu, _np(kappa)), kappa)


class _LogBesselI(torch.autograd.Function):
    @staticmethod
    def forward(ctx, nu: float, kappa: Tensor) -> Tensor:
        ctx.nu = nu
        ctx.save_for_backward(kappa)
        return _back(_log_iv_np(nu, _np(kappa)), kappa)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        k = np.maximum(_np(kappa), 1e-300)
        return None, grad * _back(_ratio_np(ctx.nu, k) + ctx.nu / k, kappa)


class _BesselRatio(torch.autograd.Function):
    @staticmethod
    def forward(ctx, nu: float, kappa: Tensor) -> Tensor:
        ctx.nu = nu
        ctx.save_for_backward(kappa)
        return bessel_ratio(nu, kappa)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        k = np.maximum(_np(kappa), 1e-300)
        a = _ratio_np(ctx.nu, k)
        return None, grad * _back(1 - a * a - (2 * ctx.nu + 1) * a / k, kappa)


def log_bessel_iv(nu: float, kappa: Tensor) -> Tensor:
    """``log I_nu(kappa)``, differentiable in ``kappa`` (float64 inside, any ``kappa > 0``)."""
    return _LogBesselI.apply(float(nu), kappa)


def vmf_mean_resultant_length(dim: int, kappa: Tensor) -> Tensor:
    """``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa) = ||E[z]||`` for ``z ~ vMF(mu, kappa)`` on ``S^{d-1}``."""
    return _BesselRatio.apply(dim / 2 - 1, kappa)


def log_sphere_area(dim: int) -> float:
    """``log |S^{dim-1}| = log(2 pi^{d/2} / Gamma(d/2))``."""
    return math.log(2) + dim / 2 * math.log(math.pi) - math.lgamma(dim / 2)


def vmf_log_normalizer(dim: int, kappa: Tensor) -> Tensor:
    """``log C_d(kappa) = (d/2-1) log kappa - (d/2) log(2 pi) - log I_{d/2-1}(kappa)`` (Davidson et al. Sec. 3)."""
    nu = dim / 2 - 1
    k = kappa.double()
    return (nu * torch.log(k) - dim / 2 * math.log(2 * math.pi) - log_bessel_iv(nu, k)).to(kappa.dtype)


class _KLvMFUniform(torch.autograd.Function):
    @staticmethod
    def forward(ctx, dim: int, kappa: Tensor) -> Tensor:
        ctx.dim = dim
        ctx.save_for_backward(kappa)
        nu = dim / 2 - 1
        k = np.maximum(_np(kappa), 1e-300)
        kl = (k * _ratio_np(nu, k) + nu * np.log(k) - _log_iv_np(nu, k)
              - dim / 2 * math.log(2 * math.pi) + log_sphere_area(dim))
        return _back(np.maximum(kl, 0.0), kappa)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        k = np.maximum(_np(kappa), 1e-300)
        a = _ratio_np(ctx.dim / 2 - 1, k)
        # d/dk [k A + nu log k - log I_nu] = k A'(k) = k (1 - A^2) - (d - 1) A
        return None, grad * _back(k * (1 - a * a) - (ctx.dim - 1) * a, kappa)


def vmf_kl_to_uniform(dim: int, kappa: Tensor) -> Tensor:
    """``KL(vMF(mu, kappa) || U(S^{d-1})) = kappa A_d(kappa) + log C_d(kappa) + log |S^{d-1}|``
    (Davidson et al. 2018, Sec. 3), elementwise in ``kappa``; differentiable and stable."""
    return _KLvMFUniform.apply(int(dim), kappa)


# -- von Mises-Fisher and the uniform on the sphere --------------------------------------------------
def _randn(shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    if generator is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)


def _rand(shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    if generator is None:
        return torch.rand(shape, dtype=like.dtype, device=like.device)
    return torch.rand(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)


def sample_sphere_uniform(shape: tuple[int, ...], dim: int, generator: torch.Generator | None = None,
                          like: Tensor | None = None) -> Tensor:
    """Points uniform on ``S^{dim-1}``, shape ``(*shape, dim)``: normalised standard normal vectors."""
    like = torch.empty(0) if like is None else like
    g = _randn((*shape, dim), generator, like)
    return g / g.norm(dim=-1, keepdim=True).clamp_min(MIN_NORM)


class VonMisesFisher:
    """``vMF(loc, concentration)`` on ``S^{d-1}``, batched.

    Parameters
    ----------
    loc : Tensor
        ``(..., d)`` unit mean directions.
    concentration : Tensor
        ``(..., 1)`` or ``(...)`` concentrations ``kappa > 0``.

    ``rsample`` draws ``w = mu^T z`` with Wood's (1994) rejection sampler (proposal
    ``w = (1 - (1+b) eps) / (1 - (1-b) eps)``, ``eps ~ Beta((d-1)/2, (d-1)/2)``, accepted when
    ``kappa w + (d-1) log(1 - x0 w) - c >= log u``), then ``z = [w, sqrt(1-w^2) v]`` with ``v`` uniform on
    ``S^{d-2}``, reflected onto ``mu`` by a Householder map (Davidson et al. 2018, Algorithms 1-2). The
    accepted ``eps`` is held fixed and ``w`` is differentiated through ``b(kappa)``: the reparameterised
    part ``g_rep`` of the gradient of Naesseth et al. (2017); the correction ``g_cor`` (a score-function
    term of the acceptance probability) is not added.
    """

    def __init__(self, loc: Tensor, concentration: Tensor):
        self.loc = loc
        self.dim = loc.shape[-1]
        if self.dim < 2:
            raise ValueError(f"a von Mises-Fisher distribution needs dim >= 2, got {self.dim}")
        self.concentration = concentration.reshape(loc.shape[:-1])

    def mean_resultant_length(self) -> Tensor:
        return vmf_mean_resultant_length(self.dim, self.concentration)

    def kl_to_uniform(self) -> Tensor:
        """``KL(q || U(S^{d-1}))`` per distribution, shape ``loc.shape[:-1]``."""
        return vmf_kl_to_uniform(self.dim, self.concentration)

    def log_prob(self, z: Tensor) -> Tensor:
        """``log C_d(kappa) + kappa mu^T z`` (density w.r.t. the surface measure of the sphere)."""
        return self.concentration * (self.loc * z).sum(-1) + vmf_log_normalizer(self.dim, self.concentration)

    def _sample_w(self, kappa: Tensor, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``(b, eps)`` for each (flattened) ``kappa``: ``b(kappa)`` (float64, differentiable) and the accepted
        Beta draws ``eps`` (constants), from which ``w = mu^T z`` is formed."""
        m = self.dim - 1
        if not bool(torch.isfinite(kappa).all()) or bool((kappa < 0).any()):
            raise ValueError("von Mises-Fisher sampling needs finite concentrations >= 0; got "
                             f"{kappa[~torch.isfinite(kappa) | (kappa < 0)][:5].tolist()}")
        k = kappa.double()
        b = m / (2 * k + torch.sqrt(4 * k * k + m * m))  # = (-2k + sqrt(4k^2 + m^2)) / m, stably
        with torch.no_grad():
            bd = b.detach()
            x0 = (1 - bd) / (1 + bd)
            c = k.detach() * x0 + m * torch.log1p(-x0 * x0)
            eps = torch.empty_like(bd)
            pending = torch.ones_like(bd, dtype=torch.bool)
            for _ in range(1000):  # Wood's envelope is tight: few rounds are ever needed
                if not bool(pending.any()):
                    break
                n = int(pending.sum())
                # Beta(m/2, m/2) as (1 + t) / 2, t the first coordinate of a uniform point on S^m
                t = sample_sphere_uniform((n,), m + 1, generator, bd)[:, 0]
                e = ((1 + t) / 2).clamp(1e-12, 1 - 1e-12)
                bp = bd[pending]
                w = (1 - (1 + bp) * e) / (1 - (1 - bp) * e)
                log_u = torch.log(_rand((n,), generator, bd))
                kp = k.detach()[pending]
                x0p = x0[pending]
                ok = kp * w + m * torch.log1p(-x0p * w) - c[pending] >= log_u
                idx = pending.nonzero().squeeze(-1)
                eps[idx[ok]] = e[ok]
                pending[idx[ok]] = False
            else:
                raise RuntimeError("von Mises-Fisher rejection sampler: no acceptance after 1000 rounds")
        return b, eps

    def rsample(self, num_samples: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Samples ``(*loc.shape)`` or ``(num_samples, *loc.shape)``, reparameterised in loc and kappa."""
        shape = self.loc.shape if num_samples is None else (num_samples, *self.loc.shape)
        kappa = self.concentration.expand(shape[:-1]).reshape(-1)
        b, eps = self._sample_w(kappa, generator)
        denom = 1 - (1 - b) * eps
        w = (1 - (1 + b) * eps) / denom
        # sqrt(1 - w^2) = 2 sqrt(b eps (1 - eps)) / (1 - (1 - b) eps): no cancellation as w -> 1
        radial = 2 * torch.sqrt(b * eps * (1 - eps)) / denom
        v = sample_sphere_uniform((kappa.shape[0],), self.dim - 1, generator, self.loc)
        z = torch.cat([w.to(self.loc.dtype).unsqueeze(-1), radial.to(self.loc.dtype).unsqueeze(-1) * v], -1)
        return householder_to(z, self.loc.expand(shape).reshape(-1, self.dim)).reshape(shape)


def householder_to(z: Tensor, mu: Tensor) -> Tensor:
    """Reflect points so that ``e1 = (1, 0, ..., 0)`` goes to the unit vector ``mu`` (row by row)."""
    e1 = torch.zeros_like(mu)
    e1[..., 0] = 1
    u = e1 - mu
    u = u / u.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return z - 2 * (z * u).sum(-1, keepdim=True) * u


# -- the Poincare ball --------------------------------------------------------------------------------
def _sqnorm(x: Tensor) -> Tensor:
    return x.pow(2).sum(-1, keepdim=True)


def _norm(x: Tensor) -> Tensor:
    return x.norm(dim=-1, keepdim=True).clamp_min(MIN_NORM)


def project_to_ball(x: Tensor, c: float) -> Tensor:
    """Pull points back strictly inside the ball of radius ``1/sqrt(c)`` (by ``BALL_EPS``; 1e-12 in float64)."""
    max_norm = (1 - (BALL_EPS if x.dtype != torch.float64 else 1e-12)) / math.sqrt(c)
    norm = _norm(x)
    return torch.where(norm > max_norm, x / norm * max_norm, x)


def conformal_factor(x: Tensor, c: float) -> Tensor:
    """``lambda_x^c = 2 / (1 - c ||x||^2)``, shape ``(..., 1)``."""
    return 2 / (1 - c * _sqnorm(x)).clamp_min(MIN_NORM)


def mobius_add(x: Tensor, y: Tensor, c: float) -> Tensor:
    """Mobius addition ``x (+)_c y`` (Mathieu et al. 2019, Sec. 2)."""
    xy = (x * y).sum(-1, keepdim=True)
    x2, y2 = _sqnorm(x), _sqnorm(y)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    return num / (1 + 2 * c * xy + c * c * x2 * y2).clamp_min(MIN_NORM)


def _artanh(x: Tensor) -> Tensor:
    bound = 1 - (1e-7 if x.dtype != torch.float64 else 1e-15)
    return torch.atanh(x.clamp(-bound, bound))


def expmap0(v: Tensor, c: float) -> Tensor:
    """``exp_0^c(v) = tanh(sqrt(c) ||v||) v / (sqrt(c) ||v||)``."""
    sc = math.sqrt(c)
    n = _norm(v)
    return project_to_ball(torch.tanh(sc * n) * v / (sc * n), c)


def logmap0(y: Tensor, c: float) -> Tensor:
    """``log_0^c(y) = artanh(sqrt(c) ||y||) y / (sqrt(c) ||y||)``, the inverse of ``expmap0``."""
    sc = math.sqrt(c)
    n = _norm(y)
    return _artanh(sc * n) * y / (sc * n)


def expmap(x: Tensor, v: Tensor, c: float) -> Tensor:
    """``exp_x^c(v) = x (+)_c (tanh(sqrt(c) lambda_x ||v|| / 2) v / (sqrt(c) ||v||))`` (Mathieu et al. Sec. 2)."""
    sc = math.sqrt(c)
    n = _norm(v)
    step = torch.tanh(sc * conformal_factor(x, c) * n / 2) * v / (sc * n)
    return project_to_ball(mobius_add(x, step, c), c)


def logmap(x: Tensor, y: Tensor, c: float) -> Tensor:
    """``log_x^c(y) = 2 / (sqrt(c) lambda_x) artanh(sqrt(c) ||-x (+) y||) (-x (+) y) / ||-x (+) y||``,
    the inverse of ``expmap`` (Mathieu et al. Sec. 2)."""
    sc = math.sqrt(c)
    diff = mobius_add(-x, y, c)
    n = _norm(diff)
    return 2 / (sc * conformal_factor(x, c)) * _artanh(sc * n) * diff / n


def poincare_distance(x: Tensor, y: Tensor, c: float) -> Tensor:
    """Geodesic distance ``d_c(x, y) = 2 / sqrt(c) artanh(sqrt(c) ||-x (+)_c y||)``, shape ``(...)``."""
    sc = math.sqrt(c)
    return (2 / sc * _artanh(sc * mobius_add(-x, y, c).norm(dim=-1)))


def log_riemannian_volume(z: Tensor, c: float) -> Tensor:
    """``log sqrt(det g(z)) = d log lambda_z^c``: a density w.r.t. the Riemannian volume times
    ``exp`` of this is a density w.r.t. the Lebesgue measure of the ball's coordinates."""
    return z.shape[-1] * torch.log(conformal_factor(z, c)).squeeze(-1)


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
