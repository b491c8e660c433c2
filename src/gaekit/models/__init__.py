"""Models: one file per model; importing this package registers them all in ``MODELS``."""

from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput, StepContext  # noqa: I001
from gaekit.models.auto import AutoModel
from gaekit.models.ae import AE, AEConfig
from gaekit.models.vae import VAE, VAEConfig

# VAE-objective variants
from gaekit.models.beta_vae import BetaVAE, BetaVAEConfig
from gaekit.models.disentangled_beta_vae import DisentangledBetaVAE, DisentangledBetaVAEConfig
from gaekit.models.beta_tc_vae import BetaTCVAE, BetaTCVAEConfig
from gaekit.models.msssim_vae import MSSSIM_VAE, MSSSIM_VAEConfig

# importance-weighted family
from gaekit.models.iwae import IWAE, IWAEConfig
from gaekit.models.miwae import MIWAE, MIWAEConfig
from gaekit.models.ciwae import CIWAE, CIWAEConfig
from gaekit.models.piwae import PIWAE, PIWAEConfig

# learned priors and regularised autoencoders
from gaekit.models.vamp import VAMP, VAMPConfig
from gaekit.models.info_vae import InfoVAE_MMD, InfoVAE_MMD_Config
from gaekit.models.wae_mmd import WAE_MMD, WAE_MMD_Config
from gaekit.models.rae_l2 import RAE_L2, RAE_L2_Config
from gaekit.models.rae_gp import RAE_GP, RAE_GP_Config

# flow posteriors
from gaekit.models.vae_lin_nf import VAE_LinNF, VAE_LinNFConfig
from gaekit.models.vae_iaf import VAE_IAF, VAE_IAFConfig

# adversarial and discrete-latent models
from gaekit.models.adversarial_ae import Adversarial_AE, Adversarial_AE_Config
from gaekit.models.factor_vae import FactorVAE, FactorVAEConfig
from gaekit.models.vaegan import VAEGAN, VAEGANConfig
from gaekit.models.vq_vae import VQVAE, VQVAEConfig
from gaekit.models.hrq_vae import HRQVAE, HRQVAEConfig

# geometric and Hamiltonian models
from gaekit.models.svae import SVAE, SVAEConfig
from gaekit.models.poincare_vae import PoincareVAE, PoincareVAEConfig
from gaekit.models.hvae import HVAE, HVAEConfig
from gaekit.models.rhvae import RHVAE, RHVAEConfig

__all__ = [
    "MODELS", "AutoModel", "BaseAE", "BaseAEConfig", "ModelOutput", "StepContext",
    "AE", "AEConfig", "VAE", "VAEConfig",
    "BetaVAE", "BetaVAEConfig", "DisentangledBetaVAE", "DisentangledBetaVAEConfig", "BetaTCVAE", "BetaTCVAEConfig",
    "MSSSIM_VAE", "MSSSIM_VAEConfig",
    "IWAE", "IWAEConfig", "MIWAE", "MIWAEConfig", "CIWAE", "CIWAEConfig", "PIWAE", "PIWAEConfig",
    "VAMP", "VAMPConfig", "InfoVAE_MMD", "InfoVAE_MMD_Config", "WAE_MMD", "WAE_MMD_Config",
    "RAE_L2", "RAE_L2_Config", "RAE_GP", "RAE_GP_Config",
    "VAE_LinNF", "VAE_LinNFConfig", "VAE_IAF", "VAE_IAFConfig",
    "Adversarial_AE", "Adversarial_AE_Config", "FactorVAE", "FactorVAEConfig", "VAEGAN", "VAEGANConfig",
    "VQVAE", "VQVAEConfig", "HRQVAE", "HRQVAEConfig",
    "SVAE", "SVAEConfig", "PoincareVAE", "PoincareVAEConfig", "HVAE", "HVAEConfig", "RHVAE", "RHVAEConfig",
]
