"""Multiply importance weighted autoencoder (MIWAE) -- Rainforth, Kosiorek, Le, Maddison, Igl,
Wood and Teh, "Tighter Variational Bounds are Not Necessarily Better", ICML 2018, arXiv:1802.04537.

Objective (Sec. 4, MIWAE): ``M * K`` draws ``z_{m,k} ~ q(z|x)`` are split into ``M`` groups of
``K``; each group gives an IWAE bound (Burda et al. 2016, Eq. 8) and MIWAE maximises their mean,
``L_{M,K}(x) = 1/M sum_m log (1/K sum_k w_{m,k})``, ``w = p(x|z) p(z) / q(z|x)``. Averaging ``M``
estimates instead of tightening the bound raises the signal-to-noise ratio of the encoder's
gradient. ``M = 1`` is the IWAE with ``K`` samples; ``K = 1`` is the VAE with ``M`` samples.

Config fields (beyond ``IWAEConfig``'s ``num_importance_samples``, K): ``num_gradient_estimates`` (M,
default 4; Pythae's ``number_gradient_estimates``). Terms: ``miwae_bound`` (trained), ``iwae_bound``
(the ``M*K``-sample IWAE bound on the same draws), ``elbo``, ``recon_loss`` and ``kl`` (see ``IWAE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from gaekit.models import _losses
from gaekit.models.base import MODELS
from gaekit.models.iwae import IWAE, IWAEConfig, Objective


@dataclass
class MIWAEConfig(IWAEConfig):
    """Config of ``MIWAE``.

    Parameters
    ----------
    num_importance_samples : int, default 10
        ``K``, draws per importance-weighted estimate (>= 1).
    num_gradient_estimates : int, default 4
        ``M``, the number of K-sample estimates averaged (>= 1); Pythae's ``number_gradient_estimates``.
    """

    name: ClassVar[str] = "MIWAE"
    aliases: ClassVar[dict[str, str]] = {"number_gradient_estimates": "num_gradient_estimates"}
    num_gradient_estimates: int = 4

    def _check(self) -> None:
        super()._check()
        self._require("num_gradient_estimates", self.num_gradient_estimates >= 1, "an int >= 1")


@MODELS.register()
class MIWAE(IWAE):
    """IWAE whose loss averages ``M`` independent K-sample bounds."""

    config_class = MIWAEConfig

    @property
    def num_draws(self) -> int:
        return self.model_config.num_importance_samples * self.model_config.num_gradient_estimates

    def miwae_bounds(self, log_w: Tensor) -> dict[str, Tensor]:
        """Per-sample MIWAE(M, K) bound and the IWAE(M*K) bound of the same draws."""
        miwae = _losses.importance_weighted_bound(log_w, self.model_config.num_gradient_estimates).mean(0)
        return {"miwae_bound": miwae, "iwae_bound": _losses.importance_weighted_bound(log_w)[0]}

    def objective(self, log_w: Tensor) -> Objective:
        bounds = self.miwae_bounds(log_w)
        return -bounds["miwae_bound"], bounds, None
