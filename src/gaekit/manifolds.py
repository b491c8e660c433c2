"""Geometry of the non-Euclidean latent spaces: the Poincare ball's maps and the hypersphere's helpers.

- **Poincare ball** ``B^d_c`` of curvature ``-c`` (Mathieu et al. 2019, "Continuous Hierarchical
  Representations with Poincare Variational Auto-Encoders", arXiv:1901.06033, Sec. 2; Ganea et al. 2018,
  arXiv:1805.09112): projection inside the ball, the conformal factor ``lambda_x^c``, Mobius addition,
  the exponential and logarithmic maps at the origin and at any point, the geodesic distance and the
  log Riemannian volume element.
- **Hypersphere** ``S^{d-1}`` (Davidson et al. 2018, "Hyperspherical Variational Auto-Encoders",
  arXiv:1804.00891): the Householder reflection carrying ``e1`` to a mean direction and the log surface area.

Deterministic maths only; the distributions on these spaces are in ``gaekit.distributions``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# keep points strictly inside the ball / away from the poles in float32
BALL_EPS = 1e-5
MIN_NORM = 1e-15

__all__ = [
    "BALL_EPS", "MIN_NORM",
    "project_to_ball", "conformal_factor", "mobius_add", "expmap0", "logmap0", "expmap", "logmap",
    "poincare_distance", "log_riemannian_volume",
    "householder_to", "log_sphere_area",
]


# -- the hypersphere ----------------------------------------------------------------------------------
def log_sphere_area(dim: int) -> float:
    """``log |S^{dim-1}| = log(2 pi^{d/2} / Gamma(d/2))``."""
    return math.log(2) + dim / 2 * math.log(math.pi) - math.lgamma(dim / 2)


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
