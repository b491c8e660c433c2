"""The step contract: ``StepContext`` (where training stands, where the step's noise comes from) and the noise
draws through it.

Every random draw of a model's ``forward`` goes through these functions with the step's context
(``None``: torch's global RNG, no sharding), so the trainer decides where the noise comes from:

- ``ctx.generator``: a ``torch.Generator`` to draw from (on its own device, then moved), or None for
  torch's global RNG (what the trainer uses: checkpoints save and restore it).
- ``ctx.shard``: ``(start, stop, total)`` when the model runs on the rows ``[start, stop)`` of a global
  batch of ``total`` samples (data-parallel training, ``gaekit.trainers.distributed``, with every
  process's RNG in the same state). Per-sample noise -- a tensor whose first dimension is the shard's
  size -- is then drawn for the whole global batch and the process's rows are kept, so a model trained
  on N processes draws exactly the noise of a one-process run and the processes' RNGs stay in step.
  Other shapes (e.g. ``(K, B, d)`` importance samples) are drawn as they are: still valid noise, only
  not identical to a one-process run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor


@dataclass
class StepContext:
    """Where training stands, for losses that depend on it (warm-ups, annealing, dataset size), and where
    the step's noise comes from.

    A model draws every random number of ``forward`` through this module's functions with this context:
    ``generator`` is the ``torch.Generator`` to draw from (None: torch's global RNG, which the trainer
    uses and checkpoints), ``shard`` is ``(start, stop, total)`` when the batch is the rows
    ``[start, stop)`` of a data-parallel global batch of ``total`` samples (None: the whole batch), so
    that per-sample noise is the global batch's.
    """

    epoch: int = 0
    global_step: int = 0
    num_epochs: int = 1
    dataset_size: int = 0
    training: bool = True
    shard: tuple[int, int, int] | None = None
    generator: torch.Generator | None = None



def randn_like(t: Tensor, ctx: StepContext | None = None) -> Tensor:
    """``N(0, I)`` noise shaped like ``t`` (batch first), drawn for the global batch when sharded."""
    if _plain(ctx, t.shape):
        return torch.randn_like(t)
    return _draw(torch.randn, tuple(t.shape), ctx, device=t.device, dtype=t.dtype)


def rand(shape: Sequence[int], ctx: StepContext | None = None, *, device: torch.device,
         dtype: torch.dtype | None = None) -> Tensor:
    """``U[0, 1)`` noise of ``shape`` (batch first) on ``device``, drawn for the global batch when sharded."""
    return _draw(torch.rand, tuple(shape), ctx, device=device, dtype=dtype)


def randint(high: int, shape: Sequence[int], ctx: StepContext | None = None, *, device: torch.device) -> Tensor:
    """Integers uniform in ``[0, high)`` of ``shape`` on ``device``; not per-sample, so never sharded."""
    return _draw(partial(torch.randint, high), tuple(shape), _unsharded(ctx), device=device, dtype=None)


def exponential_like(t: Tensor, ctx: StepContext | None = None) -> Tensor:
    """``Exp(1)`` noise shaped like ``t`` (what ``torch.Tensor.exponential_`` draws); never sharded."""
    generator = None if ctx is None else ctx.generator
    if generator is None:
        return torch.empty_like(t, memory_format=torch.legacy_contiguous_format).exponential_()
    out = torch.empty(t.shape, dtype=t.dtype, device=generator.device).exponential_(generator=generator)
    return out.to(t.device)


def generator_of(ctx: StepContext | None) -> torch.Generator | None:
    """The generator to give a sampler that takes one (None: torch's global RNG)."""
    return None if ctx is None else ctx.generator


def _plain(ctx: StepContext | None, shape: Sequence[int]) -> bool:
    """Whether a draw of ``shape`` is the plain global-RNG draw (no generator, not sharded)."""
    return ctx is None or (ctx.generator is None and _rows(ctx, shape) is None)


def _rows(ctx: StepContext | None, shape: Sequence[int]) -> tuple[int, int, int] | None:
    """``ctx.shard`` when a draw of ``shape`` is per-sample noise of the shard's rows, else None."""
    shard = None if ctx is None else ctx.shard
    if shard is None or len(shape) == 0 or shape[0] != shard[1] - shard[0]:
        return None
    return shard


def _unsharded(ctx: StepContext | None) -> StepContext | None:
    return None if ctx is None or ctx.shard is None else dataclasses.replace(ctx, shard=None)


def _draw(fn: Callable[..., Tensor], shape: tuple[int, ...], ctx: StepContext | None, *, device: torch.device,
          dtype: torch.dtype | None) -> Tensor:
    rows = _rows(ctx, shape)
    if rows is not None:
        start, stop, total = rows
        shape = (total, *shape[1:])
    generator = None if ctx is None else ctx.generator
    if generator is None:
        out = fn(shape, dtype=dtype, device=device)
    else:
        out = fn(shape, generator=generator, dtype=dtype, device=generator.device)
    return (out if rows is None else out[start:stop]).to(device)
