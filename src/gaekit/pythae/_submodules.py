"""Pythae's per-model, per-sampler and per-trainer submodules (``pythae.models.vae``, ``pythae.samplers.
normal_sampling``, ``pythae.trainers.base_trainer``, ...) as modules of ``gaekit.pythae`` that hold the same names.

Each is a small module object put in ``sys.modules`` by its package (no file of its own), so that
``from gaekit.pythae.models.vae import VAE, VAEConfig`` works as ``from pythae.models.vae import ...`` does.
"""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["FLOW_MODULES", "MODEL_MODULES", "SAMPLER_MODULES", "TRAINER_MODULES", "export_classes",
           "register_submodules"]

# Pythae submodule -> its main class (the second name it exports is that class's config)
MODEL_MODULES = {
    "adversarial_ae": "Adversarial_AE", "ae": "AE", "beta_tc_vae": "BetaTCVAE", "beta_vae": "BetaVAE",
    "ciwae": "CIWAE", "disentangled_beta_vae": "DisentangledBetaVAE", "factor_vae": "FactorVAE", "hvae": "HVAE",
    "info_vae": "INFOVAE_MMD", "iwae": "IWAE", "miwae": "MIWAE", "msssim_vae": "MSSSIM_VAE", "piwae": "PIWAE",
    "pvae": "PoincareVAE", "rae_gp": "RAE_GP", "rae_l2": "RAE_L2", "rhvae": "RHVAE", "svae": "SVAE", "vae": "VAE",
    "vae_gan": "VAEGAN", "vae_iaf": "VAE_IAF", "vae_lin_nf": "VAE_LinNF", "vamp": "VAMP", "vq_vae": "VQVAE",
    "wae_mmd": "WAE_MMD",
}
SAMPLER_MODULES = {
    "base": "BaseSampler", "gaussian_mixture": "GaussianMixtureSampler",
    "hypersphere_uniform_sampler": "HypersphereUniformSampler", "iaf_sampler": "IAFSampler",
    "maf_sampler": "MAFSampler", "manifold_sampler": "RHVAESampler", "normal_sampling": "NormalSampler",
    "pixelcnn_sampler": "PixelCNNSampler", "pvae_sampler": "PoincareDiskSampler",
    "two_stage_vae_sampler": "TwoStageVAESampler", "vamp_sampler": "VAMPSampler",
}
TRAINER_MODULES = {
    "base_trainer": "BaseTrainer", "adversarial_trainer": "AdversarialTrainer",
    "coupled_optimizer_trainer": "CoupledOptimizerTrainer",
    "coupled_optimizer_adversarial_trainer": "CoupledOptimizerAdversarialTrainer",
}
# ``pythae.models.normalizing_flows`` submodule -> the names it exports
FLOW_MODULES = {
    "base": ("BaseNF", "BaseNFConfig", "NFModel"), "iaf": ("IAF", "IAFConfig"), "made": ("MADE", "MADEConfig"),
    "maf": ("MAF", "MAFConfig"), "pixelcnn": ("PixelCNN", "PixelCNNConfig"),
    "planar_flow": ("PlanarFlow", "PlanarFlowConfig"), "radial_flow": ("RadialFlow", "RadialFlowConfig"),
}


def export_classes(module: str, namespace: dict[str, Any], classes: dict[str, type]) -> None:
    """Put each ``name: class`` of ``classes`` in the module ``module`` (its ``namespace``, and its ``__all__``),
    as that module's own class (its ``__module__``), as Pythae's own classes are named."""
    names = namespace.setdefault("__all__", [])
    for name, cls in classes.items():
        cls.__module__ = module
        namespace[name] = cls
        names.append(name)


def register_submodules(package: str, namespace: dict[str, Any], table: dict[str, tuple[str, ...]]) -> None:
    """Make ``<package>.<sub>`` importable for each ``sub: names`` of ``table``: a module holding those names of
    ``namespace`` (the package's globals), also bound in ``namespace`` as ``sub``."""
    for sub, names in table.items():
        module = types.ModuleType(f"{package}.{sub}", f"Pythae's ``{package.replace('gaekit.', '')}.{sub}``: "
                                                      f"{', '.join(names)} of ``{package}``.")
        for name in names:
            setattr(module, name, namespace[name])
        module.__all__ = list(names)
        sys.modules[module.__name__] = module
        namespace[sub] = module
