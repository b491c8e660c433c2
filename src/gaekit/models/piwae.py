"""Partially importance weighted autoencoder (PIWAE) -- Rainforth, Kosiorek, Le, Maddison, Igl,
Wood and Teh, "Tighter Variational Bounds are Not Necessarily Better", ICML 2018, arXiv:1802.04537.

Objective (Sec. 4, PIWAE): the encoder (inference network) and the decoder (generative network)
are trained on different targets computed from the same ``M * K`` draws ``z ~ q(z|x)``:
the encoder maximises the MIWAE(M, K) bound ``1/M sum_m log (1/K sum_k w_{m,k})`` (tighter bounds
lower the signal-to-noise ratio of its gradient), the decoder maximises the IWAE(M*K) bound
``log (1/(MK) sum_{m,k} w_{m,k})`` (tighter is better for it). Two parameter groups, each with
its own optimizer: ``group_losses = {"encoder": -miwae_bound, "decoder": -iwae_bound}``, and the
trainer back-propagates each loss into its own group only.

Config fields: ``num_importance_samples`` (K, default 10) and ``num_gradient_estimates`` (M, default 4),
as in ``MIWAEConfig``. ``loss`` (logging and model selection) is ``-iwae_bound``, the tighter
bound; terms as in ``MIWAE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from gaekit.models.base import MODELS
from gaekit.models.iwae import Objective
from gaekit.models.miwae import MIWAE, MIWAEConfig


@dataclass
class PIWAEConfig(MIWAEConfig):
    """Config of ``PIWAE``: ``num_importance_samples`` (K) and ``num_gradient_estimates`` (M) as in MIWAE."""

    name: ClassVar[str] = "PIWAE"


@MODELS.register()
class PIWAE(MIWAE):
    """Encoder trained on the MIWAE(M, K) bound, decoder on the IWAE(M*K) bound."""

    config_class = PIWAEConfig

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"encoder": list(self.encoder.parameters()), "decoder": list(self.decoder.parameters())}

    def objective(self, log_w: Tensor) -> Objective:
        bounds = self.miwae_bounds(log_w)
        groups = {"encoder": -bounds["miwae_bound"], "decoder": -bounds["iwae_bound"]}
        return -bounds["iwae_bound"], bounds, groups
