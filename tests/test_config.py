"""Validated configs: field-naming errors, coercion, JSON round trip, unknown keys."""

from __future__ import annotations

import json

import pytest

from gaekit.errors import ConfigError
from gaekit.models import AEConfig, BetaVAEConfig, VAEConfig
from gaekit.trainers import BaseTrainerConfig, TrainerConfig


def test_errors_name_field_value_and_what_is_allowed():
    with pytest.raises(ConfigError) as err:
        VAEConfig(input_dim=(1, 28, 28), latent_dim=0)
    assert "VAEConfig.latent_dim=0" in str(err.value) and "positive int" in str(err.value)
    with pytest.raises(ConfigError, match=r"reconstruction_loss='l1'.*'mse', 'bce'"):
        VAEConfig(input_dim=(4,), reconstruction_loss="l1")
    with pytest.raises(ConfigError, match="latent_dim=True"):
        VAEConfig(input_dim=(4,), latent_dim=True)  # a bool is not an int
    with pytest.raises(ConfigError, match="input_dim"):
        VAEConfig(input_dim=(1, -28, 28))
    with pytest.raises(ConfigError, match="beta=-1.0"):
        BetaVAEConfig(input_dim=(4,), beta=-1)
    with pytest.raises(ConfigError, match="output_activation"):
        VAEConfig(input_dim=(4,), reconstruction_loss="bce", output_activation="identity")


def test_json_lists_become_tuples_and_ints_floats():
    config = BetaVAEConfig.from_dict({"input_dim": [1, 28, 28], "beta": 2})
    assert config.input_dim == (1, 28, 28) and isinstance(config.beta, float)


def test_json_round_trip_writes_the_name(tmp_path):
    config = BetaVAEConfig(input_dim=(1, 28, 28), latent_dim=16, beta=2)
    config.to_json(tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["name"] == "BetaVAE"
    assert BetaVAEConfig.from_json(tmp_path / "c.json") == config


def test_unknown_keys_are_listed_with_the_accepted_ones(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"input_dim": [4], "latnt_dim": 3}))
    with pytest.raises(ConfigError) as err:
        VAEConfig.from_json(tmp_path / "c.json")
    assert "'latnt_dim'" in str(err.value) and "latent_dim" in str(err.value).split("accepted keys:")[1]


def test_wrong_name_missing_file_and_bad_json(tmp_path):
    with pytest.raises(ConfigError, match="config for 'VAE'"):
        AEConfig.from_dict(VAEConfig(input_dim=(4,)).to_dict())
    with pytest.raises(ConfigError, match="does not exist"):
        VAEConfig.from_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        VAEConfig.from_json(tmp_path / "bad.json")


def test_validate_catches_later_mutation_and_replace_validates():
    config = VAEConfig(input_dim=(4,))
    config.latent_dim = -3
    with pytest.raises(ConfigError, match="latent_dim=-3"):
        config.validate()
    with pytest.raises(ConfigError, match="latent_dim=0"):
        VAEConfig(input_dim=(4,)).replace(latent_dim=0)
    with pytest.raises(ConfigError, match="unknown field"):
        VAEConfig(input_dim=(4,)).replace(latnt_dim=2)


def test_trainer_config_is_exported_under_the_papers_name():
    assert BaseTrainerConfig is TrainerConfig
    config = BaseTrainerConfig(output_dir="my_model", num_epochs=50, learning_rate=1e-3, batch_size=200)
    assert (config.num_epochs, config.learning_rate, config.batch_size) == (50, 1e-3, 200)


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "Adamm"}, "optimizer='Adamm'.*Adam"),
    ({"optimizer_params": {"betaz": (0.9, 0.99)}}, "unknown parameter.*betaz"),
    ({"optimizer_params": {"lr": 0.1}}, "learning_rate"),
    ({"scheduler": "StepLR"}, "needs parameter.*step_size"),
    ({"scheduler": "NoSuchLR"}, "scheduler='NoSuchLR'"),
    ({"scheduler_params": {"factor": 0.5}}, "scheduler is None"),
    ({"group_overrides": {"encoder": {"lr": 1.0}}}, "unknown key.*lr"),
    ({"group_overrides": {"encoder": {"learning_rate": -1.0}}}, "learning_rate=-1.0"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"learning_rate": float("nan")}, "learning_rate=nan"),
    ({"device": "tpu"}, "device='tpu'"),
])
def test_trainer_config_refuses_what_it_could_not_honour(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TrainerConfig(**kwargs)


def test_trainer_config_json_round_trip(tmp_path):
    config = TrainerConfig(scheduler="ReduceLROnPlateau", scheduler_params={"factor": 0.5, "patience": 10},
                           optimizer_params={"betas": [0.9, 0.99]},
                           group_overrides={"decoder": {"learning_rate": 1e-3}})
    config.to_json(tmp_path / "t.json")
    assert TrainerConfig.from_json(tmp_path / "t.json") == config


def test_fixed_length_tuple_fields_are_coerced_element_wise():
    from dataclasses import dataclass

    from gaekit.config import BaseConfig

    @dataclass
    class Pair(BaseConfig):
        size: tuple[int, float] = (1, 2.0)

    assert Pair.from_dict({"size": [3, 4]}).size == (3, 4.0)
    with pytest.raises(ConfigError, match=r"size\[0\]"):
        Pair(size=("a", 1.0))
    with pytest.raises(ConfigError, match="size"):
        Pair(size=(1, 2.0, 3.0))


def test_a_folder_or_binary_bytes_as_config_file_name_the_path(tmp_path):
    (tmp_path / "afolder").mkdir()
    with pytest.raises(ConfigError, match="afolder is a folder"):
        VAEConfig.from_json(tmp_path / "afolder")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=r"bin.json is not UTF-8 text \(byte 0\)"):
        VAEConfig.from_json(tmp_path / "bin.json")


def test_pythae_spellings_are_aliases_of_the_fields():
    from gaekit.models import HVAEConfig, IWAEConfig, RHVAEConfig
    from gaekit.samplers import GaussianMixtureSamplerConfig, RHVAESamplerConfig

    config = RHVAEConfig(input_dim=(4,), n_lf=5, n_fixed_point_iterations=2)
    assert (config.num_leapfrog_steps, config.num_fixed_point_iterations) == (5, 2)
    assert config.n_lf == 5  # read under the old name too
    assert "n_lf" not in config.to_dict() and config.to_dict()["num_leapfrog_steps"] == 5
    assert HVAEConfig.from_dict({"input_dim": [4], "n_lf": 2}).num_leapfrog_steps == 2
    assert IWAEConfig(input_dim=(4,), number_samples=7) == IWAEConfig(input_dim=(4,), num_importance_samples=7)
    assert GaussianMixtureSamplerConfig(n_components=3, n_init=2).to_dict()["num_components"] == 3
    assert RHVAESamplerConfig(mcmc_steps_nbr=9).num_mcmc_steps == 9
    assert TrainerConfig(steps_saving=2) == TrainerConfig(checkpoint_every_n_epochs=2)
    with pytest.raises(ConfigError, match="'n_lf' is the old name of 'num_leapfrog_steps'; give only one"):
        HVAEConfig(input_dim=(4,), n_lf=2, num_leapfrog_steps=3)
    with pytest.raises(ConfigError, match=r"num_leapfrog_steps=0 is invalid.*\(old name: n_lf\)"):
        HVAEConfig(input_dim=(4,), n_lf=0)


def test_a_saved_config_with_old_spellings_loads(tmp_path):
    from gaekit.models import VAE_IAFConfig

    (tmp_path / "config.json").write_text(json.dumps(
        {"name": "VAE_IAF", "input_dim": [4], "n_made_blocks": 3, "n_hidden_in_made": 1}))
    config = VAE_IAFConfig.from_json(tmp_path / "config.json")
    assert (config.num_made_blocks, config.num_made_hidden_layers) == (3, 1)
    (tmp_path / "training_config.json").write_text(json.dumps({"name": "TrainerConfig", "steps_saving": 5}))
    assert TrainerConfig.from_json(tmp_path / "training_config.json").checkpoint_every_n_epochs == 5


def test_old_class_names_are_the_new_classes():
    from gaekit.models import (
        Adversarial_AE_Config,
        Adversarial_AEConfig,
        InfoVAE_MMD_Config,
        InfoVAE_MMDConfig,
        RAE_GP_Config,
        RAE_GPConfig,
        RAE_L2_Config,
        RAE_L2Config,
        VAE_IAF_Config,
        VAE_IAFConfig,
        VAE_LinNF_Config,
        VAE_LinNFConfig,
        WAE_MMD_Config,
        WAE_MMDConfig,
    )
    from gaekit.models.wae_mmd import WAE_MMD_Config as from_module

    assert WAE_MMD_Config is WAE_MMDConfig is from_module and RAE_L2_Config is RAE_L2Config
    assert RAE_GP_Config is RAE_GPConfig and InfoVAE_MMD_Config is InfoVAE_MMDConfig
    assert Adversarial_AE_Config is Adversarial_AEConfig
    assert VAE_IAF_Config is VAE_IAFConfig and VAE_LinNF_Config is VAE_LinNFConfig


def test_log_likelihood_takes_the_old_keyword_too():
    import torch

    from gaekit.models import VAE

    model = VAE(VAEConfig(input_dim=(4,), latent_dim=2))
    x = torch.rand(3, 4)
    new = model.log_likelihood(x, num_importance_samples=4, generator=torch.Generator().manual_seed(0))
    old = model.log_likelihood(x, n_importance_samples=4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(new, old)
    with pytest.raises(ConfigError, match="old name"):
        model.log_likelihood(x, n_importance_samples=4, num_importance_samples=4)
