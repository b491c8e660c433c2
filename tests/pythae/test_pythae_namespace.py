"""Every public name of the installed Pythae's modules exists under ``gaekit.pythae`` (the import change is the only
change), bound to gaekit's objects."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

pytest.importorskip("pythae", reason="the pythae test extra (pythae==0.1.2) is not installed")

from gaekit.models import MODELS  # noqa: E402

MODULES = ["models", "models.nn", "models.base", "models.base.base_utils", "trainers", "trainers.training_callbacks",
           "pipelines", "pipelines.training", "pipelines.generation", "samplers", "data", "data.preprocessors",
           "models.nn.benchmarks.mnist", "models.nn.benchmarks.cifar", "models.nn.benchmarks.celeba",
           "models.nn.default_architectures", "models.auto_model"]
# and every per-model, per-sampler and per-trainer subpackage of the installed Pythae (pythae.models.vae, ...)
MODULES += [f"{pkg}.{info.name}" for pkg in ("models", "samplers", "trainers")
            for info in pkgutil.iter_modules(importlib.import_module(f"pythae.{pkg}").__path__)
            if info.ispkg and f"{pkg}.{info.name}" not in MODULES and info.name != "nn"]
# Pythae's module-level helpers that are not part of its user API (availability checks, internal functions)
NOT_API = {"wandb_is_available", "mlflow_is_available", "comet_is_available", "rename_logs", "hf_hub_is_available",
           "CPU_Unpickler", "model_card_template", "logger", "BaseTrainerConfig", "BaseAEConfig"}


def _public(module) -> set[str]:
    names = getattr(module, "__all__", None)
    if names is None:  # a module without __all__: its classes defined there
        names = [n for n, v in vars(module).items() if inspect.isclass(v) and v.__module__ == module.__name__]
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("module", MODULES)
def test_every_pythae_name_is_in_gaekit_pythae(module):
    theirs = _public(importlib.import_module(f"pythae.{module}"))
    ours = importlib.import_module(f"gaekit.pythae.{module}")
    missing = sorted(n for n in theirs - NOT_API if not hasattr(ours, n))
    assert not missing, f"gaekit.pythae.{module} lacks {missing}"


def test_model_names_are_gaekits_classes():
    import gaekit.pythae.models as gpm

    assert gpm.INFOVAE_MMD is MODELS.get("InfoVAE_MMD")
    assert gpm.VAE_IAF is MODELS.get("VAE_IAF")
    config = gpm.VAE_LinNF_Config(input_dim=(1, 8, 8), flows=["Radial"])
    assert type(config) is MODELS.get("VAE_LinNF").config_class and config.flows == ("Radial",)
    assert isinstance(config, gpm.VAE_LinNF_Config) and not isinstance(config, gpm.VQVAEConfig)


def test_auto_config_and_default_architectures(tmp_path):
    import torch
    from pythae.models import RHVAEConfig as PythaeRHVAEConfig

    from gaekit.pythae.models import RHVAE, AutoConfig
    from gaekit.pythae.models.nn.default_architectures import Decoder_AE_MLP, Encoder_VAE_MLP, Metric_MLP

    PythaeRHVAEConfig(input_dim=(1, 8, 8), latent_dim=2, n_lf=1).save_json(str(tmp_path), "model_config")
    config = AutoConfig.from_json_file(str(tmp_path / "model_config.json"))
    assert type(config) is MODELS.get("RHVAE").config_class and config.num_leapfrog_steps == 1
    model = RHVAE(model_config=config, encoder=Encoder_VAE_MLP(config), decoder=Decoder_AE_MLP(config),
                  metric=Metric_MLP(config))
    assert torch.isfinite(model({"data": torch.rand(3, 1, 8, 8)}).loss)
    config.to_json(tmp_path / "gaekit.json")
    assert AutoConfig.from_json_file(str(tmp_path / "gaekit.json")) == config
