"""Variational autoencoder (VAE) -- Kingma and Welling, "Auto-Encoding Variational Bayes",
ICLR 2014, arXiv:1312.6114.

Objective: the negative ELBO of Eq. (10) with a diagonal Gaussian posterior
``q(z|x) = N(mu(x), diag(sigma^2(x)))``, a standard normal prior and the closed-form KL of
Appendix B, reparameterised as ``z = mu + sigma * eps`` (Eq. 9):
``L(x) = rec(x, D(z)) + KL(q(z|x) || N(0, I))``.
``log_likelihood`` estimates ``log p(x)`` by importance sampling with ``q(z|x)`` as proposal
(Burda et al. 2016, Eq. 8 with k samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.config import check_count, keyword_aliases
from gaekit.errors import ConfigError
from gaekit.models import _losses
from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput, StepContext, batch_data


def check_importance_sampling(num_importance_samples: Any, chunk_size: Any) -> tuple[int, int]:
    """Both arguments of ``log_likelihood`` as positive ints, else ``ConfigError``."""
    return (check_count(num_importance_samples, "log_likelihood: num_importance_samples"),
            check_count(chunk_size, "log_likelihood: chunk_size"))


def no_log_covariance(model: BaseAE) -> ConfigError:
    """The error of a Gaussian-posterior model whose encoder returned no ``log_covariance``."""
    name = type(model).__name__
    return ConfigError(f"{name}'s encoder ({type(model.encoder).__name__}) returned no log_covariance: a {name} needs "
                       "a variational encoder returning EncoderOutput(embedding=..., log_covariance=...), e.g. "
                       f"gaekit.nn.create_network(..., role='encoder', model={name!r})")


@dataclass
class VAEConfig(BaseAEConfig):
    """Config of ``VAE``: the fields of ``BaseAEConfig`` only."""

    name: ClassVar[str] = "VAE"


@MODELS.register()
class VAE(BaseAE):
    """Variational autoencoder with a Gaussian posterior and a standard normal prior."""

    config_class = VAEConfig
    variational = True

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of ``q(z|x)``."""
        out = self.encode(x)
        if out.log_covariance is None:  # checked here, where it is free, not by a trial run at construction
            raise no_log_covariance(self)
        return out.embedding, out.log_covariance

    def log_prior(self, z: Tensor) -> Tensor:
        """``log p(z)`` per sample; standard normal here."""
        return _losses.log_normal_standard(z)

    def kl_term(self, z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
        """Per-sample ``KL(q(z|x) || p(z))``, in closed form for the standard normal prior."""
        return _losses.gaussian_kl(mean, log_var)

    def combine(self, recon_loss: Tensor, kl: Tensor, ctx: StepContext | None) -> Tensor:
        """Per-sample loss from its reconstruction and KL terms (the VAE: their sum)."""
        return recon_loss + kl

    def batch_penalty(self, mean: Tensor, log_var: Tensor) -> tuple[Tensor, dict[str, Tensor]] | None:
        """A penalty on the whole batch's posterior, added to the mean loss, and the terms it reports (e.g.
        DIP-VAE's covariance penalty); None for the VAE."""
        return None

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        z = _losses.reparameterize(mean, log_var, ctx)
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        kl = self.kl_term(z, mean, log_var)
        loss = self.combine(recon_loss, kl, ctx).mean()
        terms = {"recon_loss": recon_loss.mean(), "kl": kl.mean()}
        penalty = self.batch_penalty(mean, log_var)
        if penalty is not None:
            loss = loss + penalty[0]
            terms.update(penalty[1])
        return ModelOutput(loss=loss, recon_x=recon_x, z=z, terms=terms)

    def log_importance_weights(self, x: Tensor, mean: Tensor, log_var: Tensor, z: Tensor,
                               normalized: bool = True) -> Tensor:
        """``log p(x|z_k) + log p(z_k) - log q(z_k|x)`` for codes ``z`` of shape ``(K, B, L)``: ``(K, B)``.

        ``normalized=False`` drops the MSE decoder's constant (training objectives use that form).
        """
        return self.decoded_log_weights(x, mean, log_var, z, normalized)[0]

    def decoded_log_weights(self, x: Tensor, mean: Tensor, log_var: Tensor, z: Tensor,
                            normalized: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """``(log_w (K, B), log p(x|z_k) (K, B), decoder logits (K * B, *input_dim))`` of ``log_importance_weights``,
        for callers that reuse the decoding (the rows of draw ``k`` are ``[k * B, (k + 1) * B)``)."""
        k = z.shape[0]
        logits = self.decode_logits(z.reshape(-1, z.shape[-1]))
        x_rep = x.expand(k, *x.shape).reshape(logits.shape)
        c = self.model_config
        recon_x = self.activate(logits) if c.reconstruction_loss == "mse" else None  # the Bernoulli reads logits only
        log_px = _losses.decoder_log_likelihood(logits, x_rep, c.reconstruction_loss, recon_x,
                                                normalized, c.decoder_variance).view(k, -1)
        return log_px + self.log_prior(z) - _losses.log_normal_diag(z, mean, log_var), log_px, logits

    @keyword_aliases(n_importance_samples="num_importance_samples")
    def log_likelihood(self, x: Tensor, num_importance_samples: int = 100, chunk_size: int = 50,
                       generator: torch.Generator | None = None) -> Tensor:
        """Importance-sampled ``log p(x)`` per sample, shape ``(B,)``.

        ``log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K`` with
        ``z_k ~ q(z|x)``; the negative mean over a data set is the NLL reported by the paper.
        Samples are drawn ``chunk_size`` at a time to bound memory. ``n_importance_samples`` is accepted
        as the old name of ``num_importance_samples``.
        """
        num_importance_samples, chunk_size = check_importance_sampling(num_importance_samples, chunk_size)
        with self._inference():
            x = self._to_model(x)
            mean, log_var = self.posterior(x)
            log_weights = []
            for start in range(0, num_importance_samples, chunk_size):
                k = min(chunk_size, num_importance_samples - start)
                z = _losses.reparameterize(mean.expand(k, *mean.shape), log_var.expand(k, *log_var.shape),
                                           StepContext(training=False, generator=generator))
                log_weights.append(self.log_importance_weights(x, mean, log_var, z))
            return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(num_importance_samples)
