"""Mixed precision for the trainer: autocast inside the networks, fp32 losses outside them.

Autocast around a whole ``forward`` would also run the loss maths in reduced precision: a BCE or KL
summed over hundreds of dimensions from bf16 inputs keeps about three significant digits, and
matrix products inside losses (kernels, Riemannian metrics) would be downcast too. So for models
with named networks (``BaseAE.network_names``: encoder, decoder, discriminator, metric, ...) autocast
is entered only while a network runs, and the network's floating outputs are returned as fp32; every
loss term is then computed in fp32 outside autocast. Other models are autocast as a whole.

Mixed precision pays only where the device computes in the reduced dtype natively: :func:`native_bf16`
tells, and :func:`check_amp_pays` warns (CPU) or refuses (CUDA) before training where it does not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gaekit.errors import ConfigError

# x86 flags of native bf16 arithmetic (AVX512-BF16, AMX; AVX512-FP16 CPUs have both), and Arm's "bf16".
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "avx512_fp16", "bf16")
CPUINFO = Path("/proc/cpuinfo")
# Measured: the paper's MNIST ConvNet VAE (batch 100), torch 2.13, an AVX2-only AMD EPYC, one thread.
MEASURED_SLOWDOWN = ("on an AVX2-only AMD EPYC a paper ConvNet VAE step took 24x longer in bf16 than in fp32: "
                     "84 against 3.6 CPU seconds")


class PrecisionWarning(UserWarning):
    """Mixed precision was asked on a device where it is expected to be slower than fp32."""


def cpu_flags(path: Path = CPUINFO) -> set[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``: x86 ``flags``, Arm ``Features``); empty elsewhere."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def bf16_support(device: torch.device | str) -> tuple[bool, str]:
    """``(native, found)``: whether ``device`` computes bf16 natively (not emulated), and what was found.

    The one detection the trainer uses. CPU: torch's AVX512-BF16 or AMX probe, else one of
    ``CPU_BF16_FLAGS`` in ``/proc/cpuinfo``. CUDA: compute capability 8.0 or newer (Ampere); ROCm:
    ``torch.cuda.is_bf16_supported``. Other devices (MPS) are not judged: native.
    """
    device = torch.device(device)
    if device.type == "cuda":
        name, (major, minor) = torch.cuda.get_device_name(device), torch.cuda.get_device_capability(device)
        found = f"{name} (compute capability {major}.{minor})"
        if torch.version.hip:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False)), found
        return major >= 8, found
    if device.type != "cpu":
        return True, f"a {device.type} device (not checked)"
    capability = torch.backends.cpu.get_cpu_capability()
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    flags = sorted(cpu_flags() & set(CPU_BF16_FLAGS))
    if any(probe is not None and probe() for probe in probes) or flags:
        return True, f"this CPU (torch capability {capability}, flags {', '.join(flags) or 'from torch'})"
    return False, f"this CPU (torch capability {capability}; none of {', '.join(CPU_BF16_FLAGS)} in its flags)"


def native_bf16(device: torch.device | str) -> bool:
    """Whether ``device`` computes bf16 natively (see :func:`bf16_support`)."""
    return bf16_support(device)[0]


def check_amp_pays(device: torch.device, amp: bool, amp_dtype: str | None) -> None:
    """Warn or refuse before training where ``amp`` is expected to be slower than fp32.

    - CPU, ``amp=True`` with the default ``amp_dtype=None`` (bf16), without native bf16: a
      ``PrecisionWarning`` with the reason. An explicit ``amp_dtype="bfloat16"`` keeps bf16 without it.
    - CUDA, ``amp_dtype="bfloat16"`` on a GPU without native bf16 (before Ampere): ``ConfigError``; the
      default fp16 with a gradient scaler is native on every CUDA GPU.

    Raises
    ------
    ConfigError
        bf16 asked on a CUDA GPU without native bf16.
    """
    cpu_default = device.type == "cpu" and amp_dtype is None
    cuda_bf16 = device.type == "cuda" and amp_dtype == "bfloat16"
    if not amp or not (cpu_default or cuda_bf16):
        return
    native, found = bf16_support(device)
    if native:
        return
    if device.type == "cpu":
        warnings.warn(f"TrainerConfig.amp=True runs bf16 autocast, which {found} emulates: expect training "
                      f"slower than fp32 ({MEASURED_SLOWDOWN}). Use amp=False on this machine, or "
                      "amp_dtype='bfloat16' to keep bf16 without this warning", PrecisionWarning, stacklevel=4)
        return
    raise ConfigError(f"TrainerConfig.amp_dtype='bfloat16' needs native bf16, which {found} lacks (it needs "
                      "compute capability 8.0 or newer); use amp_dtype=None (fp16 with a gradient scaler)")


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
