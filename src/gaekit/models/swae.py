"""Sliced-Wasserstein autoencoder (SWAE) -- Kolouri, Pope, Martin and Rohde, "Sliced-Wasserstein
Autoencoders: An Embarrassingly Simple Generative Model", ICLR 2019, arXiv:1804.01947.

A deterministic encoder ``z = E(x)`` whose aggregate posterior is pulled to the prior ``N(0, I)`` by the
sliced-Wasserstein distance, estimated on each batch as in Algorithm 1 (to minimise)::

    L = mean_b rec(x_b, D(z_b)) + reg_weight * SW_p^p({z_b}, {z~_b})

where ``z~_1..z~_B ~ N(0, I)`` are drawn afresh for every batch (as many as the batch) and
``SW_p^p`` is the Monte-Carlo estimate over ``num_projections`` random unit directions ``theta_l``:
``1/(L B) sum_l sum_b |sort(theta_l . z)_b - sort(theta_l . z~)_b|^p`` (``_losses.sliced_wasserstein``).
Both the prior draws and the directions come from the step's context (``gaekit.models.step``).

Config fields (beyond the AE's):
    reg_weight : float, default 1.0 -- lambda, the weight of the sliced distance (>= 0).
    num_projections : int, default 50 -- L, the number of random directions (>= 1); 50 is the number of
        projections of the authors' public implementation.
    p : float, default 2.0 -- the order of the distance (>= 1); the paper trains with p = 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gaekit.models import _losses, step
from gaekit.models.ae import AE, AEConfig
from gaekit.models.base import MODELS, ModelOutput, StepContext


@dataclass
class SWAEConfig(AEConfig):
    """Config of ``SWAE``.

    Parameters
    ----------
    reg_weight : float, default 1.0
        Weight lambda of the sliced-Wasserstein penalty (>= 0).
    num_projections : int, default 50
        Number L of random directions per batch (>= 1).
    p : float, default 2.0
        Order p of ``SW_p^p`` (a finite number >= 1).
    """

    name: ClassVar[str] = "SWAE"
    reg_weight: float = 1.0
    num_projections: int = 50
    p: float = 2.0

    def _check(self) -> None:
        super()._check()
        self._require_positive("reg_weight", allow_zero=True)
        self._require("num_projections", self.num_projections >= 1, "an int >= 1")
        self._require("p", 1 <= self.p < float("inf"), "a finite number >= 1")


@MODELS.register()
class SWAE(AE):
    """Deterministic autoencoder whose aggregate posterior is pulled to N(0, I) by a sliced-Wasserstein penalty."""

    config_class = SWAEConfig

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        out = super().forward(batch, ctx)
        c = self.model_config
        prior_z = step.randn_like(out.z, ctx)
        distance = _losses.sliced_wasserstein(out.z, prior_z, c.num_projections, c.p, ctx)
        out.loss = out.loss + c.reg_weight * distance
        out.terms["sliced_wasserstein"] = distance
        return out
