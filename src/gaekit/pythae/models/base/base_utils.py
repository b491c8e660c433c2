"""``pythae.models.base.base_utils``: ``ModelOutput``, the ordered dict with attribute access that Pythae-style
networks return (gaekit's, from ``gaekit.models.pythae_networks``)."""

from gaekit.models.pythae_networks import ModelOutput

__all__ = ["ModelOutput"]
