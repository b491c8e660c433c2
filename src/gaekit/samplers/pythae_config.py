"""Pythae 0.1.2 sampler configs read as gaekit sampler configs.

``sampler_config_from_pythae`` maps a Pythae sampler config (``"name": "GaussianMixtureSamplerConfig"`` and
Pythae's fields, what its ``save_json`` writes) onto the gaekit sampler of the same name
(``PYTHAE_SAMPLER_NAMES``). Field names go through the configs' ``aliases`` (``n_components``,
``mcmc_steps_nbr``, ``n_lf``, ``n_made_blocks``, ``n_hidden_in_made``, ``n_layers``); missing fields take
Pythae's defaults (``PYTHAE_SAMPLER_DEFAULTS``: e.g. PixelCNN's 10 layers); the two-stage sampler's
``second_stage_depth`` and ``second_layers_dim`` become ``hidden_dims`` (``depth`` layers of ``dim`` units) and its
``reconstruction_loss`` must be ``"mse"`` (a Gaussian second stage with a learned variance, as Pythae's).

The samplers Pythae trains (MAF, IAF, PixelCNN, two-stage) take their training from the trainer config given to
``fit`` (Pythae's ``BaseTrainerConfig()`` when none: 100 epochs, batches of 64, learning rate 1e-4, no scheduler,
no early stopping, seed 8); here those are the config's training fields, filled with Pythae's values, and
``trained_sampler_fields`` turns a trainer config given to ``fit`` into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gaekit.config import FOREIGN_READERS, read_json
from gaekit.errors import ConfigError
from gaekit.samplers.base import SAMPLERS, BaseSamplerConfig

__all__ = ["PYTHAE_SAMPLER_DEFAULTS", "PYTHAE_SAMPLER_NAMES", "sampler_config_from_pythae", "trained_sampler_fields"]

# Pythae sampler config class -> gaekit SAMPLERS name (None: gaekit's BaseSamplerConfig, no sampler)
PYTHAE_SAMPLER_NAMES: dict[str, str | None] = {
    "BaseSamplerConfig": None,
    **{f"{s}Config": s for s in ("NormalSampler", "GaussianMixtureSampler", "VAMPSampler", "RHVAESampler",
                                 "TwoStageVAESampler", "HypersphereUniformSampler", "MAFSampler", "IAFSampler",
                                 "PixelCNNSampler", "PoincareDiskSampler")},
}

# what Pythae's fit trains with when given no trainer config (its BaseTrainerConfig defaults)
PYTHAE_FIT_TRAINING: dict[str, Any] = {"num_epochs": 100, "batch_size": 64, "learning_rate": 1e-4,
                                       "scheduler_patience": None, "early_stopping_patience": None, "seed": 8}
_FLOW = {"n_made_blocks": 2, "n_hidden_in_made": 3, "hidden_size": 128, "include_batch_norm": False}

PYTHAE_SAMPLER_DEFAULTS: dict[str, dict[str, Any]] = {
    "BaseSamplerConfig": {}, "NormalSamplerConfig": {}, "VAMPSamplerConfig": {},
    "HypersphereUniformSamplerConfig": {}, "PoincareDiskSamplerConfig": {},
    "GaussianMixtureSamplerConfig": {"n_components": 10},
    "RHVAESamplerConfig": {"mcmc_steps_nbr": 100, "n_lf": 15, "eps_lf": 0.03, "beta_zero": 1.0},
    "TwoStageVAESamplerConfig": {"reconstruction_loss": "mse", "second_stage_depth": 2, "second_layers_dim": 1024},
    "MAFSamplerConfig": dict(_FLOW), "IAFSamplerConfig": dict(_FLOW),
    "PixelCNNSamplerConfig": {"n_layers": 10, "kernel_size": 5},
}
_TRAINED = ("TwoStageVAESamplerConfig", "MAFSamplerConfig", "IAFSamplerConfig", "PixelCNNSamplerConfig")


def _two_stage(data: dict[str, Any]) -> None:
    loss = data.pop("reconstruction_loss")
    if loss != "mse":
        raise ConfigError(f"TwoStageVAESamplerConfig.reconstruction_loss={loss!r} is not supported: the second stage "
                          "models latent codes with a Gaussian decoder of learned variance; use 'mse'")
    depth, width = data.pop("second_stage_depth"), data.pop("second_layers_dim")
    for key, value in (("second_stage_depth", depth), ("second_layers_dim", width)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"TwoStageVAESamplerConfig.{key}={value!r} is invalid: expected a positive int")
    data["hidden_dims"] = [width] * depth


def sampler_config_from_pythae(source: Mapping[str, Any] | str | Path, **fields: Any) -> BaseSamplerConfig:
    """The gaekit sampler config of a Pythae 0.1.2 sampler config.

    Parameters
    ----------
    source : dict, str or Path
        The Pythae config as a dict (its ``"name"``, a key of ``PYTHAE_SAMPLER_NAMES``) or the path of its
        JSON file (``sampler_config.json``).
    **fields
        gaekit config fields set on top (e.g. ``num_epochs`` of a trained sampler).

    Raises
    ------
    ConfigError
        An unknown name or field, a bad value, or a setting gaekit cannot honour.
    """
    data = read_json(source) if isinstance(source, (str, Path)) else source
    if not isinstance(data, Mapping):
        raise ConfigError(f"a Pythae sampler config must be a JSON object, got {data!r:.80}")
    data = dict(data)
    name = data.pop("name", None)
    if name not in PYTHAE_SAMPLER_NAMES:
        raise ConfigError(f"name={name!r} is not a Pythae 0.1.2 sampler config; expected one of "
                          f"{', '.join(PYTHAE_SAMPLER_NAMES)}")
    unknown = sorted(set(data) - set(PYTHAE_SAMPLER_DEFAULTS[name]))
    if unknown:
        raise ConfigError(f"unknown field(s) {', '.join(map(repr, unknown))} for Pythae's {name}; accepted: "
                          f"{', '.join(PYTHAE_SAMPLER_DEFAULTS[name]) or 'none'}")
    data = {**PYTHAE_SAMPLER_DEFAULTS[name], **data}
    if name == "TwoStageVAESamplerConfig":
        _two_stage(data)
    if name in _TRAINED:
        data = {**PYTHAE_FIT_TRAINING, **data}
    data.update(fields)
    sampler = PYTHAE_SAMPLER_NAMES[name]
    config_cls = BaseSamplerConfig if sampler is None else SAMPLERS.get(sampler).config_class
    try:
        return config_cls.from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"Pythae {name}: {err}") from None


def trained_sampler_fields(training_config: Any) -> dict[str, Any]:
    """The training fields of a trained sampler's config (``num_epochs``, ``batch_size``, ``learning_rate``,
    ``seed``, no scheduler, no early stopping) from the trainer config Pythae's ``fit`` takes.

    ``training_config`` is a gaekit ``TrainerConfig`` (``gaekit.pythae.trainers.BaseTrainerConfig(...)`` makes
    one). Settings a sampler's fit cannot follow (another optimizer than Adam, a scheduler, per-group settings)
    are refused by name.
    """
    from gaekit.trainers import TrainerConfig

    if not isinstance(training_config, TrainerConfig):
        raise ConfigError(f"training_config must be a trainer config (e.g. BaseTrainerConfig(...)), got "
                          f"{type(training_config).__name__}")
    c = training_config
    for key, ok, allowed in (("optimizer", c.optimizer == "Adam", "'Adam'"),
                             ("optimizer_params", not c.optimizer_params, "{}"),
                             ("scheduler", c.scheduler is None, "None (ReduceLROnPlateau: set the sampler config's "
                                                                "scheduler_patience)"),
                             ("group_overrides", not c.group_overrides, "{}")):
        if not ok:
            raise ConfigError(f"training_config.{key}={getattr(c, key)!r}: a sampler's density is fitted with Adam "
                              f"and the sampler config's schedule; expected {allowed}")
    return {"num_epochs": c.num_epochs, "batch_size": c.batch_size, "learning_rate": c.learning_rate,
            "seed": c.seed, "early_stopping_patience": c.early_stopping_patience, "scheduler_patience": None}


def _read_foreign(data: dict[str, Any]) -> dict[str, Any]:
    return sampler_config_from_pythae(data).to_dict()


# a gaekit sampler config's ``from_dict`` / ``from_json`` read Pythae's files through this
for _name in PYTHAE_SAMPLER_NAMES:
    FOREIGN_READERS[_name] = _read_foreign
