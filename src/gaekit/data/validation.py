"""Validation of data against a model: sample shape, dtype, NaN/inf and the [0, 1] range, for the training
data (:func:`validate_data`), for the batches and codes given to model helpers (:func:`check_batch`,
:func:`check_codes`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.data.adapters import TorchDatasetAdapter, as_dataset
from gaekit.data.containers import ArrayDataset
from gaekit.data.tensors import (
    DeviceLike,
    as_device,
    check_tensor,
    check_torch_dtype,
    numpy_to_tensor,
    shape_str,
    to_float32,
)
from gaekit.errors import DataError

__all__ = ["check_batch", "check_codes", "validate_data"]


# Elements per chunk when scanning float data for NaN/inf/range (about 16 MB of float32).
_SCAN_CHUNK_ELEMENTS = 1 << 22


def _shape_problem(found: tuple[int, ...], expected: tuple[int, ...], name: str) -> DataError:
    msg = (
        f"{name} has samples of shape {shape_str(found)} but the model's input_dim is {shape_str(expected)}"
    )
    n_found, n_exp = math.prod(found), math.prod(expected)
    if n_found == n_exp:
        target = ", ".join(["N", *(str(d) for d in expected)])
        msg += f"; reshape the data to ({target})"
    else:
        msg += (
            f" ({n_found} vs {n_exp} values per sample); check that this is the right dataset, "
            f"or set input_dim to {shape_str(found)}"
        )
    return DataError(msg)


def _scan_float(data: Tensor) -> tuple[int, int, int | None, float | None, float | None]:
    """Scan float data in chunks of rows.

    Returns ``(n_nan, n_inf, first_bad_sample, finite_min, finite_max)``.
    """
    n = int(data.shape[0])
    per_row = max(1, math.prod(data.shape[1:]))
    rows = max(1, _SCAN_CHUNK_ELEMENTS // per_row)
    n_nan = n_inf = 0
    first_bad: int | None = None
    lo_all: float | None = None
    hi_all: float | None = None
    for start in range(0, n, rows):
        chunk = data[start : start + rows]
        if chunk.numel() == 0:
            continue
        lo, hi = torch.aminmax(chunk)  # NaN and +-inf propagate, so a clean chunk costs one pass
        if not (bool(torch.isfinite(lo)) and bool(torch.isfinite(hi))):
            nan = torch.isnan(chunk)
            inf = torch.isinf(chunk)
            n_nan += int(nan.sum())
            n_inf += int(inf.sum())
            bad = (nan | inf).reshape(chunk.shape[0], -1).any(dim=1)
            if first_bad is None:
                first_bad = start + int(torch.nonzero(bad)[0, 0])
            finite = chunk[~(nan | inf)]
            if finite.numel() == 0:
                continue
            lo, hi = torch.aminmax(finite)
        lo_f, hi_f = float(lo), float(hi)
        lo_all = lo_f if lo_all is None else min(lo_all, lo_f)
        hi_all = hi_f if hi_all is None else max(hi_all, hi_f)
    return n_nan, n_inf, first_bad, lo_all, hi_all


def _check_values(data: Tensor, unit_range: bool, name: str, where: str) -> None:
    """Raise DataError for NaN/inf or (with ``unit_range``) values outside [0, 1] in float ``data``."""
    n_nan, n_inf, first_bad, lo, hi = _scan_float(data)
    if n_nan or n_inf:
        raise DataError(
            f"{name} has non-finite values{where}: {n_nan} NaN and {n_inf} inf "
            f"(first in sample {first_bad}); expected finite values — remove or replace those samples"
        )
    if unit_range and lo is not None and hi is not None and (lo < 0.0 or hi > 1.0):
        raise DataError(
            f"{name} has values outside [0, 1]{where}, the range of this model's sigmoid output (and BCE loss): "
            f"your data lies in [{lo:.6g}, {hi:.6g}]: divide by 255, or use output_activation='identity' (with "
            "reconstruction_loss='mse'); uint8 images in 0..255 are scaled by 1/255 automatically"
        )


def check_unit_range(data: Tensor, name: str, where: str) -> None:
    """Cheap check of a float batch against [0, 1]: its min and max only; the full scan (naming NaN or the
    range) runs only when they are off."""
    if data.numel() == 0:
        return
    lo, hi = torch.aminmax(data)
    if not (bool(lo >= 0.0) and bool(hi <= 1.0)):  # NaN fails both comparisons
        _check_values(data, True, name, where)


def check_batch(x: Any, input_dim: Sequence[int], name: str = "x", device: DeviceLike = None) -> Tensor:
    """``x`` as a float32 batch of samples shaped ``input_dim`` on ``device`` (uint8 scaled by 1/255).

    Raises ``DataError`` for a non-array, a bad dtype, a wrong shape (also a single sample without its
    batch axis) or NaN/inf values. For the model helpers (``embed``, ``reconstruct``, ...), not the
    training loop, whose data ``validate_data`` checks once.
    """
    if isinstance(x, np.ndarray):
        t = numpy_to_tensor(x, name)
    elif isinstance(x, Tensor):
        t = x.detach()
    else:
        raise DataError(f"{name} is of type {type(x).__name__}; expected a torch Tensor or numpy array of "
                        f"samples shaped (N, {', '.join(map(str, input_dim))})")
    check_tensor(t, name)
    expected = tuple(int(d) for d in input_dim)
    found = tuple(int(s) for s in t.shape)
    if found == expected:
        raise DataError(f"{name} has shape {shape_str(found)}, a single sample without its batch axis; expected "
                        f"a batch of shape (N, {', '.join(map(str, expected))}): use x.unsqueeze(0) (or x[None])")
    if found[1:] != expected:
        raise _shape_problem(found[1:], expected, f"{name} (shape {shape_str(found)})")
    if t.dtype.is_floating_point:
        _check_values(t, False, name, "")
    if t.dtype == torch.uint8:
        return to_float32(t, as_device(device), name)
    return t.to(t.device if device is None else device, torch.float32)  # no copy when it already fits


def check_codes(z: Any, code_shape: Sequence[int] | None, name: str = "z") -> None:
    """Raise ``DataError`` unless ``z`` is a tensor of latent codes shaped ``(B, *code_shape)`` (codes that are
    maps may also come flattened, ``(B, prod(code_shape))``); ``code_shape`` None: only the type is checked."""
    if not isinstance(z, Tensor):
        raise DataError(f"{name} is of type {type(z).__name__}; expected a torch Tensor of latent codes")
    if code_shape is None:
        return
    shape = tuple(int(d) for d in code_shape)
    found = tuple(int(d) for d in z.shape[1:])
    if found == shape or (len(shape) > 1 and found == (math.prod(shape),)):
        return
    raise DataError(f"{name} has shape {shape_str(z.shape)}, but the model decodes latent codes of shape "
                    f"{shape_str(shape)}; expected z shaped (B, {', '.join(map(str, shape))})")


def validate_data(
    dataset: Any, input_dim: Sequence[int], *, unit_range: bool, name: str = "train_data"
) -> None:
    """Check that data fits a model before training.

    For an :class:`ArrayDataset` the whole data is checked (float data in chunks; uint8 data only for
    emptiness and shape, as its values are always finite and scaled into [0, 1]). For a
    :class:`TorchDatasetAdapter` only the first item, and for a :class:`LoaderAdapter` only the first
    batch, are checked in full; with ``unit_range`` the adapter then checks every batch it yields for
    values outside [0, 1] (their min and max only: one cheap pass).

    Parameters
    ----------
    dataset : dataset-like
        Anything :func:`as_dataset` accepts.
    input_dim : tuple of int
        Expected shape of one sample.
    unit_range : bool
        Require values in [0, 1] (e.g. for a Bernoulli/BCE reconstruction loss).
    name : str, optional
        Name of the data in messages.

    Raises
    ------
    DataError
        Empty data, a sample shape different from ``input_dim``, a bad dtype, NaN/inf values, or
        values outside [0, 1] when ``unit_range``.
    """
    expected = tuple(int(d) for d in input_dim)
    ds = as_dataset(dataset)

    if isinstance(ds, ArrayDataset):
        if len(ds) == 0:
            raise DataError(f"{name} is empty (0 samples); expected at least one sample")
        if ds.sample_shape != expected:
            raise _shape_problem(ds.sample_shape, expected, name)
        if ds.dtype.is_floating_point:
            _check_values(ds.data, unit_range, name, "")
        return

    if isinstance(ds, TorchDatasetAdapter):
        if len(ds) == 0:
            raise DataError(f"{name} is empty (0 samples); expected at least one sample")
        first, where = ds._first_item().data, " in its first item"
        ds.range_check = name if unit_range else None
    else:
        peeked = ds._peek_first(f"the first batch of {name}")
        if peeked is None:
            raise DataError(f"{name} is empty (the loader yielded no batches)")
        first, where = peeked.data, " in its first batch"
        ds.range_check = name if unit_range else None
    found = tuple(int(s) for s in first.shape[1:])
    if found != expected:
        raise _shape_problem(found, expected, name)
    check_torch_dtype(first.dtype, name)
    if first.dtype.is_floating_point:
        _check_values(first, unit_range, name, where)
