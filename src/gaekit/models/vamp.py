"""VAE with a VampPrior (VAMP) -- Tomczak and Welling, "VAE with a VampPrior", AISTATS 2018,
arXiv:1705.07120.

Prior (Eq. 9): the variational mixture of posteriors ``p(z) = 1/K sum_k q(z | u_k)`` whose
``K`` pseudo-inputs ``u_k`` live in data space and are learned by back-propagation. As in the
paper they are the output of a one-layer MLP applied to the ``K x K`` identity matrix, with a
hard-tanh activation (clipped to [0, 1] for sigmoid-output models, whose data lie in [0, 1],
else to [-1, 1]); ``Linear(I_K)`` is exactly the transposed weight, which is what is computed.
The weights start uniformly in the middle half of that range so that no pseudo-pixel starts
clipped (a clipped hard-tanh passes no gradient).

Objective: the negative ELBO with the VampPrior, its KL estimated by Monte Carlo on the
reparameterised sample ``z ~ q(z|x)`` (the KL has no closed form for a mixture prior):
``L(x) = rec(x, D(z)) + w * [log q(z|x) - log p(z)]``, with the linear KL warm-up the authors
train with, ``w = min(1, epoch / linear_scheduling_steps)`` (``epoch`` 0-based, from the
``StepContext``).
Outside training -- ``ctx`` None, or ``ctx.training`` False (the trainer's evaluation) -- the
fully warmed-up ``w = 1`` is used, so evaluation losses are the true negative ELBO and stay
comparable across epochs for best-model selection. ``log_likelihood``, ``sample_prior`` and
``generate`` use the VampPrior.

Config fields (beyond the VAE's):
    num_components : int, default 50 -- the number K of pseudo-inputs (Pythae grid: 10-500).
    linear_scheduling_steps : int, default 10 -- epochs of linear KL warm-up; 0 = no warm-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.models import _losses
from gaekit.models.base import MODELS, StepContext
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class VAMPConfig(VAEConfig):
    """Config of ``VAMP``.

    Parameters
    ----------
    num_components : int, default 50
        Number of pseudo-inputs (mixture components of the prior), >= 1; Pythae's ``number_components``.
    linear_scheduling_steps : int, default 10
        Number of epochs over which the KL weight rises linearly from 0 to 1 (0: no warm-up).
    """

    name: ClassVar[str] = "VAMP"
    aliases: ClassVar[dict[str, str]] = {"number_components": "num_components"}
    num_components: int = 50
    linear_scheduling_steps: int = 10

    def _check(self) -> None:
        super()._check()
        self._require("num_components", self.num_components >= 1, "an int >= 1")
        self._require("linear_scheduling_steps", self.linear_scheduling_steps >= 0, "an int >= 0")

    def own_tensor_bytes(self) -> int:
        """The float32 weights of the pseudo-inputs layer: ``num_components * prod(input_dim)``."""
        return 4 * self.num_components * math.prod(self.input_dim or (1,))


@MODELS.register()
class VAMP(VAE):
    """VAE whose prior is the mixture of the posteriors of ``K`` learned pseudo-inputs."""

    config_class = VAMPConfig

    def __init__(self, model_config: VAMPConfig, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None):
        super().__init__(model_config, encoder=encoder, decoder=decoder)
        k = model_config.num_components
        low, high = (0.0, 1.0) if model_config.output_activation == "sigmoid" else (-1.0, 1.0)
        self._clip = (low, high)
        # the one-layer MLP of the paper: u = hardtanh(W @ e_k) for the K one-hot vectors e_k
        self.pseudo_inputs = nn.Linear(k, math.prod(model_config.input_dim), bias=False)
        with torch.no_grad():
            quarter = (high - low) / 4
            self.pseudo_inputs.weight.uniform_(low + quarter, high - quarter)

    # -- the VampPrior ----------------------------------------------------------------
    def pseudo_input_values(self) -> Tensor:
        """The pseudo-inputs ``u_k``, shape ``(K, *input_dim)``: ``hardtanh(Linear(I_K))``."""
        u = F.hardtanh(self.pseudo_inputs.weight.t(), *self._clip)
        return u.view(self.model_config.num_components, *self.model_config.input_dim)

    def prior_components(self) -> tuple[Tensor, Tensor]:
        """Means and log-variances ``(K, latent_dim)`` of ``q(z | u_k)``, the prior's components."""
        return self.posterior(self.pseudo_input_values())

    def log_prior(self, z: Tensor) -> Tensor:
        """``log p(z) = logsumexp_k log q(z | u_k) - log K`` for ``z`` of shape ``(..., latent_dim)``."""
        means, log_vars = self.prior_components()
        log_q = _losses.log_normal_diag(z.unsqueeze(-2), means, log_vars)  # (..., K)
        return torch.logsumexp(log_q, dim=-1) - math.log(self.model_config.num_components)

    def kl_term(self, z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
        """Single-sample Monte Carlo ``KL(q(z|x) || p(z)) ~= log q(z|x) - log p(z)`` at the drawn ``z``."""
        return _losses.log_normal_diag(z, mean, log_var) - self.log_prior(z)

    def kl_weight(self, ctx: StepContext | None) -> float:
        """Warm-up weight ``min(1, epoch / linear_scheduling_steps)``; 1 outside training or without warm-up."""
        steps = self.model_config.linear_scheduling_steps
        if ctx is None or not ctx.training or steps == 0:
            return 1.0
        return min(1.0, ctx.epoch / steps)

    def combine(self, recon_loss: Tensor, kl: Tensor, ctx: StepContext | None) -> Tensor:
        return recon_loss + self.kl_weight(ctx) * kl

    def sample_prior(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes from the VampPrior: a component ``k`` uniformly, then ``z ~ q(z | u_k)``.

        Randomness is drawn on the generator's device (the CPU for a default generator) and the
        codes are moved to the model's device; no gradients are recorded.
        """
        with torch.no_grad():
            means, log_vars = self.prior_components()
            k = self.model_config.num_components
            device = generator.device if generator is not None else torch.device("cpu")
            index = torch.randint(k, (num_samples,), generator=generator, device=device).to(means.device)
            eps = torch.randn(num_samples, self.latent_dim, generator=generator, device=device).to(means.device)
            return means[index] + torch.exp(0.5 * log_vars[index]) * eps
