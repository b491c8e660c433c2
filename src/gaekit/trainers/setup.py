"""Building a trainer's parts: device, seed, model placement, parameter groups, optimizers, schedulers.

Also the checks of the trainer's other arguments (callbacks, ``data_source``) and the per-batch memory
format of ``TrainerConfig.channels_last``.
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from gaekit.config import check_seed
from gaekit.data import ArrayDataset, Batch
from gaekit.errors import ConfigError, TrainingError
from gaekit.models.base import BaseModel
from gaekit.trainers.callbacks import TrainerCallback
from gaekit.trainers.config import TrainerConfig, optimizer_class, parse_device, scheduler_class
from gaekit.trainers.distributed import DataParallel
from gaekit.trainers.precision import check_amp_pays, model_networks


def resolve_device(name: str) -> torch.device:
    """The device of ``TrainerConfig.device``; ``ConfigError`` when it is malformed or not available here."""
    device = parse_device(name)
    if device is None:  # "auto"
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    reason = None
    if device.type == "cuda" and not torch.cuda.is_available():
        reason = "CUDA is not available"
    elif device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        reason = f"this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})"
    elif device.type == "mps" and not torch.backends.mps.is_available():
        reason = "MPS (Apple GPU) is not available in this PyTorch build or on this machine"
    if reason is not None:
        raise ConfigError(f"TrainerConfig.device={name!r} cannot be used: {reason}; use 'cpu' or 'auto'")
    return device


def free_device_memory(device: torch.device) -> int | None:
    """Free bytes on a CUDA device (``torch.cuda.mem_get_info``); None elsewhere (not measured)."""
    if device.type != "cuda":
        return None
    return torch.cuda.mem_get_info(device)[0]


# auto: an array dataset moves to a CUDA device when it takes at most this share of the free memory
DATA_ON_DEVICE_SHARE = 0.25


def keeps_data_on_device(dataset: Any, device: torch.device, option: bool | None, name: str) -> bool:
    """Whether ``dataset`` is kept on the training device (``TrainerConfig.data_on_device``): ``True`` moves it
    (array datasets only), ``None`` an array dataset that takes at most ``DATA_ON_DEVICE_SHARE`` of a CUDA
    device's free memory, ``False`` none; nothing moves on the CPU."""
    if option is False or device.type == "cpu" or dataset is None:
        return False
    if not isinstance(dataset, ArrayDataset):
        if option:
            raise ConfigError(f"TrainerConfig.data_on_device=True needs array data (tensors, arrays or a gaekit "
                              f"dataset); {name} is a {type(dataset).__name__}, whose batches the trainer cannot "
                              "gather on the device; use data_on_device=None or False")
        return False
    if option is None:
        free = free_device_memory(device)
        return free is not None and dataset.nbytes <= DATA_ON_DEVICE_SHARE * free
    return True


def place_data(dataset: Any, device: torch.device, option: bool | None, name: str) -> Any:
    """``dataset``, moved once to the training device when ``keeps_data_on_device`` says so (then no batch is
    copied from the host)."""
    return dataset.to(device) if keeps_data_on_device(dataset, device, option, name) else dataset


def finite_check_interval(cfg: TrainerConfig, device: torch.device, distributed: bool) -> int:
    """Steps between host reads of the non-finite-loss check (``TrainerConfig.check_finite_every_n_steps``):
    by default 1 on the CPU (a read costs nothing there) and ``log_every_n_steps`` on an accelerator, where a read
    per step stalls the queue of kernels; always 1 in distributed training."""
    every = cfg.check_finite_every_n_steps
    if distributed:
        if every is not None and every > 1:
            raise ConfigError(f"TrainerConfig.check_finite_every_n_steps={every} cannot be used in distributed "
                              "training: its processes agree on the check every step; use None or 1")
        return 1
    if every is None:
        return 1 if device.type == "cpu" else cfg.log_every_n_steps
    return every


def set_seed(seed: int) -> None:
    """Seed torch, numpy and ``random``."""
    seed = check_seed(seed, "set_seed: seed")
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def set_up_model(model: BaseModel, cfg: TrainerConfig, device: torch.device, parallel: DataParallel | None,
                 dataset_size: int) -> None:
    """Move ``model`` to ``device`` (channels-last if asked), give every process rank 0's weights, compile.

    First, ``amp`` is checked against the device (``precision.check_amp_pays``: a warning on a CPU without
    native bf16, an error for bf16 on a CUDA GPU without it).
    """
    check_amp_pays(device, cfg.amp, cfg.amp_dtype)
    if cfg.channels_last and len(model.input_dim) != 3:
        raise ConfigError(f"TrainerConfig.channels_last=True needs image data with input_dim (C, H, W); "
                          f"{type(model).__name__} has input_dim {tuple(model.input_dim)}")
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    if parallel is not None:
        if cfg.batch_size < parallel.world_size:
            raise ConfigError(f"TrainerConfig.batch_size={cfg.batch_size} is the global batch and must be at "
                              f"least the number of processes ({parallel.world_size})")
        parallel.check_same(dataset_size, "the number of training samples")
        parallel.broadcast_module(model)
    if cfg.compile:  # each network's forward, so that amp's hooks around it stay eager
        for module in model_networks(model) or [model]:
            module.forward = torch.compile(module.forward, **cfg.compile_options)


def parameter_groups(model: BaseModel, cfg: TrainerConfig) -> dict[str, list[nn.Parameter]]:
    """The model's trainable parameters by group; every one in exactly one group, overrides of known groups."""
    groups = {g: [p for p in ps if p.requires_grad] for g, ps in model.parameter_groups().items()}
    seen: dict[int, str] = {}
    for g, params in groups.items():
        for p in params:
            if id(p) in seen:
                raise TrainingError(f"a parameter is in both groups {seen[id(p)]!r} and {g!r}")
            seen[id(p)] = g
    orphans = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if orphans:
        raise TrainingError(f"trainable parameters in no parameter group: {orphans[:5]}")
    unknown = sorted(set(cfg.group_overrides) - set(groups))
    if unknown:
        raise ConfigError(f"TrainerConfig.group_overrides names unknown group(s) {unknown}; "
                          f"{type(model).__name__} has groups {sorted(groups)}")
    return groups


def build_optimizer(cfg: TrainerConfig, group: str, params: list[nn.Parameter],
                    device: torch.device) -> torch.optim.Optimizer:
    """``group``'s optimizer (fused where torch offers it for these parameters on this device)."""
    settings = cfg.group_settings(group)
    cls = optimizer_class(settings["optimizer"])
    kwargs = dict(settings["optimizer_params"])
    accepts = inspect.signature(cls.__init__).parameters
    if ("fused" in accepts and "fused" not in kwargs and "foreach" not in kwargs
            and device.type in ("cpu", "cuda") and all(p.is_floating_point() for p in params)):
        kwargs["fused"] = True  # one kernel per step instead of one per parameter and op
    return cls(params, lr=settings["learning_rate"], **kwargs)


def build_scheduler(cfg: TrainerConfig, group: str, optimizer: torch.optim.Optimizer) -> Any:
    """``group``'s learning-rate scheduler, or None."""
    settings = cfg.group_settings(group)
    if settings["scheduler"] is None:
        return None
    return scheduler_class(settings["scheduler"])(optimizer, **settings["scheduler_params"])


def check_callbacks(callbacks: Any) -> list[TrainerCallback]:
    """The callbacks as a list; ``ConfigError`` naming the type of any that is not a ``TrainerCallback``."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (TrainerCallback, str, bytes)) or not isinstance(callbacks, Iterable):
        raise ConfigError(f"Trainer callbacks={callbacks!r:.80} is invalid: expected a list of TrainerCallback "
                          "instances")
    callbacks = list(callbacks)
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, TrainerCallback):
            raise ConfigError(f"Trainer callbacks[{i}] is a {type(callback).__qualname__}, not a TrainerCallback: "
                              "subclass gaekit.trainers.TrainerCallback and override the hooks you need")
    return callbacks


def check_data_source(source: Any) -> dict[str, Any] | None:
    """``source`` if it is None or a JSON-able dict (it is recorded in checkpoints)."""
    if source is None:
        return None
    try:
        ok = isinstance(source, dict) and json.loads(json.dumps(source)) == source
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"Trainer data_source={source!r:.120} is invalid: expected None or a JSON-able dict "
                          "with string keys, e.g. {'dataset': 'mnist', 'data_dir': None}")
    return source


def channels_last(batch: Batch) -> Batch:
    """An image batch in channels-last memory format (other batches unchanged)."""
    if batch.data.dim() != 4:
        return batch
    return Batch(batch.data.contiguous(memory_format=torch.channels_last), batch.labels)
