"""Sampling from the model's prior: ``z ~ p(z)`` (a standard normal ``N(0, I)`` for most models),
decoded. This is the "N" sampler of the Pythae paper's generation benchmark (Chadebec et al.
2022, arXiv:2206.08309, Section 4.3); it needs no fitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gaekit.samplers.base import SAMPLERS, BaseSampler, BaseSamplerConfig


@dataclass
class NormalSamplerConfig(BaseSamplerConfig):
    """Config of ``NormalSampler`` (no fields)."""

    name: ClassVar[str] = "NormalSampler"


@SAMPLERS.register()
class NormalSampler(BaseSampler):
    """Decode codes drawn from the model's prior, ``model.sample_prior`` (``N(0, I)`` by default).

    Parameters
    ----------
    model : BaseAE
    sampler_config : NormalSamplerConfig, optional

    Examples
    --------
    >>> sampler = NormalSampler(model)  # doctest: +SKIP
    >>> images = sampler.sample(16, seed=0)  # doctest: +SKIP
    """

    config_class = NormalSamplerConfig
    needs_fit = False

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        return self.model.sample_prior(num_samples, generator)
