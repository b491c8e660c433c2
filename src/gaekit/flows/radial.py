"""Radial flow -- Rezende and Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
arXiv:1505.05770, Sec. 4.1, Eq. 14 and Appendix A.2.

``f(z) = z + beta h(alpha, r) (z - z_0)`` with ``r = ||z - z_0||`` and ``h(alpha, r) = 1 / (alpha + r)``
(Eq. 14), whose log-determinant is
``(d - 1) log(1 + beta h) + log(1 + beta h + beta h'(alpha, r) r)``, ``h' = -1 / (alpha + r)^2``,
i.e. ``(d - 1) log(1 + beta h) + log(1 + beta alpha / (alpha + r)^2)``.

Invertibility (Appendix A.2) needs ``beta >= -alpha``. Free parameters are mapped to
``alpha = softplus(alpha_raw) > 0`` and ``beta = -alpha + softplus(beta_raw) > -alpha``, so both
factors of the determinant stay positive. No closed-form inverse.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.flows.base import FLOWS, Flow


@FLOWS.register("Radial")
class RadialFlow(Flow):
    """Contraction/expansion around a learned reference point ``z_0`` (Eq. 14).

    Parameters
    ----------
    dim : int
        Size of ``z``.

    ``z_0`` starts uniform in ``(-1/sqrt(dim), 1/sqrt(dim))``, ``alpha_raw`` and ``beta_raw`` uniform
    in ``(-1, 1)``.
    """

    def __init__(self, dim: int):
        super().__init__(dim)
        bound = 1 / math.sqrt(dim)
        self.z0 = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        self.alpha_raw = nn.Parameter(torch.empty(1).uniform_(-1, 1))
        self.beta_raw = nn.Parameter(torch.empty(1).uniform_(-1, 1))

    def alpha_beta(self) -> tuple[Tensor, Tensor]:
        """``alpha > 0`` and ``beta > -alpha`` from the free parameters (Appendix A.2)."""
        alpha = F.softplus(self.alpha_raw)
        return alpha, -alpha + F.softplus(self.beta_raw)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        self._check_input(z)
        alpha, beta = self.alpha_beta()
        diff = z - self.z0
        r = diff.norm(dim=-1, keepdim=True)
        h = 1 / (alpha + r)
        z_out = z + beta * h * diff
        beta_h = (beta * h).squeeze(-1)
        log_det = (self.dim - 1) * torch.log1p(beta_h) + torch.log1p((beta * alpha * h.pow(2)).squeeze(-1))
        return z_out, log_det
