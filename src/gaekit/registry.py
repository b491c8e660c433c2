"""A small name -> object registry, used for models, samplers, datasets and metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

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
        """Decorator registering an object under ``name`` (default: its ``__name__``)."""

        def decorator(obj: T) -> T:
            key = name or obj.__name__
            if key in self._entries and self._entries[key] is not obj:
                raise ConfigError(f"{self.kind} {key!r} is already registered")
            self._entries[key] = obj
            return obj

        return decorator

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
