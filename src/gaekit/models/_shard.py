"""Per-sample noise that does not depend on how a batch is split across data-parallel processes.

In data-parallel training (``gaekit.trainers.distributed``) each process runs the model on the rows
``[start, stop)`` of every global batch of ``total`` samples, with every process's random generator in
the same state. :func:`standard_normal_like` then draws the noise of the whole global batch and keeps
the process's rows, so a model trained on N processes draws exactly the noise of a one-process run.
Outside :func:`batch_shard` it is ``torch.randn_like``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

_current: tuple[int, int, int] | None = None


@contextlib.contextmanager
def batch_shard(start: int, stop: int, total: int) -> Iterator[None]:
    """Declare that the model now runs on rows ``[start, stop)`` of a global batch of ``total`` samples."""
    global _current
    previous, _current = _current, (start, stop, total)
    try:
        yield
    finally:
        _current = previous


def standard_normal_like(t: Tensor) -> Tensor:
    """``N(0, I)`` noise shaped like ``t`` (batch first), drawn for the global batch when sharded.

    Tensors whose first dimension is not the shard's size (e.g. ``(K, B, d)`` importance samples)
    get ``torch.randn_like`` noise: still valid, only not identical to a one-process run.
    """
    shard = _current
    if shard is None or t.dim() == 0 or t.shape[0] != shard[1] - shard[0]:
        return torch.randn_like(t)
    start, stop, total = shard
    return torch.randn((total, *t.shape[1:]), dtype=t.dtype, device=t.device)[start:stop]
