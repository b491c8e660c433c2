"""Data-parallel training: the same ``Trainer`` in every process of a ``torch.distributed`` group.

Every process holds the whole model and draws the same seeded permutation of the training data; each
global batch of ``batch_size`` samples is cut into contiguous shards, one per process (rank ``r`` gets
rows ``[start_r, stop_r)``, sizes differing by at most one), so N processes with batch ``B`` follow a
one-process run with batch ``B``.

Why not ``DistributedDataParallel``: DDP reduces gradients from hooks fired inside one ``backward``,
whereas the trainer runs one ``backward(inputs=group_params)`` per parameter group, a model may leave
a group out on a step, and some models change buffers outside backprop (VQ-VAE's EMA codebook,
BatchNorm statistics, RHVAE's per-batch metric). So the model is not wrapped: after a step's backward
passes every process packs into one flat tensor each parameter's gradient weighted by its share
``n_r / N`` of the global batch, a has-gradient flag per parameter and a has-loss flag per group, the
weighted change of every floating-point buffer during the step, the weighted loss terms and a
non-finite-loss flag. One ``all_reduce(SUM)`` per step then gives every process the gradient of the
global batch's mean loss (also for uneven shards), the groups to step, the weighted mean buffer update
and the global loss terms, so all processes take identical optimizer steps and keep identical weights.
Buffers a model lists in ``per_sample_buffers`` are instead gathered (concatenated in rank order)
before ``on_epoch_end``. Each process's ``StepContext`` carries its shard, so per-sample noise is drawn
for the global batch and sliced (``gaekit.models.step``): a VAE trained on N processes matches a
one-process run.

``ParallelSteps`` is the trainer's side of the scheme (the step on a shard, its reduction, the gathered
buffers); ``DataParallel`` the process group's.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from gaekit.errors import ConfigError, DataError, NonFiniteLossError, TrainingError

if TYPE_CHECKING:
    from gaekit.data import Batch
    from gaekit.models.base import ModelOutput, StepContext

ENV_VARS = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def launched_distributed() -> bool:
    """Whether this process is one of several started by ``torchrun`` (or set up like it), or a group exists."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def local_device(device: torch.device) -> torch.device:
    """``cuda:LOCAL_RANK`` for a CUDA device given without an index; other devices unchanged."""
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return device


class DataParallel:
    """The process group seen by one trainer process; see the module docstring for the scheme.

    Parameters
    ----------
    device : torch.device
        This process's device: the group uses ``nccl`` on CUDA and ``gloo`` otherwise when it has to
        be created (from torchrun's environment variables); an existing group is used as it is.
    """

    def __init__(self, device: torch.device):
        import torch.distributed as dist

        if not dist.is_available():
            raise ConfigError("TrainerConfig.distributed='auto' found a multi-process launch, but this torch "
                              "build has no torch.distributed; set distributed='off'")
        if not dist.is_initialized():
            missing = [v for v in ENV_VARS if v not in os.environ]
            if missing:
                raise ConfigError(f"data-parallel training needs the environment variables {list(ENV_VARS)} "
                                  f"(set by torchrun); missing {missing}")
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            atexit.register(_destroy_group)
        self.dist = dist
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.device = device

    # -- set-up ---------------------------------------------------------------------
    def broadcast_module(self, module: nn.Module) -> None:
        """Give every process rank 0's parameters and buffers."""
        for tensor in module.state_dict().values():
            if tensor.numel():
                self.dist.broadcast(tensor, 0)

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process."""
        box = [obj]
        self.dist.broadcast_object_list(box, 0)
        return box[0]

    def check_same(self, value: int, what: str) -> None:
        """Raise ``DataError`` on every process unless ``value`` is equal on all of them."""
        t = torch.tensor([value, -value], dtype=torch.float64, device=self.device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        if t[0].item() != -t[1].item():
            raise DataError(f"{what} differs between processes (from {-t[1].item():g} to {t[0].item():g}); "
                            "every process must be given the same data")

    def barrier(self) -> None:
        self.dist.barrier()

    # -- per step -------------------------------------------------------------------
    def shard(self, n: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of a global batch of ``n`` samples that this process trains on."""
        q, extra = divmod(n, self.world_size)
        start = self.rank * q + min(self.rank, extra)
        return start, start + q + (self.rank < extra)

    def sync_step(self, groups: dict[str, Sequence[nn.Parameter]], stepped: set[str], weight: float,
                  buffers: dict[str, tuple[Tensor, Tensor]], metrics: dict[str, Tensor],
                  nonfinite: bool) -> tuple[set[str], dict[str, Tensor], bool]:
        """Reduce one step across processes (one ``all_reduce``); see the module docstring.

        Parameters
        ----------
        groups : dict of parameter lists
            Every parameter group, in the same order on every process.
        stepped : set of str
            Groups that had a loss on this process.
        weight : float
            This process's share ``n_r / N`` of the global batch.
        buffers : dict of (before, buffer)
            Floating-point buffers with their value before the step; updated in place to
            ``before + sum_r weight_r (buffer_r - before)``.
        metrics : dict of scalar tensors
            The loss terms of this process's shard (keys in the same order everywhere).
        nonfinite : bool
            Whether this process saw a non-finite loss.

        Returns
        -------
        (groups to step, global weighted loss terms, whether any process saw a non-finite loss)
        """
        params = [p for ps in groups.values() for p in ps]
        dtype = torch.promote_types(torch.float32, params[0].dtype) if params else torch.float32
        parts: list[Tensor] = []
        for p in params:
            parts.append(p.grad.detach().reshape(-1).to(dtype) * weight if p.grad is not None
                         else torch.zeros(p.numel(), dtype=dtype, device=self.device))
        flags = [float(p.grad is not None) for p in params] + [float(g in stepped) for g in groups]
        parts.append(torch.tensor(flags, dtype=dtype, device=self.device))
        parts += [(now.detach() - before).reshape(-1).to(dtype) * weight for before, now in buffers.values()]
        parts += [v.detach().reshape(1).to(dtype) * weight for v in metrics.values()]
        parts.append(torch.tensor([float(nonfinite)], dtype=dtype, device=self.device))
        flat = torch.cat(parts)
        self.dist.all_reduce(flat)
        chunks = iter(flat.split([t.numel() for t in parts]))
        for p in params:
            grad = next(chunks).view_as(p)
            p.grad = grad.to(p.dtype) if p.grad is None else p.grad.copy_(grad)
        flags = next(chunks).tolist()
        for p, has_grad in zip(params, flags, strict=False):
            if not has_grad:
                p.grad = None
        to_step = {g for g, f in zip(groups, flags[len(params):], strict=True) if f}
        with torch.no_grad():
            for before, now in buffers.values():
                now.copy_(before + next(chunks).view_as(before).to(before.dtype))
        reduced = {k: next(chunks)[0] for k in metrics}
        return to_step, reduced, bool(next(chunks)[0] > 0)

    def all_reduce_sum(self, values: Tensor) -> Tensor:
        """Sum of ``values`` over processes (a new tensor)."""
        out = values.clone()
        self.dist.all_reduce(out)
        return out

    def gather_rows(self, tensor: Tensor) -> Tensor:
        """Concatenate every process's ``tensor`` along dimension 0, in rank order (sizes may differ)."""
        sizes = [torch.zeros(1, dtype=torch.int64, device=self.device) for _ in range(self.world_size)]
        self.dist.all_gather(sizes, torch.tensor([len(tensor)], device=self.device))
        longest = max(int(s) for s in sizes)
        padded = torch.zeros((longest, *tensor.shape[1:]), dtype=tensor.dtype, device=self.device)
        padded[:len(tensor)] = tensor
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        self.dist.all_gather(parts, padded)
        return torch.cat([part[:int(n)] for part, n in zip(parts, sizes, strict=True)])


class ParallelSteps:
    """Trainer mixin: rank and world size, and a training step on this process's shard of a global batch.

    Uses the trainer's ``parallel`` (a ``DataParallel``, None outside data-parallel training), model,
    groups, device and state, and its loss, backward and commit methods.
    """

    @property
    def rank(self) -> int:
        """This process's rank in data-parallel training (0 otherwise)."""
        return 0 if self.parallel is None else self.parallel.rank

    @property
    def world_size(self) -> int:
        """Number of data-parallel processes (1 otherwise)."""
        return 1 if self.parallel is None else self.parallel.world_size

    @property
    def is_main_process(self) -> bool:
        """Whether this process writes files and runs callbacks (rank 0)."""
        return self.rank == 0

    def _barrier(self) -> None:
        if self.parallel is not None:
            self.parallel.barrier()

    def _parallel_step(self, batch: Batch, ctx: StepContext) -> ModelOutput | None:
        """One data-parallel step on this process's shard; see ``gaekit.trainers.distributed``."""
        n = len(batch)
        exclude = self.model.per_sample_buffers
        before = {name: buf.detach().clone() for name, buf in float_buffers(self.model, exclude)}
        output, shard_size = self._shard_forward(batch, ctx)
        losses, nonfinite = {}, False
        if output is not None:
            losses = self._group_losses(output)
            nonfinite = self._nonfinite_error(output, losses) is not None
            if not nonfinite:
                self._backward_all(output, losses)
            metrics = {"loss": output.loss, **output.terms}
            self._metric_keys = list(metrics)
        elif self._metric_keys is None:
            raise DataError(f"a global batch of {n} sample(s) leaves process {self.rank} without data on its first "
                            f"step; use at least {self.world_size} training samples")
        else:
            metrics = {k: torch.zeros((), device=self.device) for k in self._metric_keys}
        now = dict(float_buffers(self.model, exclude))
        for name, old in before.items():
            if name not in now or now[name].shape != old.shape:
                raise TrainingError(f"buffer {name!r} of {type(self.model).__name__} changed shape in a training "
                                    "step; list per-sample buffers in the model's per_sample_buffers")
        buffers = {name: (old, now[name]) for name, old in before.items()}
        to_step, reduced, any_nonfinite = self.parallel.sync_step(self.groups, set(losses), shard_size / n,
                                                                  buffers, metrics, nonfinite)
        if any_nonfinite:
            self._diverged = True
            raise self._nonfinite_error(output, losses) if nonfinite else NonFiniteLossError(
                f"non-finite loss on another process at epoch {self.state.epoch + 1}, step "
                f"{self.state.step_in_epoch + 1}; see its error. Try a lower learning_rate, or check the data.")
        self._commit(self._step_actions(to_step, reduced))
        return output

    def _shard_forward(self, batch: Batch, ctx: StepContext) -> tuple[ModelOutput | None, int]:
        """The model on this process's rows of a global batch, and their number (``None, 0``: no rows)."""
        start, stop = self.parallel.shard(len(batch))
        if stop == start:
            return None, 0
        ctx = dataclasses.replace(ctx, shard=(start, stop, len(batch)))
        return self.model(batch.rows(start, stop), ctx), stop - start

    def _gather_per_sample_buffers(self) -> None:
        for name in self.model.per_sample_buffers:
            owner, _, leaf = name.rpartition(".")
            module = self.model.get_submodule(owner)
            setattr(module, leaf, self.parallel.gather_rows(module.get_buffer(leaf)))


def float_buffers(module: nn.Module, exclude: Sequence[str]) -> Iterator[tuple[str, Tensor]]:
    """Named floating-point buffers of ``module`` except those named in ``exclude``."""
    for name, buf in module.named_buffers():
        if buf.is_floating_point() and name not in exclude:
            yield name, buf


def _destroy_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
