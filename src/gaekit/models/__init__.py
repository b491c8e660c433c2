"""Models: one file per model; importing this package registers them all in ``MODELS``."""

from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput, StepContext  # noqa: I001
from gaekit.models.auto import AutoModel
from gaekit.models.ae import AE, AEConfig
from gaekit.models.vae import VAE, VAEConfig
from gaekit.models.beta_vae import BetaVAE, BetaVAEConfig

__all__ = ["MODELS", "AutoModel", "BaseAE", "BaseAEConfig", "ModelOutput", "StepContext",
           "AE", "AEConfig", "VAE", "VAEConfig", "BetaVAE", "BetaVAEConfig"]

# -- VAE-objective variants (DisentangledBetaVAE, BetaTCVAE, MSSSIM_VAE) --------------------

# -- importance-weighted family (IWAE, MIWAE, CIWAE, PIWAE) ----------------------------------

# -- priors and regularised autoencoders (VAMP, InfoVAE_MMD, WAE_MMD, RAE_L2, RAE_GP) --------
