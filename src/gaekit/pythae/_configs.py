"""Pythae's config classes as builders of gaekit configs.

``gaekit.pythae.models.VAEConfig(...)`` (and every other Pythae model, trainer and sampler config class) takes
Pythae's fields, with Pythae's defaults and field order, and returns the gaekit config they describe (a
``gaekit.models.VAEConfig``, a ``TrainerConfig``, ...), mapped by ``gaekit.models.pythae_config``,
``gaekit.trainers.pythae_config`` and ``gaekit.samplers.pythae_config``. ``isinstance(config, VAEConfig)`` holds
for the gaekit configs they build. ``from_json_file`` reads Pythae's JSON files (and gaekit's).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from gaekit.config import BaseConfig, read_json
from gaekit.errors import ConfigError
from gaekit.models import MODELS
from gaekit.models.pythae_config import (
    PYTHAE_CONFIG_NAMES,
    PYTHAE_DEFAULTS,
    PYTHAE_MODEL_NAMES,
    model_config_from_pythae,
)
from gaekit.pythae._trainer_config import PythaeTrainerConfig
from gaekit.samplers import SAMPLERS, BaseSamplerConfig
from gaekit.samplers.pythae_config import PYTHAE_SAMPLER_DEFAULTS, PYTHAE_SAMPLER_NAMES, sampler_config_from_pythae
from gaekit.trainers import TrainerConfig
from gaekit.trainers.pythae_config import PYTHAE_TRAINER_CONFIGS, PYTHAE_TRAINER_DEFAULTS, trainer_config_from_pythae

__all__ = ["PythaeConfigType", "model_config_classes", "sampler_config_classes", "trainer_config_classes"]


class PythaeConfigType(type):
    """Calling a class of this type builds the gaekit config; ``isinstance`` checks the gaekit config class."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.build(*args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return cls.matches(obj)


class PythaeConfig(metaclass=PythaeConfigType):
    """Base of the Pythae config classes (``pythae_name``: the Pythae class name; ``fields``: its fields in
    Pythae's order, for positional arguments)."""

    pythae_name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def gaekit_class(cls) -> type[BaseConfig]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @classmethod
    def matches(cls, obj: Any) -> bool:
        return isinstance(obj, cls.gaekit_class())

    @classmethod
    def convert(cls, data: dict[str, Any]) -> Any:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        """The gaekit config of these Pythae fields (positional ones in Pythae's order)."""
        if len(args) > len(cls.fields):
            raise ConfigError(f"{cls.pythae_name} takes at most {len(cls.fields)} positional arguments "
                              f"({', '.join(cls.fields)}), got {len(args)}")
        data = dict(zip(cls.fields, args))
        twice = sorted(data.keys() & kwargs.keys())
        if twice:
            raise ConfigError(f"{cls.pythae_name}: {', '.join(twice)} given both by position and by name")
        data.update(kwargs)
        if data.pop("name", cls.pythae_name) != cls.pythae_name:
            raise ConfigError(f"{cls.pythae_name}: 'name' is the class's own ({cls.pythae_name!r}), not a field to set")
        return cls.convert({"name": cls.pythae_name, **data})

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any]) -> Any:
        """Pythae's ``from_dict``: the config of these fields."""
        if not isinstance(config_dict, dict):
            raise ConfigError(f"{cls.pythae_name}.from_dict expects a dict of fields, got {type(config_dict).__name__}")
        return cls.build(**config_dict)

    @classmethod
    def from_json_file(cls, json_path: str) -> Any:
        """Read a config file written by Pythae (``"name": "<Pythae class>"``) or by gaekit (``"name"``: the gaekit
        config's)."""
        data = read_json(json_path)
        if not isinstance(data, dict):
            raise ConfigError(f"config file {json_path} does not hold a JSON object of config fields")
        name = data.get("name")
        gaekit_cls = cls.gaekit_class()
        if name == getattr(gaekit_cls, "name", None):
            return gaekit_cls.from_dict(data)
        if name is not None and name != cls.pythae_name:
            raise ConfigError(f"config file {json_path} holds a {name!r} config, not a {cls.pythae_name}; read it "
                              f"with {name}.from_json_file")
        data.pop("name", None)
        return cls.build(**data)


class _ModelConfig(PythaeConfig):
    @classmethod
    def gaekit_class(cls) -> type[BaseConfig]:
        return MODELS.get(PYTHAE_MODEL_NAMES[PYTHAE_CONFIG_NAMES[cls.pythae_name]]).config_class

    @classmethod
    def convert(cls, data: dict[str, Any]) -> Any:
        return model_config_from_pythae(data)


class _TrainerConfig(PythaeConfig):
    @classmethod
    def gaekit_class(cls) -> type[BaseConfig]:
        return TrainerConfig

    @classmethod
    def matches(cls, obj: Any) -> bool:
        groups = PYTHAE_TRAINER_CONFIGS[cls.pythae_name]
        return isinstance(obj, TrainerConfig) and (not groups or set(obj.group_overrides) == set(groups))

    @classmethod
    def convert(cls, data: dict[str, Any]) -> Any:
        # keep_best_on_train is decided by the trainer, which knows whether there is eval data
        plain = trainer_config_from_pythae(data, with_eval_data=False)
        config = PythaeTrainerConfig(**{f.name: getattr(plain, f.name) for f in dataclasses.fields(plain)})
        per_device = data.get("per_device_train_batch_size", PYTHAE_TRAINER_DEFAULTS[cls.pythae_name]
                              ["per_device_train_batch_size"])
        for attr, value in (("pythae_keep_best_on_train", bool(data.get("keep_best_on_train", False))),
                            ("pythae_num_workers", plain.pythae_num_workers),
                            ("pythae_world", max(plain.batch_size // per_device, 1))):
            object.__setattr__(config, attr, value)
        return config


class _SamplerConfig(PythaeConfig):
    @classmethod
    def gaekit_class(cls) -> type[BaseConfig]:
        sampler = PYTHAE_SAMPLER_NAMES[cls.pythae_name]
        return BaseSamplerConfig if sampler is None else SAMPLERS.get(sampler).config_class

    @classmethod
    def matches(cls, obj: Any) -> bool:
        gaekit_cls = cls.gaekit_class()
        return type(obj) is gaekit_cls if gaekit_cls is not BaseSamplerConfig else isinstance(obj, gaekit_cls)

    @classmethod
    def convert(cls, data: dict[str, Any]) -> Any:
        return sampler_config_from_pythae(data)


def _classes(base: type[PythaeConfig], defaults: dict[str, dict[str, Any]]) -> dict[str, type]:
    return {name: PythaeConfigType(name, (base,), {"pythae_name": name, "fields": tuple(fields),
                                                   "__doc__": f"Pythae's ``{name}``: builds the gaekit config."})
            for name, fields in defaults.items()}


def model_config_classes() -> dict[str, type]:
    """Pythae config class name -> the builder class, for every Pythae 0.1.2 model config."""
    return _classes(_ModelConfig, {name: PYTHAE_DEFAULTS[model] for name, model in PYTHAE_CONFIG_NAMES.items()})


def trainer_config_classes() -> dict[str, type]:
    """The builder classes of Pythae's four trainer configs."""
    return _classes(_TrainerConfig, PYTHAE_TRAINER_DEFAULTS)


def sampler_config_classes() -> dict[str, type]:
    """The builder classes of every Pythae 0.1.2 sampler config."""
    return _classes(_SamplerConfig, PYTHAE_SAMPLER_DEFAULTS)
