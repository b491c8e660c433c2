"""Sampling an RHVAE's learned Riemannian latent space with Hamiltonian Monte Carlo (Chadebec, Mantoux and
Allassonniere, arXiv:2010.11518, Sec. 4; the "RHVAE" sampler of the Pythae benchmark, arXiv:2206.08309).

The target density is ``pi(z) ∝ sqrt(det G^{-1}(z))`` (high near the centroids, where the metric is small),
for the model's stored metric (``RHVAE.metric_inverse``). Each of ``num_mcmc_steps`` HMC steps draws a momentum
``N(0, I)``, runs ``num_leapfrog_steps`` leapfrog steps of size ``eps_lf`` with the tempering of HVAE from ``beta_zero``
(1: no tempering) and accepts with the Metropolis ratio of ``H(z, rho) = -log pi(z) + |rho|^2 / 2``.
Chains start at centroids drawn uniformly (``N(0, I)`` when the model has no stored metric yet).
Everything is drawn from the seeded generator of ``sample``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gaekit.models import _losses
from gaekit.models.rhvae import RHVAE
from gaekit.samplers.base import SAMPLERS, BaseSampler, BaseSamplerConfig


@dataclass
class RHVAESamplerConfig(BaseSamplerConfig):
    """Config of ``RHVAESampler``.

    Parameters
    ----------
    num_mcmc_steps : int, default 100
        HMC steps per chain (>= 1); Pythae's ``mcmc_steps_nbr``.
    num_leapfrog_steps : int, default 15
        Leapfrog steps per HMC step (>= 1); Pythae's ``n_lf``.
    eps_lf : float, default 0.03
        Leapfrog step size (> 0).
    beta_zero : float, default 1.0
        Initial inverse temperature of the tempering, in (0, 1] (1: plain HMC).
    """

    name: ClassVar[str] = "RHVAESampler"
    aliases: ClassVar[dict[str, str]] = {"mcmc_steps_nbr": "num_mcmc_steps", "n_lf": "num_leapfrog_steps"}
    num_mcmc_steps: int = 100
    num_leapfrog_steps: int = 15
    eps_lf: float = 0.03
    beta_zero: float = 1.0

    def _check(self) -> None:
        super()._check()
        for field in ("num_mcmc_steps", "num_leapfrog_steps"):
            self._require(field, isinstance(getattr(self, field), int) and getattr(self, field) >= 1, "an int >= 1")
        self._require_positive("eps_lf")
        self._require("beta_zero", 0 < self.beta_zero <= 1, "a number in (0, 1]")


@SAMPLERS.register()
class RHVAESampler(BaseSampler):
    """HMC on an ``RHVAE``'s learned metric; only ``RHVAE`` models are accepted.

    Examples
    --------
    >>> sampler = RHVAESampler(rhvae, RHVAESamplerConfig(num_mcmc_steps=50))  # doctest: +SKIP
    >>> images = sampler.sample(16, seed=0)  # doctest: +SKIP
    """

    config_class = RHVAESamplerConfig
    needs_fit = False
    accepted_models = (RHVAE,)

    def _log_density_and_grad(self, z: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            log_pi = 0.5 * torch.logdet(self.model.metric_inverse(z))
            return log_pi.detach(), torch.autograd.grad(log_pi.sum(), z)[0]

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        c, model = self.sampler_config, self.model
        centroids = model.centroids.detach().to("cpu", torch.float32)
        if len(centroids):
            z = centroids[torch.randint(len(centroids), (num_samples,), generator=generator)]
        else:
            z = torch.randn(num_samples, model.latent_dim, generator=generator)
        z = z.to(model.device)
        sqrt_b0 = c.beta_zero ** 0.5
        log_pi, grad = self._log_density_and_grad(z)
        for _ in range(c.num_mcmc_steps):
            gamma = torch.randn(z.shape, generator=generator).to(z.device)
            rho = gamma / sqrt_b0
            h0 = -log_pi + 0.5 * rho.pow(2).sum(-1)
            z_new, lp_new, g_new, prev = z, log_pi, grad, sqrt_b0
            for k in range(1, c.num_leapfrog_steps + 1):
                rho = rho + 0.5 * c.eps_lf * g_new
                z_new = z_new + c.eps_lf * rho
                lp_new, g_new = self._log_density_and_grad(z_new)
                rho = rho + 0.5 * c.eps_lf * g_new
                sqrt_beta = _losses.tempering_sqrt_beta(k, c.num_leapfrog_steps, sqrt_b0)
                rho, prev = rho * (prev / sqrt_beta), sqrt_beta
            h1 = -lp_new + 0.5 * rho.pow(2).sum(-1)
            u = torch.rand(num_samples, generator=generator).to(z.device)
            accept = (u.log() < (h0 - h1)).unsqueeze(-1)
            z = torch.where(accept, z_new, z)
            log_pi = torch.where(accept.squeeze(-1), lp_new, log_pi)
            grad = torch.where(accept, g_new, grad)
        return z.detach()
