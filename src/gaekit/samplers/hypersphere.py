"""Sampling a hyperspherical VAE's prior: ``z`` uniform on the unit sphere ``S^{d-1}`` (the prior of the
SVAE of Davidson et al. 2018, arXiv:1804.00891), decoded. Needs no fitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gaekit.models.svae import SVAE
from gaekit.samplers.base import SAMPLERS, BaseSampler, BaseSamplerConfig


@dataclass
class HypersphereUniformSamplerConfig(BaseSamplerConfig):
    """Config of ``HypersphereUniformSampler`` (no fields)."""

    name: ClassVar[str] = "HypersphereUniformSampler"


@SAMPLERS.register()
class HypersphereUniformSampler(BaseSampler):
    """Decode codes drawn uniformly on ``S^{latent_dim - 1}`` (normalised standard normal vectors).

    Parameters
    ----------
    model : SVAE
    sampler_config : HypersphereUniformSamplerConfig, optional

    Examples
    --------
    >>> sampler = HypersphereUniformSampler(svae_model)  # doctest: +SKIP
    >>> images = sampler.sample(16, seed=0)  # doctest: +SKIP
    """

    config_class = HypersphereUniformSamplerConfig
    needs_fit = False
    accepted_models = (SVAE,)

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        return self.model.sample_prior(num_samples, generator)
