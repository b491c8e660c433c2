"""MADE and the MADE-based affine autoregressive transforms shared by MAF and IAF.

MADE -- Germain, Gregor, Murray and Larochelle, "MADE: Masked Autoencoder for Distribution
Estimation", ICML 2015, arXiv:1502.03509, Sec. 4 (Eq. 10-13). Each input ``d`` gets a degree
``m(d)`` in ``1..D`` from the ordering; each hidden unit ``k`` of layer ``l`` a degree
``m^l(k)`` in ``1..D-1``; a weight from unit ``k'`` to hidden unit ``k`` is kept iff
``m^l(k) >= m^{l-1}(k')`` (Eq. 12) and one from hidden unit ``k'`` to an output of input ``d``
iff ``m(d) > m^L(k')`` (Eq. 13). Output ``d`` therefore depends only on inputs of lower degree.
The paper samples hidden degrees at random; here they are assigned deterministically,
cyclically ``m^l(k) = 1 + (k mod max(1, D - 1))`` (every degree is used as evenly as possible,
no unit is cut off, and the mask does not depend on a seed).

The affine autoregressive transform (``AffineAutoregressive``) computed in one MADE pass is
``y = x * exp(s(x)) + m(x)``, ``(m_i, s_i)`` functions of ``x_{<i}`` (in the ordering), with
``log |det dy/dx| = sum_i s_i``. Its inverse ``x_i = (y_i - m_i(x_{<i})) exp(-s_i(x_{<i}))``
is sequential: ``D`` MADE passes, each fixing one more coordinate.

- MAF (Papamakarios, Pavlakou and Murray 2017, arXiv:1705.07057, Eq. 2-5) uses the one-pass
  direction from data to noise, ``u = (x - mu(x)) exp(-alpha(x))``: the same map with
  ``s = -alpha`` and ``m = -mu exp(-alpha)``;
- IAF (Kingma et al. 2016, arXiv:1606.04934, Eq. 10) uses it from noise to data,
  ``z_t = mu_t(z_{t-1}) + sigma_t(z_{t-1}) * z_{t-1}`` with ``sigma = exp(s)``.

``AutoregressiveFlow`` stacks these blocks (orderings alternately sequential and reversed,
optional batch norm between blocks) and is the common base of ``MAF`` and ``IAF``, which
differ only in which direction maps data to the standard normal base.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.config import check_count, keyword_aliases
from gaekit.errors import ConfigError, DataError
from gaekit.flows.base import (
    FLOWS,
    BatchNormFlow,
    Flow,
    InverseFlow,
    SequentialFlow,
    standard_normal_log_prob,
    standard_normal_noise,
)

ORDERINGS = ("sequential", "reverse")


def _check_int(owner: str, name: str, value: object, minimum: int) -> None:
    check_count(value, f"{owner}: {name}", minimum)


def input_degrees(dim: int, ordering: str) -> Tensor:
    """Degrees ``1..dim`` of the inputs: increasing for "sequential", decreasing for "reverse"."""
    if ordering not in ORDERINGS:
        raise ConfigError(f"ordering={ordering!r} is invalid: expected one of {ORDERINGS}")
    degrees = torch.arange(1, dim + 1)
    return degrees if ordering == "sequential" else degrees.flip(0)


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is multiplied by a fixed 0/1 mask of shape ``(out, in)``."""

    def __init__(self, in_features: int, out_features: int, mask: Tensor):
        super().__init__(in_features, out_features)
        # deterministic given the constructor's arguments: kept out of the state dict
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


@FLOWS.register("MADE")
class MADE(nn.Module):
    """Masked autoencoder: ``output_dim_multiplier`` autoregressive parameters per input.

    Parameters
    ----------
    input_dim : int
        ``D``, the number of inputs.
    output_dim_multiplier : int, default 2
        Parameters per input (2: a shift and a log-scale for each dimension).
    hidden_sizes : sequence of int, default (128, 128, 128)
        Units of the masked hidden layers (ReLU); empty gives a masked linear map.
    ordering : {"sequential", "reverse"}, default "sequential"
    context_dim : int, default 0
        Size of an optional conditioning vector ``h`` (the IAF paper's context, Kingma et al.
        2016, Sec. 4), added through unmasked linear maps to the first hidden layer and to the
        output layer; 0 for none.

    ``forward(x, context=None)`` returns ``(B, output_dim_multiplier, D)``; entry ``[:, j, d]``
    depends only on the inputs of degree lower than ``degrees[d]`` (and on the context).
    """

    def __init__(self, input_dim: int, output_dim_multiplier: int = 2, hidden_sizes: Sequence[int] = (128, 128, 128),
                 ordering: str = "sequential", context_dim: int = 0):
        super().__init__()
        _check_int("MADE", "input_dim", input_dim, 1)
        _check_int("MADE", "output_dim_multiplier", output_dim_multiplier, 1)
        _check_int("MADE", "context_dim", context_dim, 0)
        for size in hidden_sizes:
            _check_int("MADE", "hidden_sizes[i]", size, 1)
        self.input_dim, self.output_dim_multiplier = input_dim, output_dim_multiplier
        self.hidden_sizes, self.ordering, self.context_dim = tuple(hidden_sizes), ordering, context_dim
        self.register_buffer("degrees", input_degrees(input_dim, ordering), persistent=False)

        layers, previous = [], self.degrees
        for size in self.hidden_sizes:
            hidden = 1 + torch.arange(size) % max(1, input_dim - 1)
            layers.append(MaskedLinear(len(previous), size, hidden[:, None] >= previous[None, :]))
            previous = hidden
        out_degrees = self.degrees.repeat(output_dim_multiplier)  # output j * D + d belongs to input d
        layers.append(MaskedLinear(len(previous), len(out_degrees), out_degrees[:, None] > previous[None, :]))
        self.layers = nn.ModuleList(layers)
        # the context enters, unmasked, the first hidden layer and the output layer (so that the
        # parameters of the first input in the ordering, which see no input, still depend on it)
        widths = (self.hidden_sizes[0], len(out_degrees)) if self.hidden_sizes else (len(out_degrees),)
        self.context_layers = nn.ModuleList(
            [nn.Linear(context_dim, width, bias=False) for width in widths]
        ) if context_dim else None

    @property
    def output_layer(self) -> MaskedLinear:
        return self.layers[-1]

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        if (context is None) != (self.context_layers is None):
            raise DataError(f"MADE built with context_dim={self.context_dim} was called with "
                             f"{'no' if context is None else 'a'} context")
        h, last = x, len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if context is not None and i in (0, last):
                h = h + self.context_layers[min(i, len(self.context_layers) - 1)](context)
            if i < last:
                h = F.relu(h)
        return h.view(x.shape[0], self.output_dim_multiplier, self.input_dim)

    def extra_repr(self) -> str:
        return (f"input_dim={self.input_dim}, output_dim_multiplier={self.output_dim_multiplier}, "
                f"hidden_sizes={self.hidden_sizes}, ordering={self.ordering!r}, context_dim={self.context_dim}")


class AffineAutoregressive(Flow):
    """One MADE-conditioned affine block: ``forward`` is the one-pass map
    ``y = x * exp(s(x)) + m(x)`` (log-det ``sum s``), ``inverse`` the sequential one (``dim`` passes).

    With the output layer's weights and biases at zero, ``s = m = 0`` and the block is the identity.
    """

    def __init__(self, dim: int, hidden_sizes: Sequence[int], ordering: str = "sequential", context_dim: int = 0):
        super().__init__(dim)
        self.made = MADE(dim, 2, hidden_sizes, ordering, context_dim)

    def _shift_log_scale(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        shift, log_scale = self.made(x, context).unbind(1)
        return shift, log_scale

    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self._check_input(x)
        shift, log_scale = self._shift_log_scale(x, context)
        return x * torch.exp(log_scale) + shift, log_scale.sum(-1)

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self._check_input(y)
        x = torch.zeros_like(y)
        # after pass k the coordinates of degree <= k are exact, so dim passes recover x
        for _ in range(self.dim):
            shift, log_scale = self._shift_log_scale(x, context)
            x = (y - shift) * torch.exp(-log_scale)
        return x, -log_scale.sum(-1)


class AutoregressiveFlow(SequentialFlow):
    """A stack of ``AffineAutoregressive`` blocks, the common base of ``MAF`` and ``IAF``.

    Block ``k`` uses the "sequential" ordering for even ``k`` and "reverse" for odd ``k`` (the
    ordering is reversed between blocks; ``first_ordering="reverse"`` swaps them); with
    ``include_batch_norm`` a ``BatchNormFlow`` sits
    between consecutive blocks. ``forward`` is the one-pass direction, ``inverse`` the
    sequential one. Subclasses set ``data_to_base``: "forward" when ``forward`` maps data to the
    standard normal base (MAF), "inverse" when ``inverse`` does (IAF).

    Parameters
    ----------
    dim : int
    num_made_blocks : int, default 2
        MADE blocks stacked (Pythae's ``n_made_blocks``, also accepted).
    num_made_hidden_layers : int, default 3
        Hidden layers in each MADE (Pythae's ``n_hidden_in_made``, also accepted).
    hidden_size : int, default 128
        Units of each hidden layer.
    include_batch_norm : bool, default False
        Needs ``num_made_blocks >= 2`` (the layers go between blocks).
    context_dim : int, default 0
        Size of an optional context given to every MADE (see ``MADE``); 0 for none.
    first_ordering : {"sequential", "reverse"}, default "sequential"
        Ordering of block 0; the blocks alternate from it.
    reverse_output : bool, default False
        Reverse the coordinates after the last block (a permutation: log-det 0). With
        ``first_ordering="reverse"`` and ``reverse_output`` for an odd number of blocks, the stack is the one
        that reverses the code before every sequential-ordering block (Pythae 0.1.2's IAF).
    """

    data_to_base: ClassVar[str] = "forward"

    @keyword_aliases(n_made_blocks="num_made_blocks", n_hidden_in_made="num_made_hidden_layers")
    def __init__(self, dim: int, num_made_blocks: int = 2, num_made_hidden_layers: int = 3, hidden_size: int = 128,
                 include_batch_norm: bool = False, context_dim: int = 0, first_ordering: str = "sequential",
                 reverse_output: bool = False):
        name = type(self).__name__
        if first_ordering not in ORDERINGS:
            raise ConfigError(f"{name}: first_ordering={first_ordering!r} is invalid: expected one of {ORDERINGS}")
        if not isinstance(reverse_output, bool):
            raise ConfigError(f"{name}: reverse_output={reverse_output!r} is invalid: expected True or False")
        start = ORDERINGS.index(first_ordering)
        _check_int(name, "dim", dim, 1)
        _check_int(name, "num_made_blocks", num_made_blocks, 1)
        _check_int(name, "num_made_hidden_layers", num_made_hidden_layers, 0)
        _check_int(name, "hidden_size", hidden_size, 1)
        if include_batch_norm and num_made_blocks < 2:
            raise ConfigError(f"{name}: include_batch_norm=True needs num_made_blocks >= 2 (batch norm goes between "
                             f"blocks); got num_made_blocks={num_made_blocks}")
        layers: list[nn.Module] = []
        for k in range(num_made_blocks):
            if k and include_batch_norm:  # batch statistics on the data side: the direction densities use
                bn = BatchNormFlow(dim)
                layers.append(bn if self.data_to_base == "forward" else InverseFlow(bn))
            layers.append(AffineAutoregressive(dim, (hidden_size,) * num_made_hidden_layers,
                                               ORDERINGS[(k + start) % 2], context_dim))
        super().__init__(dim, layers)
        self.num_made_blocks, self.num_made_hidden_layers = num_made_blocks, num_made_hidden_layers
        self.hidden_size = hidden_size
        self.include_batch_norm, self.context_dim = include_batch_norm, context_dim
        self.first_ordering, self.reverse_output = first_ordering, reverse_output

    def _run(self, z: Tensor, context: Tensor | None, inverse: bool) -> tuple[Tensor, Tensor]:
        self._check_input(z)
        log_det = z.new_zeros(z.shape[0])
        if inverse and self.reverse_output:
            z = z.flip(-1)
        for layer in (reversed(self.layers) if inverse else self.layers):
            step = layer.inverse if inverse else layer.forward
            z, ld = step(z, context) if isinstance(layer, AffineAutoregressive) else step(z)
            log_det = log_det + ld
        return (z.flip(-1) if self.reverse_output and not inverse else z), log_det

    def forward(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The one-pass direction: ``(z_out, log |det|)``."""
        return self._run(z, context, inverse=False)

    def inverse(self, z: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The sequential direction (``dim`` MADE passes per block): ``(z_in, log |det|)`` of the inverse."""
        return self._run(z, context, inverse=True)

    def _to_base(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.forward(x, context) if self.data_to_base == "forward" else self.inverse(x, context)

    def _to_data(self, u: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.inverse(u, context) if self.data_to_base == "forward" else self.forward(u, context)

    def log_prob(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        """``log p(x) = log N(u; 0, I) + log |det du/dx|`` per sample, ``(B,)``."""
        u, log_det = self._to_base(x, context)
        return standard_normal_log_prob(u) + log_det

    def sample(self, num_samples: int, generator: torch.Generator | None = None,
               context: Tensor | None = None) -> Tensor:
        """``(num_samples, dim)`` draws: standard normal noise mapped to data space.

        Gradients are tracked as usual (wrap in ``torch.no_grad()`` when not needed); call
        ``.eval()`` first when the flow has batch norm.
        """
        noise = standard_normal_noise(num_samples, self.dim, next(self.parameters()), generator)
        return self._to_data(noise, context)[0]

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, num_made_blocks={self.num_made_blocks}, "
                f"num_made_hidden_layers={self.num_made_hidden_layers}, "
                f"hidden_size={self.hidden_size}, include_batch_norm={self.include_batch_norm}, "
                f"context_dim={self.context_dim}, first_ordering={self.first_ordering!r}, "
                f"reverse_output={self.reverse_output}")
