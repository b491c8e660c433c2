"""Mixed precision for the trainer: autocast inside the networks, fp32 losses outside them.

Autocast around a whole ``forward`` would also run the loss maths in reduced precision: a BCE or KL
summed over hundreds of dimensions from bf16 inputs keeps about three significant digits, and
matrix products inside losses (kernels, Riemannian metrics) would be downcast too. So for models
with named networks (``BaseAE.network_names``: encoder, decoder, discriminator, metric, ...) autocast
is entered only while a network runs, and the network's floating outputs are returned as fp32; every
loss term is then computed in fp32 outside autocast. Other models are autocast as a whole.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import torch
from torch import Tensor, nn


def autocast_dtype(device: torch.device, name: str | None = None) -> torch.dtype:
    """``name`` ("bfloat16" or "float16") or by default fp16 on CUDA and bf16 elsewhere."""
    if name is None:
        return torch.float16 if device.type == "cuda" else torch.bfloat16
    return getattr(torch, name)


def to_fp32(value: Any) -> Any:
    """``value`` with every reduced-precision floating tensor in it (tuples, lists, dicts, dataclasses) as fp32."""
    if isinstance(value, Tensor):
        return value.float() if value.is_floating_point() and value.dtype != torch.float64 else value
    if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
        return type(value)(to_fp32(v) for v in value)
    if isinstance(value, dict):
        return {k: to_fp32(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: to_fp32(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


def model_networks(model: nn.Module) -> list[nn.Module]:
    """The model's named networks (``network_names``: encoder, decoder, ...); empty for other models."""
    names = getattr(model, "network_names", None)
    networks = [getattr(model, n) for n in names()] if names is not None else []
    return [n for n in networks if isinstance(n, nn.Module)]


class NetworkAutocast:
    """Context manager: while active, ``model``'s networks run under autocast and return fp32 outputs.

    Parameters
    ----------
    model : nn.Module
        A gaekit model; without ``network_names`` the whole forward is autocast instead.
    device : torch.device
    dtype : torch.dtype, optional
        Default: ``autocast_dtype(device)``.
    enabled : bool
        ``False`` makes it a no-op.
    """

    def __init__(self, model: nn.Module, device: torch.device, dtype: torch.dtype | None = None,
                 enabled: bool = True):
        self.model, self.device, self.enabled = model, device, enabled
        self.dtype = dtype if dtype is not None else autocast_dtype(device)
        self._open: list[torch.autocast] = []
        self._handles: list[Any] = []
        self._whole: contextlib.AbstractContextManager | None = None

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _enter_network(self, module: nn.Module, args: Any) -> None:
        ctx = self._autocast()
        ctx.__enter__()
        self._open.append(ctx)

    def _exit_network(self, module: nn.Module, args: Any, output: Any) -> Any:
        self._open.pop().__exit__(None, None, None)
        return to_fp32(output)

    def __enter__(self) -> NetworkAutocast:
        if not self.enabled:
            return self
        networks = model_networks(self.model)
        if not networks:
            self._whole = self._autocast()
            self._whole.__enter__()
            return self
        for net in networks:
            self._handles.append(net.register_forward_pre_hook(self._enter_network))
            self._handles.append(net.register_forward_hook(self._exit_network))
        return self

    def __exit__(self, *exc: Any) -> None:
        while self._open:  # a network raised: close the autocast regions it left open
            self._open.pop().__exit__(None, None, None)
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._whole is not None:
            self._whole.__exit__(*exc)
            self._whole = None
