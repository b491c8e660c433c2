"""A small name -> object registry, used for models, samplers, datasets and metrics."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from gaekit.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to registered objects; unknown names raise ``ConfigError`` listing the known ones.

    Parameters
    ----------
    kind : str
        What is registered ("model", "sampler", ...); used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering an object under ``name``.

        Default key: for a class with its own ``config_class`` (a model, a sampler) the ``name`` of that config,
        the key its JSON files carry, so that the key is written once; for anything else its ``__name__``.
        """

        def decorator(obj: T) -> T:
            config = vars(obj).get("config_class") if isinstance(obj, type) else None
            key = name or (config.name if config is not None else obj.__name__)
            if config is not None and config.name != key:
                raise ConfigError(f"{self.kind} {key!r}: its config {config.__name__} is named {config.name!r}")
            if key in self._entries and self._entries[key] is not obj:
                raise ConfigError(f"{self.kind} {key!r} is already registered")
            self._entries[key] = obj
            return obj

        return decorator

    def discover(self, package: str, path: Iterable[str], namespace: dict[str, Any]) -> list[str]:
        """Import every public module of ``package`` (names without a leading underscore, found on its
        ``path``, in name order), so that they register their entries; bind in ``namespace`` every public
        name a module gives to an entry it registered or to that entry's ``config_class`` (aliases such as
        Pythae's spellings included), and return those names."""
        exported: list[str] = []
        for info in sorted(pkgutil.iter_modules(list(path)), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package}.{info.name}")
            entries = [e for e in self._entries.values() if getattr(e, "__module__", None) == module.__name__]
            own = {id(obj) for e in entries for obj in (e, getattr(e, "config_class", e))}
            for attr, value in vars(module).items():
                if not attr.startswith("_") and id(value) in own:
                    namespace[attr] = value
                    exported.append(attr)
        return exported

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; registered {self.kind}s: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def spelling_key(name: str) -> str:
    """The canonical spelling of a dataset or feature-extractor name: ``" Fashion_MNIST"`` -> ``"fashion-mnist"``."""
    return name.strip().lower().replace("_", "-")
