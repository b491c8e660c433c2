"""Batch iteration: the number of batches per epoch and the epoch iterator, exact to resume.

The trainer's hot path is :func:`iterate_batches`: for an :class:`ArrayDataset` it draws one
permutation per epoch and gathers each batch with a single vectorised index operation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from gaekit.data.adapters import LoaderAdapter, TorchDatasetAdapter, as_dataset, collate_items, raw_to_batch
from gaekit.data.containers import ArrayDataset, Batch
from gaekit.data.tensors import DeviceLike, as_device, shape_str
from gaekit.data.validation import check_unit_range
from gaekit.errors import ConfigError, DataError

__all__ = ["iterate_batches", "num_batches"]


def _check_batch_args(batch_size: int, start_batch: int = 0) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer; got {batch_size!r}")
    if isinstance(start_batch, bool) or not isinstance(start_batch, int) or start_batch < 0:
        raise ConfigError(f"start_batch must be a non-negative integer; got {start_batch!r}")


def num_batches(dataset: Any, batch_size: int, drop_last: bool = False) -> int:
    """Number of batches per epoch.

    For a :class:`LoaderAdapter` (or a DataLoader) this is ``len(loader)`` and ``batch_size`` and
    ``drop_last`` are ignored.

    Raises
    ------
    DataError
        When a loader has no length.
    """
    _check_batch_args(batch_size)
    ds = as_dataset(dataset)
    if isinstance(ds, LoaderAdapter):
        nb = ds.num_batches
        if nb is None:
            raise DataError(
                f"the loader ({type(ds.loader).__name__}) has no len(), so the number of batches per epoch "
                "is unknown; give it a __len__ or use a map-style dataset"
            )
        return nb
    n = len(ds)
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def _draw_order(n: int, shuffle: bool, generator: torch.Generator | None) -> Tensor | None:
    if not shuffle:
        return None
    if generator is None:
        return torch.randperm(n)
    return torch.randperm(n, generator=generator, device=generator.device)


def iterate_batches(
    dataset: Any,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None,
    start_batch: int = 0,
    device: DeviceLike = None,
    drop_last: bool = False,
) -> Iterator[Batch]:
    """Iterate over one epoch of float32 batches.

    With ``shuffle`` the permutation ``torch.randperm(n, generator=generator)`` is drawn exactly once,
    *when this function is called* (not at the first ``next``), also when ``start_batch > 0``; batch
    ``i`` holds ``perm[i * batch_size:(i + 1) * batch_size]``. To resume exactly, restore the
    generator state saved before the epoch's call and call again with ``start_batch=k``: the batches
    are ``k, k + 1, ...`` of the same permutation. Skipped batches are not loaded.

    Parameters
    ----------
    dataset : dataset-like
        Anything :func:`as_dataset` accepts.
    batch_size : int
        Samples per batch (the last batch may be smaller unless ``drop_last``).
    shuffle : bool
        Draw a random order.
    generator : torch.Generator or None
        Random source of the permutation (None: torch's global generator).
    start_batch : int, optional
        First batch to yield.
    device : str or torch.device, optional
        Where batches go (default: where the data is).
    drop_last : bool, optional
        Drop a final incomplete batch.

    Yields
    ------
    Batch
        Float32 data (uint8 scaled by 1/255) and labels, on ``device``.

    Notes
    -----
    For a :class:`LoaderAdapter` the user's loader is iterated as is: ``batch_size``, ``shuffle``,
    ``generator`` and ``drop_last`` are ignored, and the first ``start_batch`` batches are read and
    discarded, so exact resume depends on the loader being deterministic.
    """
    _check_batch_args(batch_size, start_batch)
    ds = as_dataset(dataset)
    dev = as_device(device)

    if isinstance(ds, LoaderAdapter):
        return _iterate_loader(ds, start_batch, dev)

    n = len(ds)
    nb = n // batch_size if drop_last else math.ceil(n / batch_size)
    perm = _draw_order(n, shuffle, generator)
    if isinstance(ds, ArrayDataset):
        return _iterate_array(ds, batch_size, perm, start_batch, nb, dev)
    return _iterate_torch_dataset(ds, batch_size, perm, start_batch, nb, n, dev)


def _iterate_array(
    ds: ArrayDataset,
    batch_size: int,
    perm: Tensor | None,
    start_batch: int,
    nb: int,
    device: torch.device | None,
) -> Iterator[Batch]:
    n = len(ds)
    if perm is not None and perm.device != ds.device:
        perm = perm.to(ds.device)
    for i in range(start_batch, nb):
        lo, hi = i * batch_size, min((i + 1) * batch_size, n)
        if perm is None:
            yield ds._get_range(lo, hi, device)
        else:
            yield ds.get_batch(perm[lo:hi], device)


def _iterate_torch_dataset(
    ds: TorchDatasetAdapter,
    batch_size: int,
    perm: Tensor | None,
    start_batch: int,
    nb: int,
    n: int,
    device: torch.device | None,
) -> Iterator[Batch]:
    lo, hi = start_batch * batch_size, min(nb * batch_size, n)
    if lo >= hi:
        return iter(())
    order = list(range(lo, hi)) if perm is None else perm[lo:hi].tolist()
    loader = torch.utils.data.DataLoader(
        ds.dataset,
        batch_size=batch_size,
        sampler=order,
        collate_fn=collate_items,
        num_workers=ds.num_workers,
        drop_last=False,
    )
    expected = ds.sample_shape
    return (_later_batch(ds, raw_to_batch(raw, device, "a dataset batch"), expected, f"batch {i} of the dataset",
                         "its first item")
            for i, raw in enumerate(loader, start=start_batch))


def _iterate_loader(ds: LoaderAdapter, start_batch: int, device: torch.device | None) -> Iterator[Batch]:
    expected = ds.sample_shape
    for i, raw in enumerate(ds.loader):
        if i < start_batch:
            continue
        what = f"batch {i} of the loader"
        yield _later_batch(ds, raw_to_batch(raw, device, what), expected, what, "its first batch")


def _later_batch(ds: TorchDatasetAdapter | LoaderAdapter, batch: Batch, expected: tuple[int, ...], what: str,
                 reference: str) -> Batch:
    """``batch`` of an adapter whose first item or batch alone was validated: checked for its samples' shape
    and, when ``validate_data`` required [0, 1], for its min and max."""
    _same_shape(batch, expected, what, reference)
    if ds.range_check is not None:
        check_unit_range(batch.data, ds.range_check, f" in {what}")
    return batch


def _same_shape(batch: Batch, expected: tuple[int, ...], what: str, reference: str) -> Batch:
    """``batch``, unless its samples are not shaped ``expected`` (the shape of ``reference``): DataError."""
    if batch.data.shape[1:] != expected:
        raise DataError(f"{what} has samples of shape {shape_str(batch.data.shape[1:])} but {reference} had "
                        f"{shape_str(expected)}; expected every batch to hold samples of one shape")
    return batch
