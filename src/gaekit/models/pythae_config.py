"""Pythae 0.1.2 model configs read as gaekit model configs.

A Pythae model config (what its ``save_json`` writes, e.g. a model folder's ``model_config.json``) holds
``"name": "VAEConfig"`` (the Pythae config class name) and Pythae's field names. ``model_config_from_pythae``
maps it onto the matching gaekit config:

- the model: ``PYTHAE_CONFIG_NAMES`` (Pythae config class -> Pythae model class) and ``PYTHAE_MODEL_NAMES``
  (Pythae model class -> gaekit ``MODELS`` name), e.g. ``INFOVAE_MMD_Config`` -> ``INFOVAE_MMD`` ->
  ``InfoVAE_MMD``;
- fields missing from the file take **Pythae's** defaults (``PYTHAE_DEFAULTS``), not gaekit's, where the two
  differ (e.g. WAE's ``reg_weight`` 3e-2, InfoVAE's ``lbd`` 1e-3, VQVAE's ``use_ema`` False);
- ``decoder_variance`` is set to the scale of Pythae 0.1.2's MSE term: 1.0 where its loss is
  ``0.5 ||x - x_hat||^2`` (the VAE family, AAE, VAEGAN, HVAE, RHVAE), 0.5 where it is ``||x - x_hat||^2``
  (AE, RAE, WAE, VQVAE); see docs/deviations.md;
- the fields gaekit spells differently go through each config's ``aliases`` (``n_lf``, ``number_samples``,
  ...); VQVAE's ``commitment_loss_factor`` is ``beta``, its ``quantization_loss_factor`` must be 1 (gaekit's
  codebook term has weight 1; with ``use_ema`` Pythae does not use it either), and ``embedding_dim`` is 1,
  Pythae's layout for the vector embeddings of its default encoders (give ``embedding_dim=`` for a custom
  encoder with a spatial embedding);
- ``uses_default_encoder`` / ``uses_default_decoder`` / ``uses_default_discriminator`` / ``uses_default_metric``
  False say which networks were custom: ``pythae_custom_networks`` lists them (they must be passed again to
  build the model); ``discriminator_input_dim`` must be that of the default discriminator (AAE: ``latent_dim``,
  VAEGAN: ``input_dim``) unless the discriminator is custom;
- gaekit fields that make the model compute Pythae's maths where gaekit's default differs come from
  ``PYTHAE_MATHS``: SVAE's ``concentration_link="softplus_plus_one"``, PoincareVAE's
  ``posterior_location="embedding"`` and ``riemannian_scale_bounds=(0.1, 7.0)``, VAE_IAF's
  ``made_orderings="reverse_before_each"``;
- FactorVAE's discriminator has Pythae's 5 hidden layers of 1000 units (``discriminator_num_layers=5``);
- VAEGAN's ``reconstruction_loss`` is ``"mse"`` whatever the file says: Pythae's VAEGAN does not read the field (its
  reconstruction term is always the MSE of discriminator features).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gaekit.config import FOREIGN_READERS, read_json
from gaekit.errors import ConfigError
from gaekit.models.base import BaseAEConfig
from gaekit.models.factory import MODELS

__all__ = ["PYTHAE_CONFIG_NAMES", "PYTHAE_DEFAULTS", "PYTHAE_MATHS", "PYTHAE_MODEL_NAMES", "gaekit_model_name",
           "model_config_from_pythae", "pythae_custom_networks", "read_pythae_dict"]

# Pythae model class name -> gaekit MODELS name
PYTHAE_MODEL_NAMES: dict[str, str] = {
    "AE": "AE", "WAE_MMD": "WAE_MMD", "VAE": "VAE", "BetaVAE": "BetaVAE", "VAMP": "VAMP", "HVAE": "HVAE",
    "RHVAE": "RHVAE", "RAE_L2": "RAE_L2", "RAE_GP": "RAE_GP", "IWAE": "IWAE", "INFOVAE_MMD": "InfoVAE_MMD",
    "VQVAE": "VQVAE", "Adversarial_AE": "Adversarial_AE", "VAEGAN": "VAEGAN", "MSSSIM_VAE": "MSSSIM_VAE",
    "SVAE": "SVAE", "DisentangledBetaVAE": "DisentangledBetaVAE", "FactorVAE": "FactorVAE",
    "BetaTCVAE": "BetaTCVAE", "VAE_LinNF": "VAE_LinNF", "VAE_IAF": "VAE_IAF", "PoincareVAE": "PoincareVAE",
    "CIWAE": "CIWAE", "MIWAE": "MIWAE", "PIWAE": "PIWAE",
}

# Pythae config class name -> Pythae model class name
PYTHAE_CONFIG_NAMES: dict[str, str] = {
    **{f"{m}Config": m for m in ("AE", "VAE", "BetaVAE", "VAMP", "HVAE", "RHVAE", "IWAE", "VQVAE", "VAEGAN",
                                 "MSSSIM_VAE", "SVAE", "DisentangledBetaVAE", "FactorVAE", "BetaTCVAE",
                                 "PoincareVAE", "CIWAE", "MIWAE", "PIWAE")},
    **{f"{m}_Config": m for m in ("WAE_MMD", "RAE_L2", "RAE_GP", "INFOVAE_MMD", "Adversarial_AE", "VAE_LinNF",
                                  "VAE_IAF")},
}

_COMMON = {"input_dim": None, "latent_dim": 10, "uses_default_encoder": True, "uses_default_decoder": True}
_VAE = {**_COMMON, "reconstruction_loss": "mse"}
_MMD_SCALES = [0.1, 0.2, 0.5, 1.0, 2.0, 5, 10.0]
_IS = {"number_samples": 10}

# the defaults of every Pythae 0.1.2 model config (its dataclass fields but ``name``)
PYTHAE_DEFAULTS: dict[str, dict[str, Any]] = {
    "AE": dict(_COMMON),
    "WAE_MMD": {**_COMMON, "kernel_choice": "imq", "reg_weight": 0.03, "kernel_bandwidth": 1.0,
                "scales": _MMD_SCALES, "reconstruction_loss_scale": 1.0},
    "VAE": dict(_VAE),
    "BetaVAE": {**_VAE, "beta": 1.0},
    "VAMP": {**_VAE, "number_components": 50, "linear_scheduling_steps": 0},
    "HVAE": {**_VAE, "n_lf": 3, "eps_lf": 0.001, "beta_zero": 0.3, "learn_eps_lf": False, "learn_beta_zero": False},
    "RHVAE": {**_VAE, "n_lf": 3, "eps_lf": 0.001, "beta_zero": 0.3, "temperature": 1.5, "regularization": 0.01,
              "uses_default_metric": True},
    "RAE_L2": {**_COMMON, "embedding_weight": 1e-4, "reg_weight": 1e-7},
    "RAE_GP": {**_COMMON, "embedding_weight": 1e-4, "reg_weight": 1e-7},
    "IWAE": {**_VAE, **_IS},
    "INFOVAE_MMD": {**_VAE, "kernel_choice": "imq", "alpha": 0, "lbd": 1e-3, "kernel_bandwidth": 1.0,
                    "scales": _MMD_SCALES},
    "VQVAE": {**_COMMON, "commitment_loss_factor": 0.25, "quantization_loss_factor": 1.0, "num_embeddings": 512,
              "use_ema": False, "decay": 0.99},
    "Adversarial_AE": {**_VAE, "adversarial_loss_scale": 0.5, "reconstruction_loss_scale": 1.0,
                       "deterministic_posterior": False, "uses_default_discriminator": True,
                       "discriminator_input_dim": None},
    "VAEGAN": {**_VAE, "adversarial_loss_scale": 0.5, "reconstruction_layer": -1, "uses_default_discriminator": True,
               "discriminator_input_dim": None, "equilibrium": 0.68, "margin": 0.4},
    "MSSSIM_VAE": {**_VAE, "beta": 1.0, "window_size": 11},
    "SVAE": dict(_VAE),
    "DisentangledBetaVAE": {**_VAE, "beta": 10.0, "C": 50.0, "warmup_epoch": 25},
    "FactorVAE": {**_VAE, "gamma": 2.0, "uses_default_discriminator": True},
    "BetaTCVAE": {**_VAE, "alpha": 1.0, "beta": 1.0, "gamma": 1.0, "use_mss": True},
    "VAE_LinNF": {**_VAE, "flows": ["Planar", "Planar"]},
    "VAE_IAF": {**_VAE, "n_made_blocks": 2, "n_hidden_in_made": 3, "hidden_size": 128},
    "PoincareVAE": {**_VAE, "prior_distribution": "wrapped_normal", "posterior_distribution": "wrapped_normal",
                    "curvature": 1},
    "CIWAE": {**_VAE, **_IS, "beta": 0.5},
    "MIWAE": {**_VAE, "number_gradient_estimates": 5, **_IS},
    "PIWAE": {**_VAE, "number_gradient_estimates": 5, **_IS},
}

# gaekit fields (not Pythae's) set so that the gaekit model computes what Pythae 0.1.2's does, where gaekit's
# default maths differs (see docs/deviations.md); a field given explicitly wins
PYTHAE_MATHS: dict[str, dict[str, Any]] = {
    "SVAE": {"concentration_link": "softplus_plus_one"},  # Pythae's kappa = softplus(h) + 1
    # Pythae's posterior location is the encoder's embedding itself; its Riemannian sigma is clamped to [0.1, 7]
    "PoincareVAE": {"posterior_location": "embedding", "riemannian_scale_bounds": (0.1, 7.0)},
    # Pythae's IAF reverses the code before every (sequential-ordering) MADE block
    "VAE_IAF": {"made_orderings": "reverse_before_each"},
}

# Pythae 0.1.2's MSE term is 0.5 * SSE (a unit-variance Gaussian decoder) for these models, SSE for the others
_UNIT_VARIANCE = frozenset(PYTHAE_DEFAULTS) - {"AE", "WAE_MMD", "RAE_L2", "RAE_GP", "VQVAE", "MSSSIM_VAE"}
_PARTS = {"uses_default_encoder": "encoder", "uses_default_decoder": "decoder",
          "uses_default_discriminator": "discriminator", "uses_default_metric": "metric"}


def read_pythae_dict(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A Pythae config as a dict: ``source`` itself (copied), or the JSON file at that path."""
    data = read_json(source) if isinstance(source, (str, Path)) else source
    if not isinstance(data, Mapping):
        raise ConfigError(f"a Pythae config must be a JSON object (a dict of its fields), got {data!r:.80}")
    return dict(data)


def _pythae_model(name: Any) -> str:
    """The Pythae model class name of a config ``name`` (a Pythae config or model class name)."""
    if name in PYTHAE_CONFIG_NAMES:
        return PYTHAE_CONFIG_NAMES[name]
    if name in PYTHAE_MODEL_NAMES:
        return name
    raise ConfigError(f"name={name!r} is not a Pythae 0.1.2 model config; expected one of "
                      f"{', '.join(sorted(PYTHAE_CONFIG_NAMES))}")


def gaekit_model_name(pythae_name: str) -> str:
    """The gaekit ``MODELS`` name of a Pythae model or model-config class name (``"INFOVAE_MMD_Config"`` ->
    ``"InfoVAE_MMD"``); ``ConfigError`` for a name Pythae 0.1.2 does not have."""
    return PYTHAE_MODEL_NAMES[_pythae_model(pythae_name)]


def pythae_custom_networks(source: Mapping[str, Any] | str | Path) -> list[str]:
    """The parts (``"encoder"``, ``"decoder"``, ``"discriminator"``, ``"metric"``) that a Pythae model config
    says were custom networks (``uses_default_<part>`` False): they must be passed again to build the model."""
    data = read_pythae_dict(source)
    return [part for key, part in _PARTS.items() if data.get(key) is False]


def _check_parts(data: dict[str, Any], model: str) -> None:
    for key in _PARTS:
        if key in data and key not in PYTHAE_DEFAULTS[model]:
            raise ConfigError(f"{model}: Pythae's {model}Config has no field {key!r}")
        if not isinstance(data.get(key, True), bool):
            raise ConfigError(f"{model}: {key}={data[key]!r} is invalid: expected true or false")


def _discriminator_input_dim(data: dict[str, Any], model: str) -> None:
    value = data.pop("discriminator_input_dim", None)
    if value is None or data.get("uses_default_discriminator") is False:
        return  # a custom discriminator takes what it takes
    default = data.get("latent_dim") if model == "Adversarial_AE" else data.get("input_dim")
    as_tuple = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    want = tuple(default) if isinstance(default, (list, tuple)) else (default,)
    if as_tuple != want:
        raise ConfigError(f"{model}: discriminator_input_dim={value!r} differs from the default discriminator's "
                          f"input ({'latent_dim' if model == 'Adversarial_AE' else 'input_dim'}={default!r}); "
                          "it only applies to a custom discriminator: set uses_default_discriminator=false and "
                          "pass discriminator=...")


def _vq_fields(data: dict[str, Any]) -> None:
    data["beta"] = data.pop("commitment_loss_factor")
    factor = data.pop("quantization_loss_factor")
    if factor != 1.0 and not data.get("use_ema"):
        raise ConfigError(f"VQVAE: quantization_loss_factor={factor!r} is not supported: gaekit's codebook term "
                          "has weight 1 (with use_ema=true the codebook follows moving averages and has no "
                          "loss term, as in Pythae); set it to 1.0, or scale beta (commitment_loss_factor) instead")
    data.setdefault("embedding_dim", 1)


def model_config_from_pythae(source: Mapping[str, Any] | str | Path, **fields: Any) -> BaseAEConfig:
    """The gaekit model config of a Pythae 0.1.2 model config.

    Parameters
    ----------
    source : dict, str or Path
        A Pythae model config as a dict (its ``"name"``, e.g. ``"VAEConfig"``, and Pythae's fields), or the
        path of a JSON file holding one (``model_config.json`` of a Pythae model folder).
    **fields
        gaekit config fields set on top (e.g. ``network="convnet"``, ``embedding_dim=`` for a VQVAE).

    Returns
    -------
    BaseAEConfig
        The config of the gaekit model named by ``PYTHAE_MODEL_NAMES``.

    Raises
    ------
    ConfigError
        An unknown ``name``, an unknown or invalid field, or a Pythae setting gaekit cannot honour (named in
        the message).
    """
    data = read_pythae_dict(source)
    if "name" not in data:
        raise ConfigError("a Pythae model config needs its \"name\" (e.g. \"VAEConfig\")")
    model = _pythae_model(data.pop("name"))
    _check_parts(data, model)
    data = {**PYTHAE_DEFAULTS[model], **PYTHAE_MATHS.get(model, {}), **data}
    if "discriminator_input_dim" in PYTHAE_DEFAULTS[model]:
        _discriminator_input_dim(data, model)
    for key in _PARTS:
        data.pop(key, None)
    if model == "VQVAE":
        _vq_fields(data)
    if model == "FactorVAE":  # Pythae's discriminator: 5 hidden layers of 1000 units (no config field)
        data.setdefault("discriminator_num_layers", 5)
        data.setdefault("discriminator_hidden_dim", 1000)
    if model == "VAEGAN":
        # Pythae's VAEGAN reads no reconstruction_loss: its term is always 0.5 * MSE of discriminator features
        data["reconstruction_loss"] = "mse"
    if data.get("reconstruction_loss", "mse") == "mse" and model != "MSSSIM_VAE":
        data.setdefault("decoder_variance", 1.0 if model in _UNIT_VARIANCE else 0.5)
    if data.get("input_dim") is not None and isinstance(data["input_dim"], list):
        data["input_dim"] = tuple(data["input_dim"])
    data.update(fields)
    config_cls = MODELS.get(PYTHAE_MODEL_NAMES[model]).config_class
    try:
        return config_cls.from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"Pythae {model} config: {err}") from None


def _read_foreign(data: dict[str, Any]) -> dict[str, Any]:
    return model_config_from_pythae(data).to_dict()


# ``BaseConfig.from_dict`` / ``from_json`` of a gaekit model config read Pythae's files through this
for _name in PYTHAE_CONFIG_NAMES:
    FOREIGN_READERS[_name] = _read_foreign
