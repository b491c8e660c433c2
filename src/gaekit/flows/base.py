"""The flow contract, the ``FLOWS`` registry, and two generic flow layers.

A flow is an ``nn.Module`` whose ``forward(z)`` returns ``(z_out, log_abs_det_jacobian)``, the
log-determinant per sample with shape ``(B,)``. Flows invertible in closed form (or by their
autoregressive structure) also have ``inverse(z_out) -> (z, log_abs_det_jacobian_of_inverse)``;
the others raise ``NotImplementedError`` there.

By the change of variables (Rezende and Mohamed 2015, arXiv:1505.05770, Sec. 3.1), a density
``q_0`` pushed through ``z_K = f_K o ... o f_1(z_0)`` has
``log q_K(z_K) = log q_0(z_0) - sum_k log |det df_k/dz_{k-1}|``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn

from gaekit.config import check_count
from gaekit.errors import DataError
from gaekit.registry import Registry

FLOWS: Registry[type[nn.Module]] = Registry("flow")
LOG_2PI = math.log(2 * math.pi)


class Flow(nn.Module):
    """Base class of flow layers acting on vectors of size ``dim``.

    Subclasses implement ``forward(z) -> (z_out, log_det)`` and, when they can,
    ``inverse(z_out) -> (z, log_det_of_inverse)``; ``log_det`` has shape ``(B,)``.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = check_count(dim, f"{type(self).__name__}: dim")

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} has no closed-form inverse")

    def _check_input(self, z: Tensor) -> None:
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise DataError(f"{type(self).__name__} expects inputs of shape (B, {self.dim}); got {tuple(z.shape)}")

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class SequentialFlow(Flow):
    """The composition ``f_K o ... o f_1`` of flow layers; log-determinants add up.

    ``inverse`` applies the layers' inverses in reverse order (every layer must have one).
    """

    def __init__(self, dim: int, layers: Iterable[nn.Module]):
        super().__init__(dim)
        self.layers = nn.ModuleList(layers)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        log_det = z.new_zeros(z.shape[0])
        for layer in self.layers:
            z, ld = layer(z)
            log_det = log_det + ld
        return z, log_det

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        log_det = z.new_zeros(z.shape[0])
        for layer in reversed(self.layers):
            z, ld = layer.inverse(z)
            log_det = log_det + ld
        return z, log_det

    def __len__(self) -> int:
        return len(self.layers)


class BatchNormFlow(Flow):
    """Batch normalisation as a flow layer (Dinh et al. 2017, arXiv:1605.08803; used between the
    blocks of MAF, Papamakarios et al. 2017, arXiv:1705.07057).

    ``y = exp(log_gamma) * (x - m) / sqrt(v + eps) + beta``, with log-determinant
    ``sum_i [log_gamma_i - 1/2 log(v_i + eps)]`` (the same for every sample). In training mode
    ``m, v`` are the batch mean and (biased) variance and the running averages are updated with
    ``running = (1 - momentum) * running + momentum * batch``; in eval mode the running averages
    are used, so the layer is a fixed affine map. ``inverse`` always uses the running averages
    (the batch statistics of the unknown input are not available).
    """

    def __init__(self, dim: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__(dim)
        self.momentum = momentum
        self.eps = eps
        self.log_gamma = nn.Parameter(torch.zeros(dim))
        self.beta = nn.Parameter(torch.zeros(dim))
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))

    def _statistics(self, x: Tensor | None) -> tuple[Tensor, Tensor]:
        if x is None or not self.training:
            return self.running_mean, self.running_var
        if x.shape[0] < 2:
            raise DataError("BatchNormFlow in training mode needs batches of at least 2 samples; call .eval()")
        mean, var = x.mean(0), x.var(0, unbiased=False)
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach(), self.momentum)
        return mean, var

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, var = self._statistics(x)
        y = torch.exp(self.log_gamma) * (x - mean) / torch.sqrt(var + self.eps) + self.beta
        log_det = (self.log_gamma - 0.5 * torch.log(var + self.eps)).sum()
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        mean, var = self._statistics(None)
        x = (y - self.beta) * torch.exp(-self.log_gamma) * torch.sqrt(var + self.eps) + mean
        log_det = (0.5 * torch.log(var + self.eps) - self.log_gamma).sum()
        return x, log_det.expand(y.shape[0])


class InverseFlow(Flow):
    """A flow layer used backwards: ``forward`` is the wrapped layer's ``inverse`` and vice versa.

    IAF evaluates densities through its ``inverse``; wrapping its batch-norm layers this way makes
    them normalise with batch statistics (and update their running averages) in that direction.
    """

    def __init__(self, layer: Flow):
        super().__init__(layer.dim)
        self.layer = layer

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self.layer.inverse(z)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self.layer.forward(z)


def standard_normal_log_prob(u: Tensor) -> Tensor:
    """``log N(u; 0, I)`` summed over the last dimension."""
    return -0.5 * (u.pow(2) + LOG_2PI).sum(-1)


def standard_normal_noise(num_samples: int, dim: int, like: Tensor,
                          generator: torch.Generator | None = None) -> Tensor:
    """``(num_samples, dim)`` standard normal draws with ``like``'s dtype and device.

    With a ``generator`` the numbers are drawn on the generator's device and moved, so a seeded
    CPU generator gives the same draws whatever the flow's device.
    """
    num_samples = check_count(num_samples, "num_samples")
    if generator is None:
        return torch.randn(num_samples, dim, dtype=like.dtype, device=like.device)
    noise = torch.randn(num_samples, dim, generator=generator, device=generator.device, dtype=like.dtype)
    return noise.to(like.device)
