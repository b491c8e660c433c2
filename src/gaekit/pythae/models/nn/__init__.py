"""``pythae.models.nn``: the network bases (gaekit's Pythae-style network contract,
``gaekit.models.pythae_networks``): encoders return ``ModelOutput(embedding=..., log_covariance=...)``, decoders
``ModelOutput(reconstruction=...)``."""

from gaekit.models.pythae_networks import BaseDecoder, BaseDiscriminator, BaseEncoder, BaseMetric

__all__ = ["BaseDecoder", "BaseEncoder", "BaseMetric", "BaseDiscriminator"]
