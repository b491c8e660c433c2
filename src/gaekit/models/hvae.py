"""Hamiltonian VAE (HVAE) -- Caterini, Doucet and Sejdinovic, "Hamiltonian Variational Auto-Encoder",
NeurIPS 2018, arXiv:1805.11328.

The posterior sample ``z_0 ~ q(z|x)`` and a momentum ``rho_0 = gamma / sqrt(beta_0)``,
``gamma ~ N(0, I)``, are moved by ``num_leapfrog_steps`` leapfrog steps of size ``eps_lf`` on the Hamiltonian
``H(z, rho) = -log p(x, z) + rho^T rho / 2``, each followed by the tempering
``rho <- sqrt(beta_{k-1} / beta_k) rho`` with the quadratic schedule of Sec. 4 (``beta_K = 1``).
Leapfrog is volume-preserving and the tempering's Jacobian cancels the one of
``gamma -> rho_0``, so the ELBO of Alg. 1/2 is

``L(x) = log p(x, z_K) + log N(rho_K; 0, I) - log q(z_0|x) - log N(gamma; 0, I)``,

minimised as ``-L(x)``: ``recon_loss = -log p(x|z_K)`` and ``kl`` the rest. ``grad_z log p(x, z)``
is computed by autograd (``create_graph=True`` in training so the flow is differentiated through).

Config fields: ``num_leapfrog_steps`` (Pythae's ``n_lf``, default 3), ``eps_lf`` (step size, 0.001), ``beta_zero``
(initial inverse temperature in (0, 1], 0.3), ``learn_eps_lf`` (learn one step size per latent
dimension, as the paper's ``epsilon`` vector), ``learn_beta_zero`` (learn ``beta_0`` through a logit).

The loss needs gradients even in evaluation (``needs_grad_in_eval``). ``embed`` returns the
posterior mean ``mu(x)`` without any leapfrog step (no gradient is available there) and
``reconstruct`` decodes it; ``log_likelihood`` is the VAE's importance-sampled estimate with
``q(z_0|x)`` as proposal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gaekit.models import _losses, step
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class HVAEConfig(VAEConfig):
    """Config of ``HVAE``.

    Parameters
    ----------
    num_leapfrog_steps : int, default 3
        Leapfrog steps ``K`` (>= 1); Pythae's ``n_lf``.
    eps_lf : float, default 0.001
        Leapfrog step size (> 0).
    beta_zero : float, default 0.3
        Initial inverse temperature ``beta_0`` in (0, 1] (1: no tempering); in (0, 1) when learned.
    learn_eps_lf : bool, default False
        Learn one step size per latent dimension (initialised at ``eps_lf``).
    learn_beta_zero : bool, default False
        Learn ``beta_0`` (initialised at ``beta_zero``).
    """

    name: ClassVar[str] = "HVAE"
    aliases: ClassVar[dict[str, str]] = {"n_lf": "num_leapfrog_steps"}
    num_leapfrog_steps: int = 3
    eps_lf: float = 0.001
    beta_zero: float = 0.3
    learn_eps_lf: bool = False
    learn_beta_zero: bool = False

    def _check(self) -> None:
        super()._check()
        self._require("num_leapfrog_steps", self.num_leapfrog_steps >= 1, "an int >= 1")
        self._require_positive("eps_lf")
        if self.learn_beta_zero:
            self._require("beta_zero", 0 < self.beta_zero < 1, "a number in (0, 1) when learn_beta_zero=True")
        else:
            self._require("beta_zero", 0 < self.beta_zero <= 1, "a number in (0, 1]")


@MODELS.register()
class HVAE(VAE):
    """VAE whose posterior sample is moved by a tempered Hamiltonian flow (Caterini et al. 2018)."""

    config_class = HVAEConfig
    needs_grad_in_eval = True

    def __init__(self, model_config: HVAEConfig, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, **networks: nn.Module | None):
        super().__init__(model_config, encoder, decoder, **networks)
        c = model_config
        # stored unconstrained; frozen (requires_grad=False) unless learned
        self.log_eps_lf = nn.Parameter(torch.full((c.latent_dim,), math.log(c.eps_lf)), requires_grad=c.learn_eps_lf)
        logit = math.log(c.beta_zero / (1 - c.beta_zero)) if c.beta_zero < 1 else math.inf
        self.beta_zero_logit = nn.Parameter(torch.tensor(logit), requires_grad=c.learn_beta_zero)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One group of the trainable parameters (``eps_lf``/``beta_zero`` only when learned)."""
        return {"model": [p for p in self.parameters() if p.requires_grad]}

    @property
    def eps_lf(self) -> Tensor:
        """Leapfrog step size(s), shape ``(latent_dim,)``."""
        return self.log_eps_lf.exp()

    @property
    def sqrt_beta_zero(self) -> Tensor:
        return torch.sigmoid(self.beta_zero_logit).sqrt()

    def log_joint(self, x: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        """``(log p(x, z), decoder logits)`` per sample; ``log p(x|z)`` is minus the reconstruction loss."""
        logits = self.decode_logits(z)
        _, recon_loss = self.reconstruction_terms(logits, x)
        return -recon_loss + self.log_prior(z), logits

    def grad_log_joint(self, x: Tensor, z: Tensor, create_graph: bool) -> tuple[Tensor, Tensor, Tensor]:
        """``(grad_z log p(x, z), log p(x, z), logits)`` by autograd."""
        with torch.enable_grad():
            z = z.clone() if z.requires_grad else z.detach().requires_grad_(True)
            log_pxz, logits = self.log_joint(x, z)
            grad = torch.autograd.grad(log_pxz.sum(), z, create_graph=create_graph)[0]
        if not create_graph:  # evaluation: only the values are needed
            log_pxz, logits = log_pxz.detach(), logits.detach()
        return grad, log_pxz, logits

    def hamiltonian_flow(self, x: Tensor, z: Tensor, rho: Tensor,
                         create_graph: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``num_leapfrog_steps`` tempered leapfrog steps from ``(z_0, rho_0)`` (Alg. 1): ``(z_K, rho_K, log p(x, z_K),
        logits)``."""
        n, eps, sqrt_b0 = self.model_config.num_leapfrog_steps, self.eps_lf, self.sqrt_beta_zero
        grad, log_pxz, logits = self.grad_log_joint(x, z, create_graph)
        sqrt_beta_prev = sqrt_b0
        for k in range(1, n + 1):
            rho_half = rho + 0.5 * eps * grad
            z = z + eps * rho_half
            grad, log_pxz, logits = self.grad_log_joint(x, z, create_graph)
            rho = rho_half + 0.5 * eps * grad
            sqrt_beta = _losses.tempering_sqrt_beta(k, n, sqrt_b0)
            rho = rho * (sqrt_beta_prev / sqrt_beta)
            sqrt_beta_prev = sqrt_beta
        return z, rho, log_pxz, logits

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        z0 = _losses.reparameterize(mean, log_var, ctx)
        gamma = step.randn_like(z0, ctx)
        rho0 = gamma / self.sqrt_beta_zero
        create_graph = self.training and torch.is_grad_enabled()
        z, rho, log_pxz, logits = self.hamiltonian_flow(x, z0, rho0, create_graph)
        recon_x, recon_loss = self.reconstruction_terms(logits, x)
        log_q = _losses.log_normal_diag(z0, mean, log_var) + _losses.log_normal_standard(gamma)
        kl = log_q - (log_pxz + recon_loss) - _losses.log_normal_standard(rho)  # log q - log p(z_K) - log N(rho_K)
        loss = (recon_loss + kl).mean()
        return ModelOutput(loss=loss, recon_x=recon_x, z=z,
                           terms={"recon_loss": recon_loss.mean(), "kl": kl.mean()})
