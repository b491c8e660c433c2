"""Samplers: draw latent codes for a trained model and decode them; importing this package registers every
sampler in ``SAMPLERS``; ``resolve_sampler`` finds one by class name or alias (``SAMPLER_ALIASES``: normal, gmm,
vamp, maf, iaf, two_stage).

Every public module of this package (a name without a leading underscore) is imported here, as
``gaekit.models`` does with its models (``Registry.discover``): adding a sampler is adding its file (and its
README row); its sampler and config classes are exported from ``gaekit.samplers``.
"""

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
from gaekit.samplers.pythae_config import sampler_config_from_pythae

__all__ = ["SAMPLERS", "SAMPLER_ALIASES", "BaseSampler", "BaseSamplerConfig", "SamplerNotFittedError",
           "embed_dataset", "resolve_sampler", "sampler_config_from_pythae", "sampler_for_config"]
__all__ += SAMPLERS.discover(__name__, __path__, globals())
