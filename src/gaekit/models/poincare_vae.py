"""Poincare VAE -- Mathieu, Le Lan, Maddison, Tomioka and Teh, "Continuous Hierarchical
Representations with Poincare Variational Auto-Encoders", NeurIPS 2019, arXiv:1901.06033.

Latent space: the Poincare ball ``B^d_c = {z : ||z|| < 1/sqrt(c)}`` of curvature ``-c``
(``c = curvature``). Posterior: the wrapped normal ``N^W(mu(x), diag(sigma^2(x)))`` (Sec. 3), with
``mu = exp_0^c(encoder mean)`` (so ``embed`` returns points of the ball) and ``sigma = exp(log_var / 2)``.
Prior: the wrapped normal ``N^W(0, prior_scale^2 I)``. Objective: the negative ELBO (Sec. 4)
``L(x) = rec(x, D(z)) + [log q(z|x) - log p(z)]`` with ``z ~ q(z|x)`` reparameterised and the KL
estimated by Monte Carlo from that one sample; both densities include the Jacobian of the exponential
map, ``(sqrt(c) r / sinh(sqrt(c) r))^{d-1}`` (``gaekit.models._distributions.WrappedNormal``). The
decoder takes the ball coordinates ``z`` as input (the paper's gyroplane first layer is not used).

Config fields: those of ``VAEConfig`` plus ``curvature`` (``c > 0``, default 1.0), ``prior_scale``
(default 1.0), ``prior_distribution`` and ``posterior_distribution`` (``"wrapped_normal"``; the
Riemannian normal of Sec. 3 is not implemented yet and is refused with a ``ConfigError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from gaekit.models import _distributions as D
from gaekit.models._manifold import ManifoldVAE
from gaekit.models.base import MODELS
from gaekit.models.vae import VAEConfig
from gaekit.nn import EncoderOutput, as_encoder_output

DISTRIBUTIONS = ("wrapped_normal", "riemannian_normal")


@dataclass
class PoincareVAEConfig(VAEConfig):
    """Config of ``PoincareVAE``.

    Parameters
    ----------
    curvature : float, default 1.0
        ``c > 0``: the ball has curvature ``-c`` and radius ``1 / sqrt(c)``.
    prior_scale : float, default 1.0
        Standard deviation of the wrapped normal prior at the origin.
    prior_distribution, posterior_distribution : {"wrapped_normal", "riemannian_normal"}
        Only ``"wrapped_normal"`` is implemented; ``"riemannian_normal"`` raises ``ConfigError``.
    """

    name: ClassVar[str] = "PoincareVAE"
    curvature: float = 1.0
    prior_scale: float = 1.0
    prior_distribution: Literal["wrapped_normal", "riemannian_normal"] = "wrapped_normal"
    posterior_distribution: Literal["wrapped_normal", "riemannian_normal"] = "wrapped_normal"

    def _check(self) -> None:
        super()._check()
        self._require_positive("curvature", "prior_scale")
        for field in ("prior_distribution", "posterior_distribution"):
            self._require(field, getattr(self, field) == "wrapped_normal",
                          "'wrapped_normal' ('riemannian_normal' is not implemented yet)")


@MODELS.register("PoincareVAE")
class PoincareVAE(ManifoldVAE):
    """VAE with wrapped normal posterior and prior on the Poincare ball."""

    config_class = PoincareVAEConfig

    @property
    def curvature(self) -> float:
        return self.model_config.curvature

    def encode(self, x: Tensor) -> EncoderOutput:
        """The encoder's output with its mean mapped onto the ball by ``exp_0^c``."""
        out = as_encoder_output(self.encoder(x))
        return EncoderOutput(embedding=D.expmap0(out.embedding, self.curvature), log_covariance=out.log_covariance)

    def posterior_distribution(self, x: Tensor) -> D.WrappedNormal:
        mu, log_var = self.posterior(x)
        return D.WrappedNormal(mu, torch.exp(0.5 * log_var), self.curvature)

    def prior(self, like: Tensor | None = None) -> D.WrappedNormal:
        """``N^W(0, prior_scale^2 I)`` on the ball."""
        device = self.device if like is None else like.device
        zero = torch.zeros(self.latent_dim, device=device)
        return D.WrappedNormal(zero, torch.full_like(zero, self.model_config.prior_scale), self.curvature)

    def divergence(self, q: D.WrappedNormal, z: Tensor) -> Tensor:
        """One-sample Monte Carlo ``log q(z|x) - log p(z)``."""
        return q.log_prob(z) - self.log_prior(z)

    def log_prior(self, z: Tensor) -> Tensor:
        return self.prior(z).log_prob(z)

    def sample_prior(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes from the wrapped normal prior."""
        zero = torch.zeros(self.latent_dim)
        prior = D.WrappedNormal(zero, torch.full_like(zero, self.model_config.prior_scale), self.curvature)
        return prior.rsample(num_samples, generator).to(self.device)
