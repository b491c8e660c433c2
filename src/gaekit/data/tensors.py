"""Data tensors: the dtypes gaekit takes, numpy-to-torch conversion, uint8 scaling and device moves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from gaekit.errors import DataError

DeviceLike = str | torch.device | None


def shape_str(shape: Sequence[int]) -> str:
    """``(28, 28)``-style text for a shape, also for one dimension (``(784,)``)."""
    return str(tuple(int(s) for s in shape))


def non_blocking(device: torch.device) -> bool:
    # Host -> accelerator copies may be asynchronous; copies *to* the CPU must not be, as the
    # result could be read before the copy has finished.
    return device.type != "cpu"


def to_device(x: Tensor, device: torch.device) -> Tensor:
    """``x`` on ``device``. A host tensor bound for a CUDA device is first copied to pinned (page-locked) memory:
    a copy from pageable memory waits for the device's queue to drain, a copy from pinned memory does not."""
    if device.type == "cuda" and x.device.type == "cpu" and not x.is_pinned():
        x = x.pin_memory()
    return x.to(device, non_blocking=non_blocking(device))


def _dtype_error(dtype_name: str, name: str) -> DataError | None:
    """Return the error for a data dtype gaekit does not accept, or None when it is accepted."""
    if dtype_name == "bool":
        return DataError(
            f"{name} has boolean values; got bool — convert to uint8 (0 or 255) or float (0.0 or 1.0)"
        )
    if dtype_name.startswith("complex"):
        return DataError(f"{name} has complex values ({dtype_name}); gaekit needs real float or uint8 data")
    if dtype_name.startswith(("int", "uint")) and dtype_name != "uint8":
        return DataError(
            f"integer data must be uint8 in 0..255; got {dtype_name} — convert to float in [0, 1] or uint8"
        )
    return None


def torch_dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def check_torch_dtype(dtype: torch.dtype, name: str) -> None:
    err = _dtype_error(torch_dtype_name(dtype), name)
    if err is not None:
        raise err
    if not (dtype == torch.uint8 or dtype.is_floating_point):
        raise DataError(f"{name} has dtype {torch_dtype_name(dtype)}; expected uint8 or a float dtype")


def check_has_values(t: Tensor, name: str) -> None:
    """Refuse (``DataError``) a tensor on the 'meta' device, which has a shape but no values."""
    if t.device.type == "meta":
        raise DataError(f"{name} is a tensor on the 'meta' device (shape {shape_str(t.shape)}), which holds no "
                        "values; expected data on the cpu or a GPU: create it there or move it with .to(device)")


def check_tensor(t: Tensor, name: str) -> None:
    """Refuse (``DataError``) a data tensor without values (meta) or of a dtype gaekit does not take."""
    check_has_values(t, name)
    check_torch_dtype(t.dtype, name)


def numpy_to_tensor(arr: np.ndarray, name: str) -> Tensor:
    """Turn a numpy data array into a tensor, sharing memory whenever torch allows it."""
    kind = arr.dtype.kind
    if kind in "OUSVMm":
        raise DataError(
            f"{name} has dtype {arr.dtype} (kind {kind!r}); expected a numeric array of uint8 or float"
        )
    err = _dtype_error(arr.dtype.name, name)
    if err is not None:
        raise err
    if kind == "f" and arr.dtype.itemsize > 8:
        raise DataError(f"{name} has dtype {arr.dtype}, which torch cannot hold; convert it to float32")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    # torch refuses negative strides and warns on read-only arrays: copy only in those cases.
    if not arr.flags.writeable or any(s < 0 for s in arr.strides):
        arr = np.array(arr, copy=True, order="C")
    return torch.as_tensor(arr)


def to_float32(x: Tensor, device: torch.device | None, name: str = "data") -> Tensor:
    """Float32 copy of a batch on ``device``; uint8 is scaled by 1/255.

    Narrow dtypes (uint8, float16, bfloat16) are moved before the conversion and wide ones after it,
    so the fewest bytes cross to the device. The result never aliases ``x``.
    """
    check_torch_dtype(x.dtype, name)
    target = x.device if device is None else device
    on_target = target == x.device
    if not on_target and x.element_size() < 4:
        x = to_device(x, target)
        on_target = True
    if x.dtype == torch.uint8:
        out = x.to(torch.float32).div_(255.0)
    elif x.dtype == torch.float32:
        out = x.clone() if on_target else x  # the transfer below copies
    else:
        out = x.to(torch.float32)
    if out.device != target:
        out = to_device(out, target)
    return out


def labels_to(labels: Tensor | None, device: torch.device | None) -> Tensor | None:
    if labels is None or device is None or labels.device == device:
        return labels
    return to_device(labels, device)


def as_device(device: DeviceLike) -> torch.device | None:
    return None if device is None else torch.device(device)
