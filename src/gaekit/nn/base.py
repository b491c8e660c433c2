"""Encoder and decoder contracts.

An encoder maps a batch ``x`` of shape ``(B, *input_dim)`` to an ``EncoderOutput``; a decoder
maps latent codes ``z`` of shape ``(B, latent_dim)`` to *pre-activation* outputs of shape
``(B, *input_dim)`` -- the model applies the output activation (sigmoid for data in [0, 1]),
so that BCE is computed from logits.
"""

from __future__ import annotations

import contextvars
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from gaekit.errors import ConfigError

_GIB = 1024**3


@dataclass
class EncoderOutput:
    """What an encoder returns.

    Attributes
    ----------
    embedding : Tensor
        ``(B, latent_dim)``: the code of a deterministic encoder, or the posterior mean.
    log_covariance : Tensor or None
        ``(B, latent_dim)``: log-variances of a diagonal Gaussian posterior (variational models).
    log_concentration : Tensor or None
        ``(B, 1)``: log of the von Mises-Fisher concentration of a hyperspherical posterior, whose
        mean direction is ``embedding`` (unit norm).
    """

    embedding: Tensor
    log_covariance: Tensor | None = None
    log_concentration: Tensor | None = None


class BaseEncoder(nn.Module):
    """Base class for encoders: ``forward(x) -> EncoderOutput``."""

    def forward(self, x: Tensor) -> EncoderOutput:  # pragma: no cover - abstract
        raise NotImplementedError


class BaseDecoder(nn.Module):
    """Base class for decoders: ``forward(z) -> Tensor`` of pre-activation outputs."""

    def forward(self, z: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def as_encoder_output(out: EncoderOutput | Tensor | tuple[Tensor, Tensor]) -> EncoderOutput:
    """Accept what a custom encoder returns: an ``EncoderOutput``, a tensor, or ``(mean, log_var)``."""
    if isinstance(out, EncoderOutput):
        return out
    if isinstance(out, torch.Tensor):
        return EncoderOutput(embedding=out)
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return EncoderOutput(embedding=out[0], log_covariance=out[1])
    raise TypeError(
        f"an encoder must return an EncoderOutput, a tensor or a (mean, log_variance) pair; got {type(out)}"
    )


def machine_memory_bytes() -> int | None:
    """Physical memory of this machine in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def module_bytes(module: nn.Module) -> int:
    """Bytes held by the parameters and buffers of ``module``."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


# set while ``meta_build_bytes`` measures a build: the checks of the parts it builds (a model's default networks,
# built by ``create_network``) leave the verdict to the outer check, which names the outer sizes
_MEASURING: contextvars.ContextVar[bool] = contextvars.ContextVar("gaekit_measuring_build", default=False)


def meta_build_bytes(build: Callable[[], nn.Module]) -> int | None:
    """Bytes ``build()`` would allocate, found by building it on the ``meta`` device (no memory, no
    arithmetic, no random draws); None when the builder cannot run there."""
    token = _MEASURING.set(True)
    try:
        with torch.device("meta"):
            return module_bytes(build())
    except Exception:  # noqa: BLE001 - a builder that needs real tensors: no estimate
        return None
    finally:
        _MEASURING.reset(token)


def check_fits_in_memory(nbytes: int | None, what: str, sizes: str, needed_for: str = "its weights",
                         allowed: str = "smaller sizes (or smaller networks passed in)") -> None:
    """Raise ``ConfigError`` when ``nbytes`` exceeds this machine's memory; ``sizes`` names the fields."""
    available = machine_memory_bytes()
    if nbytes is None or available is None or nbytes <= available:
        return
    raise ConfigError(
        f"{what} with {sizes} would need {nbytes / _GIB:.3g} GiB for {needed_for}, more than this machine's "
        f"{available / _GIB:.3g} GiB of memory: expected {allowed}"
    )


# a size (an int, or the product of a shape) up to this needs no estimate: the library's default networks
# are then at most a few hundred MB
_SMALL_SIZE = 2**14


def _large(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > _SMALL_SIZE
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) and not isinstance(v, bool)
                                                          for v in value):
        return any(v > _SMALL_SIZE for v in value) or math.prod(value) > _SMALL_SIZE
    return False


def large_sizes(sizes: dict[str, Any]) -> str:
    """``"name=value, ..."`` for the entries of ``sizes`` that are large sizes (ints, or shapes), else ``""``."""
    return ", ".join(f"{name}={value!r}" for name, value in sizes.items() if _large(value))


def check_build_memory(build: Callable[[], nn.Module], what: str, sizes: dict[str, Any], already: int = 0) -> int:
    """Refuse (``ConfigError``) to run ``build()`` when its weights plus ``already`` bytes would not fit in
    this machine's memory; return the estimated bytes (0 when not estimated).

    ``sizes`` are the named fields that size the network; only when one of them is large is the network
    built on the ``meta`` device to measure it, so that building ordinary models costs nothing extra.
    """
    named = large_sizes(sizes)
    if not named or _MEASURING.get():  # nothing large, or part of a build an outer check is measuring
        return 0
    nbytes = meta_build_bytes(build)
    if nbytes is None:
        return 0
    check_fits_in_memory(already + nbytes, what, named)
    return nbytes
