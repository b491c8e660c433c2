"""InfoVAE with an MMD divergence (InfoVAE_MMD) -- Zhao, Song and Ermon, "InfoVAE: Information
Maximizing Variational Autoencoders", AAAI 2019, arXiv:1706.02262.

Objective: the InfoVAE objective in the authors' tractable form, with the divergence ``D`` between
the aggregate posterior and the prior chosen as the MMD (their "MMD-VAE"), as written in the
Pythae paper's Appendix D (to minimise, per batch):
``L = mean_i [rec(x_i, D(z_i)) + (1 - alpha) KL(q(z|x_i) || N(0, I))]
      + (alpha + lbd - 1) * MMD_u^2({z_i}, {z~_i})``
with ``z_i ~ q(z|x_i)`` reparameterised, ``z~_i ~ N(0, I)`` drawn afresh for every batch, the
closed-form Gaussian KL, and the unbiased MMD^2 U-statistic of the kernels shared with
``WAE_MMD`` (IMQ or RBF, ``C = 2 * latent_dim * kernel_bandwidth^2``). ``alpha = 0`` (the
authors' advice for simple decoders) gives the "MMD-VAE" ``rec + KL + (lbd - 1) MMD``;
``alpha = 1, lbd = 0`` leaves the reconstruction alone. Note that ``alpha + lbd < 1`` makes the
MMD weight negative, as happens in the Pythae grid (Table 15, lbd = 1e-2 / 1e-1); it is allowed.

Config fields (beyond the VAE's):
    kernel_choice, kernel_bandwidth, scales -- as in ``WAE_MMD`` (shared ``MMDKernelFields``).
    alpha : float, default 0.0 -- mutual-information weight (<= 1, so the KL weight is >= 0).
    lbd : float, default 10.0 -- lambda, the divergence weight (>= 0; Pythae grid 1e-2-100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor

from gaekit.models.base import MODELS, ModelOutput, StepContext
from gaekit.models.vae import VAE, VAEConfig
from gaekit.models.wae_mmd import MMDKernelFields, MMDPenalty


@dataclass
class InfoVAE_MMDConfig(MMDKernelFields, VAEConfig):  # noqa: N801 - the model's name
    """Config of ``InfoVAE_MMD``.

    Parameters
    ----------
    kernel_choice : {"imq", "rbf"}, default "imq"
    kernel_bandwidth : float, default 1.0
        sigma in ``C = 2 * latent_dim * sigma^2`` (> 0).
    scales : tuple of float, optional
        Kernel scales; None: (0.1, 0.2, 0.5, 1, 2, 5, 10) for IMQ, (1,) for RBF.
    alpha : float, default 0.0
        Mutual-information weight; the KL is weighted by ``1 - alpha`` (so ``alpha <= 1``).
    lbd : float, default 10.0
        Divergence weight lambda (>= 0); the MMD is weighted by ``alpha + lbd - 1``.
    """

    name: ClassVar[str] = "InfoVAE_MMD"
    alpha: float = 0.0
    lbd: float = 10.0

    def _check(self) -> None:
        super()._check()
        self._require("alpha", -float("inf") < self.alpha <= 1, "a finite number <= 1 (the KL weight is 1 - alpha)")
        self._require_positive("lbd", allow_zero=True)


InfoVAE_MMD_Config = InfoVAE_MMDConfig  # gaekit's former name (Pythae: INFOVAE_MMD_Config)


@MODELS.register()
class InfoVAE_MMD(MMDPenalty, VAE):  # noqa: N801 - the model's name
    """VAE with a (1 - alpha)-weighted KL and an (alpha + lbd - 1)-weighted MMD to the prior."""

    config_class = InfoVAE_MMDConfig

    def combine(self, recon_loss: Tensor, kl: Tensor, ctx: StepContext | None) -> Tensor:
        return recon_loss + (1.0 - self.model_config.alpha) * kl

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        out = super().forward(batch, ctx)
        mmd = self.mmd_to_prior(out.z, ctx=ctx)
        c = self.model_config
        out.loss = out.loss + (c.alpha + c.lbd - 1.0) * mmd
        out.terms["mmd"] = mmd
        return out
