"""``pythae.models.auto_model``: ``AutoModel`` (gaekit's, for gaekit and Pythae model folders) and ``AutoConfig``.

gaekit stores no code, so a model trained with networks passed by hand is loaded by passing them again. The
networks that ``gaekit.pythae``'s ``benchmarks`` and ``default_architectures`` classes build are gaekit's own
(e.g. ``gaekit.nn.paper.ResNetEncoder``): ``AutoModel.load_from_folder`` here rebuilds those from the folder's
``config.json`` when the class recorded in ``gaekit.json`` and the shapes of the saved weights are what gaekit's
``"mlp"``, ``"convnet"`` or ``"resnet"`` family builds for the model. So Pythae's flow
``AutoModel.load_from_folder(".../final_model")`` needs no arguments for them; other custom networks are still
refused unless passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from gaekit.config import read_json
from gaekit.errors import CheckpointError, ConfigError
from gaekit.models import MODELS, BaseAE, BaseAEConfig
from gaekit.models import AutoModel as GaekitAutoModel
from gaekit.models.pythae_config import PYTHAE_CONFIG_NAMES, model_config_from_pythae
from gaekit.nn import create_network
from gaekit.serialization import read_safetensors_header

__all__ = ["AutoConfig", "AutoModel"]


_FAMILIES = ("mlp", "convnet", "resnet")


def _qualname(module: nn.Module) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _candidates(family: str, part: str, config: BaseAEConfig, model_cls: type[BaseAE]) -> list[nn.Module]:
    """The networks gaekit's ``family`` builds for ``part`` of this model (the ones ``gaekit.pythae`` builds)."""
    if part in ("encoder", "decoder"):
        return [create_network(family, tuple(config.input_dim), part, config.latent_dim, model=model_cls)]
    if part == "discriminator":
        nets = [create_network(family, tuple(config.input_dim), "discriminator")]
        if family == "mlp":  # Discriminator_MLP on the latent codes (the AAE's) or the data
            nets += [create_network("mlp", (config.latent_dim,), "discriminator", hidden_dims=(256,)),
                     create_network("mlp", tuple(config.input_dim), "discriminator", hidden_dims=(256,))]
        return nets
    if part == "metric" and family == "mlp":
        from gaekit.models.rhvae import MetricNetwork

        return [MetricNetwork(tuple(config.input_dim), config.latent_dim, getattr(config, "metric_hidden_dim", 400))]
    return []


def _gaekit_networks(folder: Path, given: dict[str, Any]) -> dict[str, nn.Module]:
    """The custom networks recorded in a gaekit folder that are gaekit's own family networks, rebuilt."""
    meta_path, config_path = folder / "gaekit.json", folder / "config.json"
    if not (meta_path.is_file() and config_path.is_file()):
        return {}
    meta, data = read_json(meta_path), read_json(config_path)
    if not (isinstance(meta, dict) and isinstance(data, dict) and data.get("name") in MODELS):
        return {}
    model_cls = MODELS.get(data["name"])
    try:
        config = model_cls.config_class.from_dict(data)
    except ConfigError:
        return {}  # the loader says what is wrong with it
    weights = folder / "model.safetensors"
    try:
        saved = {k: shape for k, (_, shape) in read_safetensors_header(weights).items()}
    except (OSError, CheckpointError):
        return {}  # the loader says what is wrong with the weights
    rebuilt: dict[str, nn.Module] = {}
    for key, recorded in meta.items():
        part = key[len("custom_"):] if key.startswith("custom_") else None
        if part is None or not isinstance(recorded, str) or given.get(part) is not None:
            continue
        if not recorded.startswith(("gaekit.nn.", "gaekit.models.rhvae.")) or config.input_dim is None:
            continue
        for family in _FAMILIES:
            match = [n for n in _candidates(family, part, config, model_cls) if _qualname(n) == recorded
                     and all(saved.get(f"{part}.{k}") == tuple(v.shape) for k, v in n.state_dict().items())]
            if match:
                rebuilt[part] = match[0]
                break
    return rebuilt


class AutoModel(GaekitAutoModel):
    """gaekit's ``AutoModel`` (gaekit and Pythae folders, the Hub); ``load_from_folder`` also rebuilds the gaekit
    family networks that ``gaekit.pythae``'s network classes built (see the module docstring)."""

    @staticmethod
    def load_from_folder(folder: str | Path, encoder: nn.Module | None = None,
                         decoder: nn.Module | None = None, **networks: nn.Module | None) -> BaseAE:
        """Load a model folder; gaekit's own networks recorded as custom are rebuilt, others must be passed."""
        given = {"encoder": encoder, "decoder": decoder, **networks}
        rebuilt = _gaekit_networks(Path(folder), given) if isinstance(folder, (str, Path)) else {}
        return GaekitAutoModel.load_from_folder(folder, **{**given, **rebuilt})


class AutoConfig:
    """Pythae's ``AutoConfig``: ``AutoConfig.from_json_file(path)`` reads any model config file, Pythae's
    (``"name": "VAEConfig"``, ...) or gaekit's (``"name": "VAE"``), as the gaekit config of its model."""

    @classmethod
    def from_json_file(cls, json_path: str) -> BaseAEConfig:
        data = read_json(json_path)
        name = data.get("name") if isinstance(data, dict) else None
        if name in PYTHAE_CONFIG_NAMES:
            return model_config_from_pythae(data)
        if name == "BaseAEConfig":  # Pythae's base config: its common fields
            data = {k: v for k, v in data.items() if k not in ("name", "uses_default_encoder", "uses_default_decoder")}
            return BaseAEConfig.from_dict(data)
        if isinstance(name, str) and name in MODELS:
            return MODELS.get(name).config_class.from_dict(data)
        raise ConfigError(f"config file {json_path}: name={name!r} is neither a Pythae model config "
                          f"({', '.join(sorted(PYTHAE_CONFIG_NAMES))}) nor a gaekit model "
                          f"({', '.join(MODELS.names())})")

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any]) -> BaseAEConfig:
        """The config of a dict with its ``"name"`` (Pythae's or gaekit's)."""
        name = config_dict.get("name")
        if name in PYTHAE_CONFIG_NAMES:
            return model_config_from_pythae(config_dict)
        return MODELS.get(name).config_class.from_dict(config_dict)
