"""Importance weighted autoencoder (IWAE) -- Burda, Grosse and Salakhutdinov, "Importance
Weighted Autoencoders", ICLR 2016, arXiv:1509.00519.

Objective (Eq. 8): with ``K`` draws ``z_1..z_K ~ q(z|x)`` (reparameterised, ``z = mu + sigma * eps``)
and importance weights ``w_k = p(x|z_k) p(z_k) / q(z_k|x)``,
``L_K(x) = log (1/K sum_k w_k)`` and the training loss is ``-L_K(x)`` averaged over the batch.
``K = 1`` is the VAE objective with a Monte-Carlo estimate of the KL term; ``L_K`` is a lower
bound on ``log p(x)`` that tightens as ``K`` grows (Theorem 1).

``log p(x|z)`` here is minus the training reconstruction loss (``normalized=False``): for the MSE
decoder the bounds reported as terms leave out the constant ``-D/2 log(pi)``, which
``log_likelihood`` (inherited from ``VAE``) includes.

Config fields (beyond ``VAEConfig``): ``num_importance_samples`` (K, default 10; Pythae's ``number_samples``).

This module also holds the forward pass that MIWAE, CIWAE and PIWAE share: they subclass
``IWAE`` and only change how many draws are taken (``num_draws``) and how the ``(num_draws, B)``
log-weights become a loss (``objective``); the bound itself is
``_losses.importance_weighted_bound``. The objectives do not depend on the training step, so
``ctx`` is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.models import _losses
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, VAEConfig

# (per-sample loss (B,), named per-sample bounds {name: (B,)}, per-sample group losses or None)
Objective = tuple[Tensor, dict[str, Tensor], dict[str, Tensor] | None]


@dataclass
class IWAEConfig(VAEConfig):
    """Config of ``IWAE``.

    Parameters
    ----------
    num_importance_samples : int, default 10
        ``K``, the number of draws from ``q(z|x)`` per data point in the bound (>= 1); Pythae's
        ``number_samples``.
    """

    name: ClassVar[str] = "IWAE"
    aliases: ClassVar[dict[str, str]] = {"number_samples": "num_importance_samples"}
    num_importance_samples: int = 10

    def _check(self) -> None:
        super()._check()
        self._require("num_importance_samples", self.num_importance_samples >= 1, "an int >= 1")


@MODELS.register()
class IWAE(VAE):
    """VAE trained on the K-sample importance-weighted bound.

    ``forward`` returns ``loss = -iwae_bound`` and the terms ``iwae_bound`` (the K-sample bound),
    ``elbo`` (the mean log-weight over the same draws: the Monte-Carlo ELBO), and, for
    comparison with the VAE, ``recon_loss`` and the closed-form ``kl`` of the first draw
    (``recon_loss + kl`` is the VAE loss on that draw). ``recon_x`` and ``z`` come from the first
    draw; ``recon_x``, ``recon_loss`` and ``kl`` are diagnostics computed without gradient.
    """

    config_class = IWAEConfig

    @property
    def num_draws(self) -> int:
        """Draws from ``q(z|x)`` per data point in one forward pass."""
        return self.model_config.num_importance_samples

    def importance_sample(self, x: Tensor, num_draws: int,
                          ctx: StepContext | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(mean, log_var, z, log_w)``: ``num_draws`` reparameterised codes ``z`` of shape
        ``(num_draws, B, L)`` and their log-weights ``log p(x|z) + log p(z) - log q(z|x)``, ``(num_draws, B)``.
        """
        return self._draw_and_weigh(x, num_draws, ctx)[:4]

    def _draw_and_weigh(self, x: Tensor, num_draws: int,
                        ctx: StepContext | None) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``importance_sample``'s values, then ``log p(x|z)`` ``(num_draws, B)`` and the decoder logits (draw-major
        rows), so that ``forward`` reads the first draw's diagnostics without decoding it again."""
        mean, log_var = self.posterior(x)
        z = _losses.reparameterize(mean.expand(num_draws, *mean.shape), log_var.expand(num_draws, *log_var.shape),
                                   ctx)
        log_w, log_px, logits = self.decoded_log_weights(x, mean, log_var, z, normalized=False)
        return mean, log_var, z, log_w, log_px, logits

    def objective(self, log_w: Tensor) -> Objective:
        """The K-sample IWAE bound (Burda et al. 2016, Eq. 8); its negative is the loss."""
        bound = _losses.importance_weighted_bound(log_w)[0]
        return -bound, {"iwae_bound": bound}, None

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        mean, log_var, z, log_w, log_px, logits = self._draw_and_weigh(x, self.num_draws, ctx)
        loss, bounds, group_losses = self.objective(log_w)
        with torch.no_grad():  # diagnostics on the first draw (its decoding reused), comparable to the VAE's terms
            recon_x, recon_loss = self.activate(logits[:len(x)]), -log_px[0]
            kl = self.kl_term(z[0], mean, log_var)
        terms = {**bounds, "elbo": log_w.mean(0), "recon_loss": recon_loss, "kl": kl}
        return ModelOutput(
            loss=loss.mean(), recon_x=recon_x, z=z[0], terms={k: v.mean() for k, v in terms.items()},
            group_losses=None if group_losses is None else {g: v.mean() for g, v in group_losses.items()},
        )
