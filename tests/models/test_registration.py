"""Registration: every model module is discovered and registered, its names agree, and adding a model
takes its file only (a walk-through adds one from a temporary package and builds, trains, saves, loads it)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import textwrap

import pytest
import torch

import gaekit.models
from gaekit.errors import ConfigError
from gaekit.models import MODELS, AutoModel, BaseAE, create_model
from gaekit.registry import Registry
from gaekit.trainers import Trainer, TrainerConfig

# gaekit.models' public names before discovery replaced its list of imports: all must stay importable
FORMER_NAMES = (
    "MODELS AutoModel BaseAE BaseAEConfig ModelOutput StepContext AE AEConfig VAE VAEConfig BetaVAE BetaVAEConfig "
    "DisentangledBetaVAE DisentangledBetaVAEConfig BetaTCVAE BetaTCVAEConfig MSSSIM_VAE MSSSIM_VAEConfig IWAE "
    "IWAEConfig MIWAE MIWAEConfig CIWAE CIWAEConfig PIWAE PIWAEConfig VAMP VAMPConfig InfoVAE_MMD InfoVAE_MMD_Config "
    "WAE_MMD WAE_MMD_Config RAE_L2 RAE_L2_Config RAE_GP RAE_GP_Config VAE_LinNF VAE_LinNFConfig VAE_IAF "
    "VAE_IAFConfig Adversarial_AE Adversarial_AE_Config FactorVAE FactorVAEConfig VAEGAN VAEGANConfig VQVAE "
    "VQVAEConfig HRQVAE HRQVAEConfig SVAE SVAEConfig PoincareVAE PoincareVAEConfig HVAE HVAEConfig RHVAE RHVAEConfig"
).split()
# old class name -> the class it now names (gaekit's former spellings and Pythae's)
CLASS_ALIASES = {"WAE_MMD_Config": "WAE_MMDConfig", "RAE_L2_Config": "RAE_L2Config", "RAE_GP_Config": "RAE_GPConfig",
                 "InfoVAE_MMD_Config": "InfoVAE_MMDConfig", "Adversarial_AE_Config": "Adversarial_AEConfig",
                 "VAE_IAF_Config": "VAE_IAFConfig", "VAE_LinNF_Config": "VAE_LinNFConfig"}


def _public_modules():
    return sorted(f"gaekit.models.{m.name}" for m in pkgutil.iter_modules(gaekit.models.__path__)
                  if not m.name.startswith("_"))


def _model_classes(module_name: str) -> list[type]:
    """Classes defined in the module that are models: ``BaseAE`` subclasses with their own ``config_class``."""
    module = importlib.import_module(module_name)
    return [obj for obj in vars(module).values() if inspect.isclass(obj) and obj.__module__ == module_name
            and issubclass(obj, BaseAE) and obj is not BaseAE and "config_class" in vars(obj)]


def test_every_model_class_in_a_public_module_is_registered_and_exported():
    found = [cls for module in _public_modules() for cls in _model_classes(module)]
    assert len(found) == len(MODELS) >= 26
    for cls in found:
        assert MODELS.get(cls.__name__) is cls, f"{cls.__module__}.{cls.__name__} is not registered"
        for obj in (cls, cls.config_class):
            assert getattr(gaekit.models, obj.__name__) is obj and obj.__name__ in gaekit.models.__all__


@pytest.mark.parametrize("key", MODELS.names())
def test_registry_key_class_name_and_config_name_agree(key):
    cls = MODELS.get(key)
    assert cls.__name__ == key == cls.config_class.name
    assert cls.config_class.__name__ == f"{key}Config"
    assert cls.config_class(input_dim=(1, 8, 8)).to_dict()["name"] == key


def test_every_registered_model_has_its_readme_row():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("\n## Models\n", 1)[1].strip().split("\n\n", 1)[0]
    rows = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.M))
    assert rows == set(MODELS.names())


def test_every_sampler_class_in_a_public_module_is_registered_and_exported():
    """``gaekit.samplers`` discovers its modules too: a sampler file is registered and exported by being there."""
    import gaekit.samplers
    from gaekit.samplers import SAMPLERS, BaseSampler

    modules = [importlib.import_module(f"gaekit.samplers.{m.name}")
               for m in pkgutil.iter_modules(gaekit.samplers.__path__) if not m.name.startswith("_")]
    found = [obj for module in modules for obj in vars(module).values() if inspect.isclass(obj)
             and obj.__module__ == module.__name__ and issubclass(obj, BaseSampler) and obj is not BaseSampler
             and "config_class" in vars(obj)]
    assert len(found) == len(SAMPLERS) >= 10
    for cls in found:
        assert SAMPLERS.get(cls.__name__) is cls
        for obj in (cls, cls.config_class):
            assert getattr(gaekit.samplers, obj.__name__) is obj and obj.__name__ in gaekit.samplers.__all__


def test_sampler_keys_come_from_their_configs_too():
    from gaekit.samplers import SAMPLERS

    for key in SAMPLERS.names():
        cls = SAMPLERS.get(key)
        assert cls.__name__ == key == cls.config_class.name and cls.config_class.__name__ == f"{key}Config"


def test_former_public_names_stay_importable_and_old_class_names_are_aliases():
    for name in FORMER_NAMES:
        assert hasattr(gaekit.models, name), name
    for old, new in CLASS_ALIASES.items():
        assert getattr(gaekit.models, old) is getattr(gaekit.models, new), old
        assert getattr(gaekit.models, new).__name__ == new


def test_register_takes_the_key_from_the_config_and_refuses_disagreement():
    registry: Registry = Registry("thing")

    class ThingConfig:
        name = "Thing"

    class Thing:
        config_class = ThingConfig

    assert registry.register()(Thing) is Thing and registry.get("Thing") is Thing
    with pytest.raises(ConfigError, match="named 'Thing'"):
        registry.register("Other")(type("Other", (), {"config_class": ThingConfig}))
    with pytest.raises(ConfigError, match="already registered"):
        registry.register()(type("Thing", (), {"config_class": ThingConfig}))


TINY_MODEL = '''
    """TinyAE: an AE whose codes are scaled by ``code_scale``, to walk through adding a model."""

    from dataclasses import dataclass
    from typing import ClassVar

    from gaekit.models.ae import AE, AEConfig
    from gaekit.models.base import MODELS


    @dataclass
    class TinyAEConfig(AEConfig):
        """Config of ``TinyAE``: ``code_scale`` multiplies the encoder's codes."""

        name: ClassVar[str] = "TinyAE"
        code_scale: float = 1.0


    @MODELS.register()
    class TinyAE(AE):
        """An AE with scaled codes."""

        config_class = TinyAEConfig

        def encode(self, x):
            out = super().encode(x)
            out.embedding = out.embedding * self.model_config.code_scale
            return out
'''


@pytest.fixture
def tiny_package(tmp_path, monkeypatch):
    """A package ``walkthrough_models`` holding one new model file, removed from the registry afterwards."""
    package = tmp_path / "walkthrough_models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tiny_ae.py").write_text(textwrap.dedent(TINY_MODEL))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    MODELS._entries.pop("TinyAE", None)
    for name in [m for m in sys.modules if m.startswith("walkthrough_models")]:
        del sys.modules[name]


def test_walk_through_adding_a_model_is_its_file_only(tiny_package, tmp_path):
    """The places touched to add a model: its file (here in a temporary package) and its README row; the
    discovery that ``gaekit.models`` runs on its own folder registers it, and everything else finds it."""
    namespace: dict = {}
    exported = MODELS.discover("walkthrough_models", [str(tiny_package)], namespace)
    assert exported == ["TinyAEConfig", "TinyAE"] and "TinyAE" in MODELS
    model = create_model("TinyAE", input_dim=(1, 8, 8), latent_dim=2, code_scale=0.5)
    assert type(model) is namespace["TinyAE"] and model.model_config.name == "TinyAE"
    x = torch.rand(16, 1, 8, 8)
    config = TrainerConfig(output_dir=str(tmp_path / "runs"), num_epochs=1, batch_size=16, show_progress=False,
                           device="cpu")
    trainer = Trainer(model, config, train_data=x)
    trainer.train()
    assert trainer.state.global_step == 1
    loaded = AutoModel.load_from_folder(trainer.final_model_dir)
    assert type(loaded) is type(model) and loaded.model_config == model.model_config
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    assert torch.equal(loaded.embed(x), model.embed(x))
