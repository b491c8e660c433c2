"""Every model, trainer and sampler config class of the installed Pythae, written by Pythae's own ``save_json``
(defaults, then a non-default value in every field), loads in gaekit with the mapped values: through the
layer's mapping function, gaekit's own config class (``from_json``) and ``gaekit.pythae``'s ``from_json_file``."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

pythae = pytest.importorskip("pythae", reason="the pythae test extra (pythae==0.1.2) is not installed")

import pythae.models as pm  # noqa: E402
import pythae.samplers as ps  # noqa: E402
import pythae.trainers as pt  # noqa: E402

import gaekit.pythae.models as gpm  # noqa: E402
import gaekit.pythae.samplers as gps  # noqa: E402
import gaekit.pythae.trainers as gpt  # noqa: E402
from gaekit.errors import ConfigError  # noqa: E402
from gaekit.models import MODELS  # noqa: E402
from gaekit.models.pythae_config import (  # noqa: E402
    PYTHAE_CONFIG_NAMES,
    PYTHAE_DEFAULTS,
    PYTHAE_MODEL_NAMES,
    model_config_from_pythae,
    pythae_custom_networks,
)
from gaekit.samplers import SAMPLERS, BaseSamplerConfig  # noqa: E402
from gaekit.samplers.pythae_config import PYTHAE_SAMPLER_NAMES, sampler_config_from_pythae  # noqa: E402
from gaekit.trainers import TrainerConfig  # noqa: E402
from gaekit.trainers.pythae_config import (  # noqa: E402
    PYTHAE_TRAINER_CONFIGS,
    PYTHAE_TRAINER_DEFAULTS,
    trainer_config_from_pythae,
)

# non-default values for every field of the Pythae configs (valid in both libraries)
MODEL_VALUES = {
    "input_dim": (1, 8, 8), "latent_dim": 7, "reconstruction_loss": "bce",
    "uses_default_encoder": False, "uses_default_decoder": False, "uses_default_discriminator": False,
    "uses_default_metric": False,
    "kernel_choice": "rbf", "reg_weight": 0.5, "kernel_bandwidth": 2.0, "scales": [0.5, 1.0],
    "reconstruction_loss_scale": 0.5, "beta": 2.5, "number_components": 7, "linear_scheduling_steps": 3,
    "n_lf": 2, "eps_lf": 0.01, "beta_zero": 0.5, "learn_eps_lf": True, "learn_beta_zero": True,
    "temperature": 0.8, "regularization": 0.1, "embedding_weight": 0.01, "number_samples": 4, "alpha": 0.3,
    "lbd": 2.0, "num_embeddings": 16, "use_ema": True, "decay": 0.9, "commitment_loss_factor": 0.5,
    "quantization_loss_factor": 2.0, "adversarial_loss_scale": 0.3, "deterministic_posterior": True,
    "discriminator_input_dim": (4,), "reconstruction_layer": 2, "equilibrium": 0.5, "margin": 0.3,
    "window_size": 5, "C": 20.0, "warmup_epoch": 5, "gamma": 3.0, "use_mss": False, "flows": ["Radial", "Planar"],
    "n_made_blocks": 3, "n_hidden_in_made": 2, "hidden_size": 32, "prior_distribution": "riemannian_normal",
    "posterior_distribution": "riemannian_normal", "curvature": 0.5, "number_gradient_estimates": 3,
}

TRAINER_VALUES = {
    "output_dir": "runs", "per_device_train_batch_size": 8, "per_device_eval_batch_size": 4, "num_epochs": 3,
    "train_dataloader_num_workers": 2, "eval_dataloader_num_workers": 1, "optimizer_cls": "SGD",
    "optimizer_params": {"momentum": 0.9}, "scheduler_cls": "StepLR", "scheduler_params": {"step_size": 2},
    "learning_rate": 0.01, "steps_saving": 2, "steps_predict": 3, "keep_best_on_train": True, "seed": 5,
    "no_cuda": True, "world_size": 1, "dist_backend": "gloo", "amp": True,
}
GROUP_VALUES = {"learning_rate": 0.002, "optimizer_cls": "AdamW", "optimizer_params": {"weight_decay": 0.1},
                "scheduler_cls": "StepLR", "scheduler_params": {"step_size": 3}}
# left at their defaults: they must agree with torchrun's environment (tested on their own)
TRAINER_KEPT = ("local_rank", "rank", "master_addr", "master_port")

SAMPLER_VALUES = {
    "n_components": 3, "mcmc_steps_nbr": 5, "n_lf": 2, "eps_lf": 0.01, "beta_zero": 0.5,
    "reconstruction_loss": "mse", "second_stage_depth": 3, "second_layers_dim": 16,
    "n_made_blocks": 3, "n_hidden_in_made": 2, "hidden_size": 16, "include_batch_norm": True,
    "n_layers": 4, "kernel_size": 3,
}

MODEL_CONFIGS = sorted(n for n in pm.__all__ if n.endswith("Config") and n != "BaseAEConfig")
TRAINER_CONFIGS = sorted(n for n in pt.__all__ if n.endswith("Config"))
SAMPLER_CONFIGS = sorted(n for n in ps.__all__ if n.endswith("Config"))
# values a single model's Pythae config requires (its own checks)
MODEL_OVERRIDES = {"CIWAEConfig": {"beta": 0.7}, "Adversarial_AE_Config": {"discriminator_input_dim": 7},
                   "VAEGANConfig": {"discriminator_input_dim": (1, 8, 8), "reconstruction_loss": "mse"}}
# Pythae fields read under another gaekit name or shape (checked by their own tests below)
SPECIAL = {"uses_default_encoder", "uses_default_decoder", "uses_default_discriminator", "uses_default_metric",
           "discriminator_input_dim", "commitment_loss_factor", "quantization_loss_factor"}


def _fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.init]


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b)
    return a == b


def _saved(tmp_path, config) -> str:
    config.save_json(str(tmp_path), "config")
    return str(tmp_path / "config.json")


def test_the_mapping_tables_cover_the_installed_pythae():
    assert sorted(PYTHAE_CONFIG_NAMES) == MODEL_CONFIGS
    assert sorted(PYTHAE_MODEL_NAMES) == sorted(n for n in pm.__all__ if not n.endswith("Config")
                                                and n not in ("AutoModel", "BaseAE"))
    assert sorted(PYTHAE_TRAINER_CONFIGS) == TRAINER_CONFIGS
    assert sorted(PYTHAE_SAMPLER_NAMES) == SAMPLER_CONFIGS
    for name in MODEL_CONFIGS:  # the defaults gaekit fills in are Pythae's
        defaults = dataclasses.asdict(getattr(pm, name)())
        defaults.pop("name")
        assert _same(list(defaults.items()), list(PYTHAE_DEFAULTS[PYTHAE_CONFIG_NAMES[name]].items())), name
    for name in TRAINER_CONFIGS:
        defaults = dataclasses.asdict(getattr(pt, name)())
        defaults.pop("name")
        assert defaults == PYTHAE_TRAINER_DEFAULTS[name], name


@pytest.mark.parametrize("name", MODEL_CONFIGS)
@pytest.mark.parametrize("values", ["defaults", "changed"])
def test_model_config_json_loads(tmp_path, name, values):
    cls = getattr(pm, name)
    kwargs = {"input_dim": (1, 8, 8)}
    if values == "changed":
        kwargs = {k: MODEL_VALUES[k] for k in _fields(cls)}
        kwargs.update(MODEL_OVERRIDES.get(name, {}))
    pythae_config = cls(**kwargs)
    path = _saved(tmp_path, pythae_config)
    model = PYTHAE_MODEL_NAMES[PYTHAE_CONFIG_NAMES[name]]
    config = model_config_from_pythae(path)
    assert type(config) is MODELS.get(model).config_class
    for field in _fields(cls):
        if field in SPECIAL:
            continue
        expected = getattr(pythae_config, field)
        if name == "VAEGANConfig" and field == "reconstruction_loss":
            expected = "mse"  # Pythae's VAEGAN does not read it
        assert _same(getattr(config, field), expected), (name, field)  # Pythae spellings read through aliases
    # the same config through gaekit's own class and through gaekit.pythae's
    assert type(config).from_json(path) == config
    assert getattr(gpm, name).from_json_file(path) == config
    assert isinstance(config, getattr(gpm, name))
    # custom networks are reported, never silently rebuilt
    custom = [p for p in ("encoder", "decoder", "discriminator", "metric")
              if getattr(pythae_config, f"uses_default_{p}", True) is False]
    assert pythae_custom_networks(path) == custom
    # and gaekit's config round-trips as itself
    assert type(config).from_dict(json.loads(config.to_json_string())) == config


def test_model_config_pythae_meanings(tmp_path):
    vae = model_config_from_pythae({"name": "VAEConfig", "input_dim": [1, 8, 8]})
    assert vae.decoder_variance == 1.0  # Pythae 0.1.2's 0.5 * SSE
    ae = model_config_from_pythae({"name": "AEConfig"})
    assert ae.decoder_variance == 0.5  # its plain SSE
    wae = model_config_from_pythae({"name": "WAE_MMD_Config"})
    assert wae.reg_weight == 0.03 and list(wae.scales) == [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]  # Pythae's defaults
    vq = model_config_from_pythae({"name": "VQVAEConfig", "commitment_loss_factor": 0.4})
    assert (vq.beta, vq.use_ema, vq.embedding_dim) == (0.4, False, 1)
    with pytest.raises(ConfigError, match="quantization_loss_factor=2.0"):
        model_config_from_pythae({"name": "VQVAEConfig", "quantization_loss_factor": 2.0})
    with pytest.raises(ConfigError, match="discriminator_input_dim=5"):
        model_config_from_pythae({"name": "Adversarial_AE_Config", "latent_dim": 4, "discriminator_input_dim": 5})
    assert model_config_from_pythae({"name": "Adversarial_AE_Config", "latent_dim": 4,
                                     "discriminator_input_dim": 5, "uses_default_discriminator": False})
    with pytest.raises(ConfigError, match="not a Pythae 0.1.2 model config"):
        model_config_from_pythae({"name": "NoSuchConfig"})
    with pytest.raises(ConfigError, match="unknown key"):
        model_config_from_pythae({"name": "VAEConfig", "no_such_field": 1})
    with pytest.raises(ConfigError, match="not for 'BetaVAE'"):
        MODELS.get("BetaVAE").config_class.from_dict({"name": "VAEConfig"})


@pytest.mark.parametrize("name", TRAINER_CONFIGS)
@pytest.mark.parametrize("values", ["defaults", "changed"])
def test_trainer_config_json_loads(tmp_path, name, values):
    cls = getattr(pt, name)
    groups = PYTHAE_TRAINER_CONFIGS[name]
    kwargs = {}
    if values == "changed":
        kwargs = {k: v for k, v in TRAINER_VALUES.items() if k in _fields(cls)}
        if groups:  # Pythae's trainers with several optimizers do not read the top-level ones
            for key in ("optimizer_cls", "optimizer_params", "scheduler_cls", "scheduler_params", "learning_rate"):
                del kwargs[key]
            kwargs.update({f"{g}_{k}": v for g in groups for k, v in GROUP_VALUES.items()})
    pythae_config = cls(**kwargs)
    path = _saved(tmp_path, pythae_config)
    config = trainer_config_from_pythae(path, with_eval_data=False)
    p = pythae_config
    assert config.output_dir == (p.output_dir or "dummy_output_dir")
    assert (config.batch_size, config.eval_batch_size) == (p.per_device_train_batch_size, p.per_device_eval_batch_size)
    assert (config.num_epochs, config.seed) == (p.num_epochs, p.seed)
    assert config.checkpoint_every_n_epochs == p.steps_saving
    assert config.images_every_n_epochs == p.steps_predict
    assert config.device == ("cpu" if p.no_cuda else "auto")
    assert config.amp == (p.amp and not p.no_cuda)
    assert config.distributed == ("off" if p.world_size == 1 else "auto")
    assert config.pythae_num_workers == (p.train_dataloader_num_workers, p.eval_dataloader_num_workers)
    settings = {"": config.group_settings("model")} if not groups else {g: config.group_settings(g) for g in groups}
    for group, got in settings.items():
        prefix = f"{group}_" if group else ""
        assert got == {"learning_rate": getattr(p, f"{prefix}learning_rate"),
                       "optimizer": getattr(p, f"{prefix}optimizer_cls"),
                       "optimizer_params": getattr(p, f"{prefix}optimizer_params") or {},
                       "scheduler": getattr(p, f"{prefix}scheduler_cls"),
                       "scheduler_params": getattr(p, f"{prefix}scheduler_params") or {}}, group
    assert set(config.group_overrides) == set(groups)
    if values == "defaults":  # TrainerConfig.from_json reads the file too (keep_best_on_train is False)
        assert TrainerConfig.from_json(path) == config
    built = getattr(gpt, name).from_json_file(path)
    assert built == config and isinstance(built, getattr(gpt, name))
    assert built.pythae_keep_best_on_train == p.keep_best_on_train


def test_trainer_config_refusals(monkeypatch):
    with pytest.raises(ConfigError, match="keep_best_on_train=True"):
        trainer_config_from_pythae({"keep_best_on_train": True})
    with pytest.raises(ConfigError, match="learning_rate are not used"):
        trainer_config_from_pythae({"name": "AdversarialTrainerConfig", "learning_rate": 0.1})
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ConfigError, match="world_size=4"):
        trainer_config_from_pythae({"world_size": 4})
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert trainer_config_from_pythae({"world_size": 4, "per_device_train_batch_size": 8}).batch_size == 32
    with pytest.raises(ConfigError, match="dist_backend='gloo'"):
        trainer_config_from_pythae({"dist_backend": "gloo"})
    with pytest.raises(ConfigError, match="master_port='999'"):
        trainer_config_from_pythae({"master_port": "999"})
    with pytest.raises(ConfigError, match="unknown field"):
        trainer_config_from_pythae({"per_device_batch_size": 8})
    with pytest.raises(ConfigError, match="scheduler"):
        trainer_config_from_pythae({"scheduler_cls": "NoSuchLR"})


@pytest.mark.parametrize("name", SAMPLER_CONFIGS)
@pytest.mark.parametrize("values", ["defaults", "changed"])
def test_sampler_config_json_loads(tmp_path, name, values):
    cls = getattr(ps, name)
    kwargs = {k: SAMPLER_VALUES[k] for k in _fields(cls)} if values == "changed" else {}
    pythae_config = cls(**kwargs)
    path = _saved(tmp_path, pythae_config)
    config = sampler_config_from_pythae(path)
    sampler = PYTHAE_SAMPLER_NAMES[name]
    assert type(config) is (BaseSamplerConfig if sampler is None else SAMPLERS.get(sampler).config_class)
    for field in _fields(cls):
        value = getattr(pythae_config, field)
        if field in ("second_stage_depth", "second_layers_dim", "reconstruction_loss"):
            continue
        assert _same(getattr(config, field), value), (name, field)
    if name == "TwoStageVAESamplerConfig":
        assert config.hidden_dims == (pythae_config.second_layers_dim,) * pythae_config.second_stage_depth
    if "num_epochs" in config.accepted_keys():  # what Pythae's fit trains with when given no trainer config
        assert (config.num_epochs, config.batch_size, config.learning_rate) == (100, 64, 1e-4)
    assert type(config).from_json(path) == config
    assert getattr(gps, name).from_json_file(path) == config


def test_built_trainer_configs_read_and_write_pythae_names():
    config = gpt.BaseTrainerConfig(per_device_train_batch_size=32, no_cuda=True, train_dataloader_num_workers=2)
    assert (config.per_device_train_batch_size, config.no_cuda, config.train_dataloader_num_workers,
            config.optimizer_cls) == (32, True, 2, "Adam")
    config.per_device_train_batch_size = 16
    config.no_cuda = False
    config.optimizer_cls = "SGD"
    config.steps_predict = 2
    config.keep_best_on_train = True
    assert (config.batch_size, config.device, config.optimizer, config.images_every_n_epochs) == (16, "auto", "SGD", 2)
    assert config.pythae_keep_best_on_train
    with pytest.raises(ConfigError, match="batch_size=0"):
        config.per_device_train_batch_size = 0
    assert config.batch_size == 16  # a refused value leaves the config as it was
    assert TrainerConfig.from_dict(config.to_dict()) == config  # written and read back as a TrainerConfig
    adversarial = gpt.AdversarialTrainerConfig(discriminator_learning_rate=1e-2)
    adversarial.discriminator_optimizer_cls = "SGD"
    assert adversarial.group_settings("discriminator")["optimizer"] == "SGD"
    assert adversarial.discriminator_learning_rate == 1e-2
