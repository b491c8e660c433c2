"""Shared base of the VAEs whose latent space is a manifold (SVAE, PoincareVAE).

A subclass gives its posterior as a distribution object with ``rsample(num_samples, generator)`` and
``log_prob(z)`` (see ``gaekit.distributions``), its prior through ``log_prior`` and
``sample_prior``, and the per-sample divergence term; the objective is the negative ELBO
``L(x) = rec(x, D(z)) + KL(q(z|x) || p(z))``, ``z ~ q(z|x)`` reparameterised.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from gaekit.config import keyword_aliases
from gaekit.models import _losses, step
from gaekit.models.base import ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, check_importance_sampling


class ManifoldVAE(VAE):
    """A VAE whose posterior and prior live on a manifold; subclasses implement the three hooks."""

    def posterior_distribution(self, x: Tensor) -> Any:  # pragma: no cover - abstract
        """``q(z|x)`` as a distribution object (``rsample``, ``log_prob``)."""
        raise NotImplementedError

    def divergence(self, q: Any, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Per-sample ``KL(q(z|x) || p(z))`` (closed form, or Monte Carlo from the sample ``z``)."""
        raise NotImplementedError

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        q = self.posterior_distribution(x)
        z = q.rsample(generator=step.generator_of(ctx))
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        kl = self.divergence(q, z)
        loss = self.combine(recon_loss, kl, ctx).mean()
        return ModelOutput(loss=loss, recon_x=recon_x, z=z,
                           terms={"recon_loss": recon_loss.mean(), "kl": kl.mean()})

    @keyword_aliases(n_importance_samples="num_importance_samples")
    def log_likelihood(self, x: Tensor, num_importance_samples: int = 100, chunk_size: int = 50,
                       generator: torch.Generator | None = None) -> Tensor:
        """Importance-sampled ``log p(x)`` per sample, shape ``(B,)``, with ``q(z|x)`` as proposal:
        ``logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K`` (Burda et al. 2016, Eq. 8);
        prior and posterior densities are taken w.r.t. the same (Riemannian) base measure."""
        num_importance_samples, chunk_size = check_importance_sampling(num_importance_samples, chunk_size)
        with self._inference():
            x = self._to_model(x)
            q = self.posterior_distribution(x)
            log_weights = []
            for start in range(0, num_importance_samples, chunk_size):
                k = min(chunk_size, num_importance_samples - start)
                z = q.rsample(k, generator)
                logits = self.decode_logits(z.reshape(-1, z.shape[-1]))
                x_rep = x.expand(k, *x.shape).reshape(logits.shape)
                log_px = _losses.decoder_log_likelihood(logits, x_rep, self.model_config.reconstruction_loss,
                                                        self.activate(logits),
                                                        variance=self.model_config.decoder_variance).view(k, -1)
                log_weights.append(log_px + self.log_prior(z) - q.log_prob(z))
            return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(num_importance_samples)
