"""Encoder and decoder contracts.

An encoder maps a batch ``x`` of shape ``(B, *input_dim)`` to an ``EncoderOutput``; a decoder
maps latent codes ``z`` of shape ``(B, latent_dim)`` to *pre-activation* outputs of shape
``(B, *input_dim)`` -- the model applies the output activation (sigmoid for data in [0, 1]),
so that BCE is computed from logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class EncoderOutput:
    """What an encoder returns.

    Attributes
    ----------
    embedding : Tensor
        ``(B, latent_dim)``: the code of a deterministic encoder, or the posterior mean.
    log_covariance : Tensor or None
        ``(B, latent_dim)``: log-variances of a diagonal Gaussian posterior (variational models).
    log_concentration : Tensor or None
        ``(B, 1)``: log of the von Mises-Fisher concentration of a hyperspherical posterior, whose
        mean direction is ``embedding`` (unit norm).
    """

    embedding: Tensor
    log_covariance: Tensor | None = None
    log_concentration: Tensor | None = None


class BaseEncoder(nn.Module):
    """Base class for encoders: ``forward(x) -> EncoderOutput``."""

    def forward(self, x: Tensor) -> EncoderOutput:  # pragma: no cover - abstract
        raise NotImplementedError


class BaseDecoder(nn.Module):
    """Base class for decoders: ``forward(z) -> Tensor`` of pre-activation outputs."""

    def forward(self, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def as_encoder_output(out: EncoderOutput | Tensor | tuple[Tensor, Tensor]) -> EncoderOutput:
    """Accept what a custom encoder returns: an ``EncoderOutput``, a tensor, or ``(mean, log_var)``."""
    if isinstance(out, EncoderOutput):
        return out
    if isinstance(out, torch.Tensor):
        return EncoderOutput(embedding=out)
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return EncoderOutput(embedding=out[0], log_covariance=out[1])
    raise TypeError(
        f"an encoder must return an EncoderOutput, a tensor or a (mean, log_variance) pair; got {type(out)}"
    )
