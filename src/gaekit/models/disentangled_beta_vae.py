"""Disentangled beta-VAE (controlled capacity increase) -- Burgess et al., "Understanding disentangling
in beta-VAE", 2018, arXiv:1804.03599.

Objective (Sec. 5, Eq. 8), per sample and then averaged over the batch:
``L(x) = rec(x, D(z)) + beta * |KL(q(z|x) || N(0, I)) - C_t|``, with the closed-form KL of the VAE.
The target capacity ``C_t`` (in nats) grows linearly with the epoch, from 0 at epoch 0 to ``C`` at
epoch ``warmup_epoch`` and stays there: ``C_t = C * min(epoch / warmup_epoch, 1)`` (``ctx.epoch``,
0-based as counted by the trainer). With ``warmup_steps`` set it grows per training step instead, as in
the paper (and Locatello et al. 2019's AnnealedVAE, whose "iteration threshold" it is):
``C_t = C * min(global_step / warmup_steps, 1)``. Called without a ``StepContext`` (outside the trainer)
the model uses the end-of-warm-up value ``C_t = C``; ``warmup_epoch = 0`` also means ``C`` from the
start. With ``C = 0`` the loss is beta-VAE's (Higgins et al. 2017, Eq. 4).

Config fields (beyond ``VAEConfig``): ``beta`` (weight of the capacity gap, default 10), ``C``
(maximal capacity in nats, default 50), ``warmup_epoch`` (epochs of the linear increase, default 25;
the Pythae benchmark's per-epoch schedule), ``warmup_steps`` (steps of a per-step increase, default None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.models.base import MODELS, ModelOutput, StepContext
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class DisentangledBetaVAEConfig(VAEConfig):
    """Config of ``DisentangledBetaVAE``.

    Parameters
    ----------
    beta : float, default 10.0
        Weight of ``|KL - C_t|`` (>= 0); the paper's gamma.
    C : float, default 50.0
        Capacity reached at the end of the warm-up, in nats (>= 0).
    warmup_epoch : int, default 25
        Number of epochs over which ``C_t`` rises linearly from 0 to ``C`` (>= 0).
    warmup_steps : int, optional
        Number of training steps over which ``C_t`` rises linearly from 0 to ``C`` (>= 1); when set it
        replaces ``warmup_epoch``'s per-epoch schedule.
    """

    name: ClassVar[str] = "DisentangledBetaVAE"
    beta: float = 10.0
    C: float = 50.0
    warmup_epoch: int = 25
    warmup_steps: int | None = None

    def _check(self) -> None:
        super()._check()
        self._require_positive("beta", "C", allow_zero=True)
        self._require("warmup_epoch", self.warmup_epoch >= 0, "an int >= 0")
        self._require("warmup_steps", self.warmup_steps is None or self.warmup_steps >= 1, "None or an int >= 1")


@MODELS.register()
class DisentangledBetaVAE(VAE):
    """VAE whose KL is pulled towards a target capacity ``C_t`` that grows during training."""

    config_class = DisentangledBetaVAEConfig

    def capacity(self, ctx: StepContext | None) -> float:
        """The target KL ``C_t`` at this step: ``C * min(global_step / warmup_steps, 1)`` when ``warmup_steps`` is
        set, else ``C * min(epoch / warmup_epoch, 1)``; ``C`` without ``ctx``."""
        c = self.model_config
        if ctx is None:
            return c.C
        if c.warmup_steps is not None:
            return c.C * min(ctx.global_step / c.warmup_steps, 1.0)
        if c.warmup_epoch == 0:
            return c.C
        return c.C * min(ctx.epoch / c.warmup_epoch, 1.0)

    def combine(self, recon_loss: Tensor, kl: Tensor, ctx: StepContext | None) -> Tensor:
        return recon_loss + self.model_config.beta * (kl - self.capacity(ctx)).abs()

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        out = super().forward(batch, ctx)
        out.terms["capacity"] = torch.tensor(self.capacity(ctx), device=out.loss.device)
        return out
