"""Combination importance weighted autoencoder (CIWAE) -- Rainforth, Kosiorek, Le, Maddison,
Igl, Wood and Teh, "Tighter Variational Bounds are Not Necessarily Better", ICML 2018,
arXiv:1802.04537.

Objective (Sec. 4, CIWAE): a convex combination of the ELBO and the IWAE bound computed on the
same ``K`` draws ``z_k ~ q(z|x)``,
``L(x) = beta * 1/K sum_k log w_k + (1 - beta) * log (1/K sum_k w_k)``, ``w = p(x|z) p(z) / q(z|x)``.
``beta = 1`` is the (K-sample Monte-Carlo) ELBO of the VAE, ``beta = 0`` the IWAE bound.

Config fields (beyond ``IWAEConfig``'s ``num_importance_samples``, K): ``beta`` in [0, 1] (default 0.5).
Terms: ``ciwae_bound`` (trained), ``iwae_bound``, ``elbo``, ``recon_loss`` and ``kl`` (see ``IWAE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from gaekit.models import _losses
from gaekit.models.base import MODELS
from gaekit.models.iwae import IWAE, IWAEConfig, Objective


@dataclass
class CIWAEConfig(IWAEConfig):
    """Config of ``CIWAE``.

    Parameters
    ----------
    num_importance_samples : int, default 10
        ``K``, draws from ``q(z|x)`` per data point (>= 1).
    beta : float, default 0.5
        Weight of the ELBO; ``1 - beta`` weighs the IWAE bound (in [0, 1]).
    """

    name: ClassVar[str] = "CIWAE"
    beta: float = 0.5

    def _check(self) -> None:
        super()._check()
        self._require("beta", 0.0 <= self.beta <= 1.0, "a number in [0, 1]")


@MODELS.register()
class CIWAE(IWAE):
    """IWAE whose bound is mixed with the ELBO of the same draws."""

    config_class = CIWAEConfig

    def objective(self, log_w: Tensor) -> Objective:
        beta = self.model_config.beta
        iwae = _losses.importance_weighted_bound(log_w)[0]
        ciwae = beta * log_w.mean(0) + (1 - beta) * iwae
        return -ciwae, {"ciwae_bound": ciwae, "iwae_bound": iwae}, None
