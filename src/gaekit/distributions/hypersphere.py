"""Distributions on the hypersphere ``S^{d-1}``: the uniform distribution and von Mises-Fisher.

Davidson et al. 2018, "Hyperspherical Variational Auto-Encoders", arXiv:1804.00891: the von Mises-Fisher
distribution ``vMF(mu, kappa)``, density ``C_d(kappa) exp(kappa mu^T z)`` with
``C_d(kappa) = kappa^{d/2-1} / ((2 pi)^{d/2} I_{d/2-1}(kappa))`` (their Sec. 3), sampled with Wood's
(1994) rejection sampler and reparameterised as in Davidson et al. Sec. 3 / Naesseth et al. (2017); and
the uniform distribution on the sphere. The Bessel-function quantities (``C_d``, ``A_d``, the closed-form
``KL(vMF || U(S^{d-1}))``) are in ``gaekit.distributions.bessel``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gaekit.distributions._tensor import _rand, _randn
from gaekit.distributions.bessel import vmf_kl_to_uniform, vmf_log_normalizer, vmf_mean_resultant_length
from gaekit.manifolds import MIN_NORM, householder_to

__all__ = ["VonMisesFisher", "sample_sphere_uniform"]


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
        """``A_d(kappa) = ||E[z]||`` per distribution (Davidson et al. 2018, Sec. 3)."""
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

