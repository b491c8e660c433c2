"""Validated configuration dataclasses with a JSON round trip.

Every model, sampler and the trainer has a config class deriving from ``BaseConfig``:
a dataclass whose fields are type-checked (and lightly coerced: JSON lists become tuples,
ints become floats) on construction and again by ``validate()``; range checks live in
each class's ``_check``. Errors are ``ConfigError`` naming the field, the bad value and
what is allowed; unknown keys in a JSON file are refused with the list of accepted keys.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

from gaekit.errors import ConfigError

_MISSING = object()


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    if origin is not None:
        return repr(tp).replace("typing.", "")
    return getattr(tp, "__name__", repr(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Return ``value`` converted to ``tp`` where the conversion is lossless, else raise ConfigError."""
    bad = ConfigError(f"{where}={value!r} is invalid: expected {_describe(tp)}")
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise bad
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise bad
    if tp is type(None):
        if value is None:
            return None
        raise bad
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise bad
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        item = args[0] if args else Any
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise bad
        key_tp, val_tp = args if args else (Any, Any)
        return {
            _coerce(k, key_tp, f"{where} key"): _coerce(v, val_tp, f"{where}[{k!r}]") for k, v in value.items()
        }
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise bad
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclasses.dataclass
class BaseConfig:
    """Base of all gaekit configs.

    Subclasses are dataclasses; they set the class attribute ``name`` (the registry key,
    written to and checked against the ``"name"`` entry of the JSON file) and add range
    checks in ``_check``, using ``self._require``.
    """

    name: ClassVar[str] = "BaseConfig"

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Type-check every field (coercing JSON lists to tuples, ints to floats) and run range checks."""
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            coerced = _coerce(value, hints[f.name], f"{type(self).__name__}.{f.name}")
            object.__setattr__(self, f.name, coerced)
        self._check()

    def _check(self) -> None:
        """Range and consistency checks; subclasses extend (call ``super()._check()``)."""

    def _require(self, field: str, ok: bool, allowed: str) -> None:
        """Raise ``ConfigError`` naming ``field``, its value and ``allowed`` unless ``ok``."""
        if not ok:
            value = getattr(self, field)
            raise ConfigError(f"{type(self).__name__}.{field}={value!r} is invalid: expected {allowed}")

    def _require_positive(self, *names: str, allow_zero: bool = False) -> None:
        for field in names:
            value = getattr(self, field)
            ok = value is not None and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
            self._require(field, ok, "a finite number >= 0" if allow_zero else "a finite number > 0")

    # -- (de)serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON types, with its ``name`` first."""
        out: dict[str, Any] = {"name": self.name}
        for f in dataclasses.fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def accepted_keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build a config from a dict, refusing unknown keys and a mismatched ``name``."""
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
        data = dict(data)
        name = data.pop("name", None)
        if name is not None and name != cls.name:
            raise ConfigError(f"this is a config for {name!r}, not for {cls.name!r} ({cls.__name__})")
        accepted = cls.accepted_keys()
        unknown = sorted(set(data) - set(accepted))
        if unknown:
            raise ConfigError(
                f"unknown key(s) {', '.join(map(repr, unknown))} for {cls.__name__}; "
                f"accepted keys: {', '.join(accepted)}"
            )
        try:
            return cls(**data)
        except TypeError as err:  # a required field is missing
            raise ConfigError(f"{cls.__name__}: {err}") from None

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_json(self, path: str | Path) -> None:
        """Write the config to ``path`` (a ``.json`` file)."""
        Path(path).write_text(self.to_json_string() + "\n")

    @classmethod
    def from_json(cls, path: str | Path):
        """Read a config written by ``to_json`` (or by hand), validating every field."""
        return cls.from_dict(read_json(path))

    def replace(self, **changes: Any):
        """A validated copy with ``changes`` applied."""
        unknown = sorted(set(changes) - set(self.accepted_keys()))
        if unknown:
            raise ConfigError(
                f"unknown field(s) {', '.join(unknown)} for {type(self).__name__}; "
                f"accepted: {', '.join(self.accepted_keys())}"
            )
        return dataclasses.replace(self, **changes)


def read_json(path: str | Path) -> Any:
    """Read a JSON file, turning a missing file or bad JSON into ``ConfigError``."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"config file {path} is not valid JSON: {err}") from None
