"""``pythae.models.base``: ``BaseAE`` and ``BaseAEConfig`` (gaekit's)."""

from gaekit.models import BaseAE, BaseAEConfig

__all__ = ["BaseAE", "BaseAEConfig"]
