"""Tensor helpers shared by the distributions: float64 NumPy round trips and generator-aware draws."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _np(t: Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _back(a: np.ndarray, like: Tensor) -> Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64)).to(like.device, like.dtype)


def _randn(shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    if generator is None:
        return torch.randn(shape, dtype=like.dtype, device=like.device)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)


def _rand(shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    if generator is None:
        return torch.rand(shape, dtype=like.dtype, device=like.device)
    return torch.rand(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)
