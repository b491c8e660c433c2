"""Shared maths of the model family.

Convention (DESIGN §3): every function here returns one value *per sample*, shape ``(B,)``,
summed over data or latent dimensions; models average over the batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def reconstruction_loss(logits: Tensor, x: Tensor, kind: str, recon_x: Tensor | None = None) -> Tensor:
    """Per-sample reconstruction loss summed over data dimensions.

    ``"bce"``: Bernoulli negative log-likelihood computed from the decoder's logits.
    ``"mse"``: squared error of the activated output ``recon_x``, which is the negative
    log-likelihood of a Gaussian decoder N(x; recon_x, I/2) up to the constant ``D/2 log(pi)``.
    """
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    if recon_x is None:
        raise ValueError("mse reconstruction needs the activated output recon_x")
    return (recon_x - x).pow(2).flatten(1).sum(1)


def decoder_log_likelihood(logits: Tensor, x: Tensor, kind: str, recon_x: Tensor | None = None,
                           normalized: bool = True) -> Tensor:
    """``log p(x | z)`` per sample for the decoder implied by ``reconstruction_loss``.

    With ``normalized=False`` the MSE decoder's constant ``-D/2 log(pi)`` is left out, so that
    ``-decoder_log_likelihood`` is exactly the training reconstruction loss.
    """
    nll = reconstruction_loss(logits, x, kind, recon_x)
    if kind == "bce" or not normalized:
        return -nll
    data_dims = x[0].numel()
    return -nll - 0.5 * data_dims * math.log(math.pi)


def gaussian_kl(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL( N(mean, diag(exp(log_var))) || N(0, I) ) per sample (Kingma and Welling 2014, App. B)."""
    return -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(-1)


def log_normal_standard(z: Tensor) -> Tensor:
    """``log N(z; 0, I)`` summed over the last dimension."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def log_normal_diag(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """``log N(z; mean, diag(exp(log_var)))`` summed over the last dimension."""
    return -0.5 * ((z - mean).pow(2) * torch.exp(-log_var) + log_var + LOG_2PI).sum(-1)


def reparameterize(mean: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``z = mean + exp(log_var / 2) * eps``, ``eps ~ N(0, I)`` (reparameterisation trick)."""
    std = torch.exp(0.5 * log_var)
    if generator is None:
        eps = torch.randn_like(std)
    else:
        eps = torch.randn(std.shape, generator=generator, device=generator.device, dtype=std.dtype).to(std.device)
    return mean + std * eps
