"""Validated configuration dataclasses with a JSON round trip.

Every model, sampler and the trainer has a config class deriving from ``BaseConfig``:
a dataclass whose fields are type-checked (and lightly coerced: JSON lists become tuples,
ints become floats) on construction and again by ``validate()``; range checks live in
each class's ``_check``. Errors are ``ConfigError`` naming the field, the bad value and
what is allowed; unknown keys in a JSON file, and unknown or missing keyword arguments in Python,
are refused with the list of accepted fields. NaN and infinities are refused in every field (a
config is always writable as strict JSON), and so are seeds outside ``[0, 2**63)``.
A class's ``aliases`` map other spellings of a field (Pythae's, or gaekit's before the renames of
docs/names.md) to the field: they are accepted as keywords, in ``from_dict``/``from_json`` and ``replace``,
and read as attributes; ``to_dict`` writes the field's own name; giving both spellings is a ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import numbers
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

from gaekit.errors import ConfigError

_MISSING = object()

# readers of configs written by another library, by the "name" it writes (Pythae's "VAEConfig", ...): each maps
# such a dict to the gaekit config's dict (with its gaekit "name"); ``from_dict`` uses them. They are registered
# by the layer that knows them (gaekit.models.pythae_config, gaekit.trainers.pythae_config, ...).
FOREIGN_READERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}

# seeds are refused outside [0, SEED_LIMIT): torch and numpy take at most 64-bit seeds
SEED_LIMIT = 2**63


def check_seed(value: Any, where: str = "seed") -> int:
    """``value`` as an int if it is a valid seed (an int in ``[0, 2**63)``), else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < SEED_LIMIT:
        raise ConfigError(f"{where}={value!r} is invalid: expected an int in [0, 2**63)")
    return int(value)


def check_count(value: Any, where: str, minimum: int = 1) -> int:
    """``value`` as an int if it is an int ``>= minimum`` (not a bool), else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        allowed = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ConfigError(f"{where}={value!r} is invalid: expected {allowed}")
    return int(value)


def keyword_aliases(**aliases: str) -> Any:
    """Decorator: the function also accepts each keyword ``old=`` of ``aliases`` (``old="new"``) as ``new=``;
    both given is a ``ConfigError``. The function-argument counterpart of a config's ``aliases``."""

    def decorate(fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old in aliases.keys() & kwargs.keys():
                if aliases[old] in kwargs:
                    raise ConfigError(f"{fn.__name__}: {old!r} is the old name of {aliases[old]!r}; give only one "
                                      "of them")
                kwargs[aliases[old]] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def _is_seed_field(name: str) -> bool:
    return name in ("seed", "seeds") or name.endswith(("_seed", "_seeds"))


def _check_seeds(value: Any, where: str) -> None:
    """Refuse every int in a seed field (an int, or a list of them) outside ``[0, 2**63)``."""
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_seeds(v, f"{where}[{i}]")
    elif isinstance(value, numbers.Integral):
        check_seed(value, where)


def _check_finite(value: Any, where: str) -> None:
    """Refuse NaN and infinities anywhere in a field: a config must be writable as strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}={value!r} is invalid: expected a finite number (configs are written as JSON)")
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}[{k!r}]")


def json_values(value: Any, where: str) -> Any:
    """``value`` with tuples as lists; ``ConfigError`` for anything JSON cannot hold."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{where}={value!r:.80} is invalid: expected a dict with string keys")
        return {k: json_values(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_values(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"{where}={value!r:.80} is invalid: expected JSON values (numbers, strings, booleans, "
                      f"lists, dicts), got {type(value).__name__}")


def _json_kind(value: Any) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _unknown_error(cls: type, unknown: list[str], noun: str) -> ConfigError:
    accepted = cls.accepted_keys()
    return ConfigError(
        f"unknown {noun}(s) {', '.join(map(repr, unknown))} for {cls.__name__}; "
        f"accepted {noun}s: {', '.join(accepted)}"
    )


def _checked_init(init: Any) -> Any:
    """Wrap a config class's dataclass ``__init__`` so that bad arguments (unknown, missing or extra
    positional) raise ``ConfigError`` listing the accepted fields instead of a bare ``TypeError``."""

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs = type(self).resolve_aliases(kwargs)
        try:
            init(self, *args, **kwargs)
        except TypeError:
            cls = type(self)
            try:
                inspect.signature(init).bind(self, *args, **kwargs)
            except TypeError as err:
                unknown = sorted(set(kwargs) - set(cls.accepted_keys()))
                if unknown:
                    raise _unknown_error(cls, unknown, "field") from None
                raise ConfigError(f"{cls.__name__}: {err}; accepted fields: {', '.join(cls.accepted_keys())}") \
                    from None
            raise

    __init__._gaekit_checked = True  # type: ignore[attr-defined]
    return __init__


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
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in typing.get_args(tp)):
            return value
        raise bad
    if origin in (Union, types.UnionType):
        return _coerce_union(value, typing.get_args(tp), where, bad)
    if tp in _SCALARS:
        return _SCALARS[tp](value, bad)
    if origin in (tuple, list, dict) or tp is dict:
        return _coerce_container(value, origin or dict, typing.get_args(tp), where, bad)
    if isinstance(tp, type) and not isinstance(value, tp):
        raise bad
    return value


def _coerce_union(value: Any, options: tuple[Any, ...], where: str, bad: ConfigError) -> Any:
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is type(None):
            continue
        try:
            return _coerce(value, option, where)
        except ConfigError:
            continue
    raise bad


def _exactly(kind: type) -> Callable[[Any, ConfigError], Any]:
    """A coercion accepting only values of ``kind`` (a bool is not an int)."""
    def coerce(value: Any, bad: ConfigError) -> Any:
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        raise bad
    return coerce


def _to_float(value: Any, bad: ConfigError) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int too large for a float
            raise bad from None
    raise bad


def _to_none(value: Any, bad: ConfigError) -> None:
    if value is None:
        return None
    raise bad


_SCALARS: dict[Any, Callable[[Any, ConfigError], Any]] = {
    bool: _exactly(bool), int: _exactly(int), str: _exactly(str), float: _to_float, type(None): _to_none}


def _coerce_container(value: Any, origin: type, args: tuple[Any, ...], where: str, bad: ConfigError) -> Any:
    """A tuple (fixed or ``...``), list or dict, its items coerced in turn."""
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        key_tp, val_tp = args if args else (Any, Any)
        return {_coerce(k, key_tp, f"{where} key"): _coerce(v, val_tp, f"{where}[{k!r}]") for k, v in value.items()}
    if not isinstance(value, (list, tuple)):
        raise bad
    if origin is list:
        item = args[0] if args else Any
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if len(args) != len(value):
        raise bad
    return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations of a config class (evaluated once per class)."""
    return typing.get_type_hints(cls)


@functools.cache
def _all_aliases(cls: type) -> dict[str, str]:
    """Old spelling -> field name, merged from ``aliases`` along the MRO (a subclass's entries win)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        out.update(klass.__dict__.get("aliases", {}))
    return out


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

    Subclasses are dataclasses with range checks in ``_check`` (using ``self._require``). The class
    attribute ``name`` is written to and checked against the ``"name"`` entry of the JSON file; for the
    config of a registered model or sampler it is the registry key (``Registry.register`` reads it there).
    ``aliases`` maps old spellings of fields to the fields (merged along the class's bases).
    """

    name: ClassVar[str] = "BaseConfig"
    aliases: ClassVar[dict[str, str]] = {}

    def __new__(cls, *args: Any, **kwargs: Any):
        # the dataclass decorator writes ``__init__`` after class creation (and again when a subclass is
        # re-decorated), so it is wrapped here, once per class, on first construction
        if not getattr(cls.__init__, "_gaekit_checked", False):
            cls.__init__ = _checked_init(cls.__init__)
        return super().__new__(cls)

    def __post_init__(self) -> None:
        self.validate()

    # -- old spellings -----------------------------------------------------------------
    @classmethod
    def all_aliases(cls) -> dict[str, str]:
        """Every old spelling -> field name, from ``aliases`` of the class and its bases."""
        return _all_aliases(cls)

    @classmethod
    def resolve_aliases(cls, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` with old spellings replaced by the field names; both spellings given is a ``ConfigError``."""
        aliases = _all_aliases(cls)
        if not aliases.keys() & data.keys():
            return data
        out = dict(data)
        for old in aliases.keys() & data.keys():
            new = aliases[old]
            if new in data:
                raise ConfigError(f"{cls.__name__}: {old!r} is the old name of {new!r}; give only one of them")
            out[new] = out.pop(old)
        return out

    def __getattr__(self, attr: str) -> Any:  # only reached when ``attr`` is not a field or attribute
        new = _all_aliases(type(self)).get(attr)
        if new is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        return getattr(self, new)

    def __setattr__(self, attr: str, value: Any) -> None:
        object.__setattr__(self, _all_aliases(type(self)).get(attr, attr), value)

    # -- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Type-check every field (coercing JSON lists to tuples, ints to floats) and run range checks."""
        hints = _type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            where = f"{type(self).__name__}.{f.name}"
            try:
                coerced = _coerce(value, hints[f.name], where)
                _check_finite(coerced, where)
                if _is_seed_field(f.name):
                    _check_seeds(coerced, where)
            except ConfigError as err:
                raise ConfigError(f"{err}{self._old_names(f.name)}") from None
            object.__setattr__(self, f.name, coerced)
        self._check()

    def _check(self) -> None:
        """Range and consistency checks; subclasses extend (call ``super()._check()``)."""

    def _require(self, field: str, ok: bool, allowed: str) -> None:
        """Raise ``ConfigError`` naming ``field``, its value and ``allowed`` unless ``ok``."""
        if not ok:
            value = getattr(self, field)
            raise ConfigError(f"{type(self).__name__}.{field}={value!r} is invalid: expected {allowed}"
                              f"{self._old_names(field)}")

    @classmethod
    def _old_names(cls, field: str) -> str:
        """`` (old name: n_lf)`` for a field with aliases, so that an error names the spelling the user gave."""
        old = [k for k, v in _all_aliases(cls).items() if v == field]
        return f" (old name: {', '.join(old)})" if old else ""

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
            raise ConfigError(f"{cls.__name__} expects a JSON object (a dict of its fields), got a JSON "
                              f"{_json_kind(data)}: {data!r:.80}")
        data = dict(data)
        name = data.pop("name", None)
        if name is not None and name != cls.name and name in FOREIGN_READERS:  # e.g. Pythae's "VAEConfig"
            data = dict(FOREIGN_READERS[name]({"name": name, **data}))
            foreign, name = name, data.pop("name", None)
            if name != cls.name:
                raise ConfigError(f"this is a config for {foreign!r} (gaekit's {name!r}), not for {cls.name!r} "
                                  f"({cls.__name__})")
        if name is not None and name != cls.name:
            raise ConfigError(f"this is a config for {name!r}, not for {cls.name!r} ({cls.__name__})")
        data = cls.resolve_aliases(data)
        accepted = cls.accepted_keys()
        unknown = sorted(set(data) - set(accepted))
        if unknown:
            raise _unknown_error(cls, unknown, "key")
        return cls(**data)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_json(self, path: str | Path) -> None:
        """Write the config to ``path`` (a ``.json`` file)."""
        Path(path).write_text(self.to_json_string() + "\n")

    def save_json(self, dir_path: str | Path, filename: str) -> Path:
        """Write the config to ``dir_path/filename.json`` (Pythae's ``save_json`` signature; gaekit's JSON).

        Parameters
        ----------
        dir_path : str or Path
            An existing folder.
        filename : str
            The file's name without ``.json``.

        Raises
        ------
        ConfigError
            When ``dir_path`` is not an existing folder or ``filename`` is not a plain file name.
        """
        folder = Path(dir_path)
        if not folder.is_dir():
            raise ConfigError(f"save_json: dir_path={str(dir_path)!r} is not an existing folder; create it first")
        if not isinstance(filename, str) or not filename or Path(filename).name != filename:
            raise ConfigError(f"save_json: filename={filename!r} is invalid: expected a file name without folders "
                              f"(written as <filename>.json in dir_path)")
        path = folder / f"{filename}.json"
        self.to_json(path)
        return path

    @classmethod
    def from_json(cls, path: str | Path):
        """Read a config written by ``to_json`` (or by hand), validating every field."""
        data = read_json(path)
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} holds a JSON {_json_kind(data)}; expected a JSON object "
                              f"with the fields of {cls.__name__}: {', '.join(cls.accepted_keys())}")
        return cls.from_dict(data)

    def replace(self, **changes: Any):
        """A validated copy with ``changes`` applied."""
        changes = self.resolve_aliases(changes)
        unknown = sorted(set(changes) - set(self.accepted_keys()))
        if unknown:
            raise ConfigError(
                f"unknown field(s) {', '.join(unknown)} for {type(self).__name__}; "
                f"accepted: {', '.join(self.accepted_keys())}"
            )
        return dataclasses.replace(self, **changes)


def loads_json(text: str) -> Any:
    """``json.loads``, with bad text that the parser rejects outside ``JSONDecodeError`` (an int of more than
    4300 digits, nesting deeper than the recursion limit) raised as ``json.JSONDecodeError`` too."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as err:
        raise json.JSONDecodeError(str(err).split(";")[0], text, 0) from None


def read_json(path: str | Path) -> Any:
    """Read a JSON file, turning a missing file or bad JSON into ``ConfigError``."""
    path = Path(path)
    try:
        return loads_json(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, expected a JSON file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {err.start}), expected a JSON file") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"config file {path} is not valid JSON: {err}") from None
