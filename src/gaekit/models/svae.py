"""Hyperspherical VAE (SVAE) -- Davidson, Falorsi, De Cao, Kipf and Tomczak, "Hyperspherical
Variational Auto-Encoders", UAI 2018, arXiv:1804.00891.

Latent space: the unit sphere ``S^{d-1}``, ``d = latent_dim`` (>= 2). Posterior: von Mises-Fisher
``q(z|x) = vMF(mu(x), kappa(x))`` (Sec. 3), the encoder giving the mean direction ``mu`` (unit norm) and
``log kappa`` (``EncoderOutput.log_concentration``; ``kappa = exp`` of it, or ``softplus(.) + 1`` as in the
authors' code with ``concentration_link="softplus_plus_one"``, clamped to ``[kappa_min, kappa_max]``).
Prior: the uniform distribution on ``S^{d-1}``. Objective: the negative ELBO
``L(x) = rec(x, D(z)) + KL(vMF(mu, kappa) || U(S^{d-1}))`` with the closed-form KL of Sec. 3,
``kappa A_d(kappa) + log C_d(kappa) + log |S^{d-1}|`` (Bessel ratios computed stably, see
``gaekit.distributions``), and ``z`` drawn by Wood's rejection sampler, reparameterised as in
Sec. 3 (Naesseth et al. 2017; the reparameterised part ``g_rep`` of the gradient).

Config fields: those of ``VAEConfig`` plus ``kappa_min`` (default 1e-3), ``kappa_max`` (default 1e4) and
``concentration_link`` (default ``"exp"``).
``generate`` and ``HypersphereUniformSampler`` decode codes drawn uniformly on the sphere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from gaekit import distributions as D
from gaekit import manifolds as M
from gaekit.models._manifold import ManifoldVAE
from gaekit.models.base import MODELS
from gaekit.models.vae import VAEConfig


@dataclass
class SVAEConfig(VAEConfig):
    """Config of ``SVAE``.

    Parameters
    ----------
    latent_dim : int, default 10
        Dimension ``d`` of the ambient space of the sphere ``S^{d-1}`` (>= 2).
    kappa_min, kappa_max : float, default 1e-3, 1e4
        Range the concentration ``kappa`` is clamped to.
    concentration_link : {"exp", "softplus_plus_one"}, default "exp"
        How the encoder's ``log_concentration`` output ``h`` gives ``kappa``: ``exp(h)`` (gaekit's), or
        ``softplus(h) + 1`` (the S-VAE authors' reference code and Pythae's, which keeps ``kappa >= 1``);
        Pythae's SVAE folders load with the latter.
    """

    name: ClassVar[str] = "SVAE"
    kappa_min: float = 1e-3
    kappa_max: float = 1e4
    concentration_link: Literal["exp", "softplus_plus_one"] = "exp"

    def _check(self) -> None:
        super()._check()
        self._require("latent_dim", self.latent_dim >= 2, "an int >= 2 (the sphere S^{latent_dim-1})")
        self._require_positive("kappa_min", "kappa_max")
        self._require("kappa_max", self.kappa_max > self.kappa_min, f"a number > kappa_min={self.kappa_min}")


@MODELS.register()
class SVAE(ManifoldVAE):
    """VAE with a von Mises-Fisher posterior and a uniform prior on the unit hypersphere."""

    config_class = SVAEConfig
    encoder_kind: ClassVar[str] = "hyperspherical"

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean direction ``(B, d)`` and concentration ``kappa`` ``(B, 1)`` of ``q(z|x)``."""
        out = self.encode(x)
        if out.log_concentration is None:
            raise TypeError(f"{type(self).__name__} needs a hyperspherical encoder, which returns a "
                            "log_concentration (build it with create_network(..., model=SVAE))")
        c = self.model_config
        mu = out.embedding / out.embedding.norm(dim=-1, keepdim=True).clamp_min(M.MIN_NORM)
        if c.concentration_link == "exp":
            kappa = out.log_concentration.clamp(math.log(c.kappa_min), math.log(c.kappa_max)).exp()
        else:
            kappa = (F.softplus(out.log_concentration) + 1).clamp(c.kappa_min, c.kappa_max)
        return mu, kappa

    def posterior_distribution(self, x: Tensor) -> D.VonMisesFisher:
        return D.VonMisesFisher(*self.posterior(x))

    def divergence(self, q: D.VonMisesFisher, z: Tensor) -> Tensor:
        return q.kl_to_uniform()

    def log_prior(self, z: Tensor) -> Tensor:
        """``log p(z) = -log |S^{d-1}|`` (uniform on the sphere)."""
        return torch.full(z.shape[:-1], -M.log_sphere_area(self.latent_dim), dtype=z.dtype, device=z.device)

    def sample_prior(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes uniform on ``S^{d-1}``."""
        return D.sample_sphere_uniform((num_samples,), self.latent_dim, generator).to(self.device)
