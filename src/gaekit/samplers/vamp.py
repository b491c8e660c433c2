"""Sampling from a VAMP model's own prior, the VampPrior of Tomczak and Welling (AISTATS 2018,
arXiv:1705.07120, Eq. 9): ``p(z) = 1/K sum_k q(z | u_k)``. A component ``k`` is drawn uniformly,
then ``z ~ q(z | u_k)``, and ``z`` is decoded. This is the "VAMP" sampler of the Pythae paper's
generation benchmark (Chadebec et al. 2022, arXiv:2206.08309, Table 7); it needs no fitting,
since the mixture is part of the trained model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from gaekit.models.vamp import VAMP
from gaekit.samplers.base import SAMPLERS, BaseSampler, BaseSamplerConfig


@dataclass
class VAMPSamplerConfig(BaseSamplerConfig):
    """Config of ``VAMPSampler`` (no fields)."""

    name: ClassVar[str] = "VAMPSampler"


@SAMPLERS.register()
class VAMPSampler(BaseSampler):
    """Decode codes drawn from a ``VAMP`` model's VampPrior mixture.

    Parameters
    ----------
    model : VAMP
    sampler_config : VAMPSamplerConfig, optional

    Examples
    --------
    >>> sampler = VAMPSampler(vamp_model)  # doctest: +SKIP
    >>> images = sampler.sample(16, seed=0)  # doctest: +SKIP
    """

    config_class = VAMPSamplerConfig
    needs_fit = False
    accepted_models = (VAMP,)

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        return self.model.sample_prior(num_samples, generator)
