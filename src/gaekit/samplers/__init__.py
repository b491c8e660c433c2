"""Samplers: draw latent codes for a trained model and decode them; importing this package
registers every sampler in ``SAMPLERS``; ``resolve_sampler`` finds one by class name or alias
(``SAMPLER_ALIASES``: normal, gmm, vamp, maf, iaf, two_stage)."""

from gaekit.samplers.base import (
    SAMPLER_ALIASES,
    SAMPLERS,
    BaseSampler,
    BaseSamplerConfig,
    SamplerNotFittedError,
    embed_dataset,
    resolve_sampler,
    sampler_for_config,
)
from gaekit.samplers.gmm import GaussianMixtureSampler, GaussianMixtureSamplerConfig
from gaekit.samplers.hypersphere import HypersphereUniformSampler, HypersphereUniformSamplerConfig
from gaekit.samplers.iaf import IAFSampler, IAFSamplerConfig
from gaekit.samplers.maf import MAFSampler, MAFSamplerConfig
from gaekit.samplers.normal import NormalSampler, NormalSamplerConfig
from gaekit.samplers.pixelcnn import PixelCNNSampler, PixelCNNSamplerConfig
from gaekit.samplers.poincare import PoincareDiskSampler, PoincareDiskSamplerConfig
from gaekit.samplers.rhvae import RHVAESampler, RHVAESamplerConfig
from gaekit.samplers.two_stage import TwoStageVAESampler, TwoStageVAESamplerConfig
from gaekit.samplers.vamp import VAMPSampler, VAMPSamplerConfig

__all__ = [
    "SAMPLERS", "BaseSampler", "BaseSamplerConfig", "GaussianMixtureSampler", "GaussianMixtureSamplerConfig",
    "NormalSampler", "NormalSamplerConfig", "SamplerNotFittedError", "embed_dataset", "sampler_for_config",
    "SAMPLER_ALIASES", "resolve_sampler",
    "VAMPSampler", "VAMPSamplerConfig",
    "IAFSampler", "IAFSamplerConfig", "MAFSampler", "MAFSamplerConfig", "TwoStageVAESampler",
    "TwoStageVAESamplerConfig",
    "PixelCNNSampler", "PixelCNNSamplerConfig",
]
__all__ += ["HypersphereUniformSampler", "HypersphereUniformSamplerConfig", "PoincareDiskSampler",
            "PoincareDiskSamplerConfig"]
__all__ += ["RHVAESampler", "RHVAESamplerConfig"]
