"""Sampling a Poincare VAE's prior on the Poincare ball, whichever the model's ``prior_distribution`` is: the
wrapped normal ``N^W(0, prior_scale^2 I)`` or the Riemannian normal ``N_R(0, prior_scale^2)`` of Mathieu et
al. 2019 (arXiv:1901.06033, Sec. 3), drawn by ``PoincareVAE.sample_prior`` and decoded. Needs no fitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gaekit.models.poincare_vae import PoincareVAE
from gaekit.samplers.base import SAMPLERS, BaseSampler, BaseSamplerConfig


@dataclass
class PoincareDiskSamplerConfig(BaseSamplerConfig):
    """Config of ``PoincareDiskSampler`` (no fields)."""

    name: ClassVar[str] = "PoincareDiskSampler"


@SAMPLERS.register()
class PoincareDiskSampler(BaseSampler):
    """Decode codes drawn from a ``PoincareVAE``'s prior on the ball.

    Parameters
    ----------
    model : PoincareVAE
    sampler_config : PoincareDiskSamplerConfig, optional

    Examples
    --------
    >>> sampler = PoincareDiskSampler(pvae_model)  # doctest: +SKIP
    >>> images = sampler.sample(16, seed=0)  # doctest: +SKIP
    """

    config_class = PoincareDiskSamplerConfig
    needs_fit = False
    accepted_models = (PoincareVAE,)

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        return self.model.sample_prior(num_samples, generator)
