"""Planar flow -- Rezende and Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
arXiv:1505.05770, Sec. 4.1, Eq. 10-12 and Appendix A.1.

``f(z) = z + u_hat h(w^T z + b)`` (Eq. 10), with log-determinant (Eq. 11-12)
``log |det df/dz| = log |1 + u_hat^T psi(z)|``, ``psi(z) = h'(w^T z + b) w``.

Invertibility (Appendix A.1): along ``w`` the map is ``a -> a + (w^T u_hat) h(a + b)``, strictly
increasing -- hence ``f`` invertible, with ``det = 1 + h'(.) w^T u_hat > 0`` -- whenever
``1 + h'(a) w^T u_hat > 0`` for every ``a``. The free parameter ``u`` is mapped to
``u_hat = u + (m(w^T u) - w^T u) w / ||w||^2`` with ``m(x) = -1 + log(1 + e^x)``, so that
``w^T u_hat = m(w^T u) > -1``. The derivative ranges of the activations give the conditions:

- ``tanh``: ``h' = 1 - tanh^2`` in ``(0, 1]``, so ``w^T u_hat >= -1`` suffices (the paper's case);
- ``elu`` (``h(a) = a`` for ``a > 0``, ``e^a - 1`` otherwise): ``h'`` in ``(0, 1]`` as well, so the same
  condition ``w^T u_hat > -1`` is sufficient (and necessary: ``h' = 1`` for ``a > 0``);
- ``linear`` (``h(a) = a``): ``h' = 1``, ``det = 1 + w^T u_hat`` is constant and the map is invertible iff
  ``w^T u_hat != -1``; keeping ``w^T u_hat > -1`` (the connected component containing the identity)
  gives the same reparametrisation.

So one constraint, ``w^T u_hat > -1``, enforced by the paper's ``m``, serves all three. ``m`` is
strictly above ``-1`` (in floating point it can round to ``-1`` for ``w^T u < -17``; the
determinant is clamped at 1e-12 there). ``u = w = 0`` gives the identity map (``||w||^2`` is
clamped away from 0, so the correction vanishes). No closed-form inverse.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.errors import ConfigError
from gaekit.flows.base import FLOWS, Flow

PLANAR_ACTIVATIONS = ("tanh", "elu", "linear")


@FLOWS.register("Planar")
class PlanarFlow(Flow):
    """``f(z) = z + u_hat h(w^T z + b)`` with ``h`` in {"tanh", "elu", "linear"}.

    Parameters
    ----------
    dim : int
        Size of ``z``.
    activation : {"tanh", "elu", "linear"}, default "tanh"

    Parameters start uniform in ``(-1/sqrt(dim), 1/sqrt(dim))``.
    """

    def __init__(self, dim: int, activation: str = "tanh"):
        super().__init__(dim)
        if activation not in PLANAR_ACTIVATIONS:
            raise ConfigError(f"PlanarFlow: activation={activation!r} is invalid: expected one of {PLANAR_ACTIVATIONS}")
        self.activation = activation
        bound = 1 / math.sqrt(dim)
        self.u = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        self.w = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.empty(1).uniform_(-bound, bound))

    def u_hat(self) -> Tensor:
        """The constrained ``u_hat`` with ``w^T u_hat = -1 + softplus(w^T u) > -1`` (Appendix A.1)."""
        wu = self.w @ self.u
        m = -1 + F.softplus(wu)
        return self.u + (m - wu) * self.w / (self.w @ self.w).clamp_min(1e-12)

    def _h(self, a: Tensor) -> tuple[Tensor, Tensor]:
        """``h(a)`` and ``h'(a)``."""
        if self.activation == "tanh":
            t = torch.tanh(a)
            return t, 1 - t.pow(2)
        if self.activation == "elu":
            return F.elu(a), torch.where(a > 0, torch.ones_like(a), torch.exp(a.clamp_max(0)))
        return a, torch.ones_like(a)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        self._check_input(z)
        u_hat = self.u_hat()
        a = z @ self.w + self.b  # (B,)
        h, dh = self._h(a)
        z_out = z + h.unsqueeze(-1) * u_hat
        det = 1 + dh * (self.w @ u_hat)  # 1 + u_hat^T psi(z), psi = h'(a) w
        return z_out, det.abs().clamp_min(1e-12).log()

    def extra_repr(self) -> str:
        return f"dim={self.dim}, activation={self.activation!r}"
