"""beta-VAE -- Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR 2017.

Objective (Eq. 4): ``L(x) = rec(x, D(z)) + beta * KL(q(z|x) || N(0, I))``; ``beta = 1`` is the VAE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from gaekit.models.base import MODELS, StepContext
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class BetaVAEConfig(VAEConfig):
    """Config of ``BetaVAE``.

    Parameters
    ----------
    beta : float, default 1.0
        Weight of the KL term (>= 0).
    """

    name: ClassVar[str] = "BetaVAE"
    beta: float = 1.0

    def _check(self) -> None:
        super()._check()
        self._require_positive("beta", allow_zero=True)


@MODELS.register()
class BetaVAE(VAE):
    """VAE whose KL term is weighted by ``beta``."""

    config_class = BetaVAEConfig

    def combine(self, recon_loss: Tensor, kl: Tensor, ctx: StepContext | None) -> Tensor:
        return recon_loss + self.model_config.beta * kl
