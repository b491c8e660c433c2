"""Models: one file per model; importing this package registers them all in ``MODELS``."""

from gaekit.models.ae import AE, AEConfig
from gaekit.models.auto import AutoModel
from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput, StepContext
from gaekit.models.beta_vae import BetaVAE, BetaVAEConfig
from gaekit.models.vae import VAE, VAEConfig

__all__ = [
    "AE", "AEConfig", "AutoModel", "BaseAE", "BaseAEConfig", "BetaVAE", "BetaVAEConfig", "MODELS",
    "ModelOutput", "StepContext", "VAE", "VAEConfig",
]
