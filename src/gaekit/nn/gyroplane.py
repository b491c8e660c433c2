"""The gyroplane layer of Mathieu et al. 2019 ("Continuous Hierarchical Representations with Poincare
Variational Auto-Encoders", arXiv:1901.06033, Sec. 3.2): a first decoder layer for codes on the Poincare
ball ``B^d_c`` that replaces the affine map ``<a, z - p>`` by its hyperbolic analogue.

Unit ``k`` has a point ``p_k = exp_0^c(b_k)`` on the ball and a normal ``a_k = P_{0 -> p_k}(w_k)``
(``w_k`` a tangent vector at the origin, parallel-transported to ``p_k``), which define the Poincare
hyperplane (gyroplane) ``H_k = {z : <-p_k (+)_c z, a_k> = 0}``. The unit outputs the signed distance to
it, scaled by the Riemannian norm of the normal (their Eq. for ``f^c_{a,p}``):

``f_k(z) = sign(<-p_k (+)_c z, a_k>) ||a_k||_{p_k} d_c(z, H_k)``,
``d_c(z, H_k) = (1/sqrt(c)) arsinh(2 sqrt(c) |<-p_k (+)_c z, a_k>| / ((1 - c ||-p_k (+)_c z||^2) ||a_k||))``

(the distance of Ganea et al. 2018, arXiv:1805.09112, Thm. 5). With ``a_k = (lambda_0 / lambda_{p_k}) w_k``,
``||a_k||_{p_k} = 2 ||w_k||``, so ``f_k(z) = (2 ||w_k|| / sqrt(c)) arsinh(sqrt(c) lambda_u <u, w_k / ||w_k||>)``
with ``u = -p_k (+)_c z`` and ``lambda_u = 2 / (1 - c ||u||^2)``.

The ball maths comes from ``gaekit.manifolds``; the layer is re-exported by ``gaekit.nn``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gaekit.manifolds import conformal_factor, expmap0, mobius_add


class GyroplaneLayer(nn.Module):
    """``in_features`` ball coordinates to ``out_features`` signed, scaled distances to learned gyroplanes.

    Parameters
    ----------
    in_features : int
        Dimension ``d`` of the ball.
    out_features : int
        Number of gyroplanes (units).
    c : float
        Curvature magnitude (ball radius ``1/sqrt(c)``).

    Attributes
    ----------
    weight : Parameter ``(out_features, in_features)``
        Normals ``w_k`` in the tangent space at the origin (initialised like ``nn.Linear``'s weight).
    bias : Parameter ``(out_features, in_features)``
        Tangent vectors ``b_k`` at the origin of the points ``p_k = exp_0^c(b_k)`` (initialised at 0).
    """

    def __init__(self, in_features: int, out_features: int, c: float):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.c = float(c)
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_features, in_features))

    def points(self) -> Tensor:
        """The points ``p_k`` on the ball, ``(out_features, in_features)``."""
        return expmap0(self.bias, self.c)

    def signed_distance(self, z: Tensor) -> Tensor:
        """Signed geodesic distance from ``z`` ``(..., d)`` to each gyroplane: ``(..., out_features)``."""
        u = mobius_add(-self.points(), z.unsqueeze(-2), self.c)
        normal = self.weight / self.weight.norm(dim=-1, keepdim=True).clamp_min(1e-15)
        sc = math.sqrt(self.c)
        inner = (u * normal).sum(-1)
        return torch.asinh(sc * conformal_factor(u, self.c).squeeze(-1) * inner) / sc

    def forward(self, z: Tensor) -> Tensor:
        return 2 * self.weight.norm(dim=-1) * self.signed_distance(z)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, c={self.c}"
