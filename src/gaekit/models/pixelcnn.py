"""PixelCNN prior over sequences of discrete codes (e.g. the codebook indices of a VQ-VAE).

van den Oord, Kalchbrenner and Kavukcuoglu 2016, "Pixel Recurrent Neural Networks", arXiv:1601.06759
(Section 3.5: masked convolutions, mask A for the first layer, mask B afterwards), and van den Oord
et al. 2016, "Conditional Image Generation with PixelCNN Decoders", arXiv:1606.05328. The model
factorises ``p(k) = prod_i p(k_i | k_<i)`` (Eq. 1 of 1601.06759) and is trained by maximum likelihood
(the cross-entropy of each index given the previous ones, summed over positions, averaged over the
batch).

Here the codes form a 1-D sequence (a VQ-VAE's ``S`` indices in raster order, see
``gaekit.models.vq_vae``), so the masked convolutions are 1-D: a kernel of odd size ``k`` centred on
position ``i`` sees ``i - k//2 .. i + k//2``; mask A zeroes the taps at ``>= i``, mask B the taps at
``> i``. Stacking one A layer and ``num_layers - 1`` B layers keeps every output at ``i`` a function of
the inputs at ``< i`` only. A spatial ``h x w`` code map is thus modelled in raster order with a
1-D receptive field (no 2-D blind-spot-free stacks).

This is a gaekit ``BaseModel`` trained by the ``Trainer`` (used by ``PixelCNNSampler``); it is not an
autoencoder and is not registered in ``MODELS``. Its input batches hold the indices as floats
(exact integers), ``(B, S)``.

Config fields: ``input_dim`` ``(S,)``, ``num_embeddings`` (K), ``num_layers`` (default 6),
``kernel_size`` (odd, default 5), ``hidden_channels`` (default 64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.config import BaseConfig
from gaekit.models.base import BaseModel, ModelOutput, StepContext, batch_data


@dataclass
class PixelCNNConfig(BaseConfig):
    """Config of ``PixelCNN`` (see the module docstring)."""

    name: ClassVar[str] = "PixelCNN"
    aliases: ClassVar[dict[str, str]] = {"n_layers": "num_layers"}
    input_dim: tuple[int, ...] | None = None
    num_embeddings: int = 512
    num_layers: int = 6
    kernel_size: int = 5
    hidden_channels: int = 64

    def _check(self) -> None:
        super()._check()
        if self.input_dim is not None:
            self._require("input_dim", len(self.input_dim) == 1 and self.input_dim[0] >= 1,
                          "a 1-tuple (S,) with S >= 1 code positions")
        self._require("num_embeddings", self.num_embeddings >= 2, "an int >= 2")
        self._require("num_layers", self.num_layers >= 1, "an int >= 1")
        self._require("kernel_size", self.kernel_size >= 1 and self.kernel_size % 2 == 1, "an odd int >= 1")
        self._require("hidden_channels", self.hidden_channels >= 1, "an int >= 1")


class MaskedConv1d(nn.Conv1d):
    """1-D convolution whose kernel sees only earlier positions (mask ``"A"``) or also the current
    one (mask ``"B"``); same-length output."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type={mask_type!r} is invalid: expected 'A' or 'B'")
        mask = torch.zeros(kernel_size)
        mask[: kernel_size // 2 + (mask_type == "B")] = 1
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv1d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(BaseModel):
    """Autoregressive model of index sequences; see the module docstring."""

    config_class = PixelCNNConfig

    def __init__(self, model_config: PixelCNNConfig):
        super().__init__(model_config)
        c = model_config
        h = c.hidden_channels
        self.embedding = nn.Embedding(c.num_embeddings, h)
        self.first = MaskedConv1d(h, h, c.kernel_size, "A")
        self.blocks = nn.ModuleList(MaskedConv1d(h, h, c.kernel_size, "B") for _ in range(c.num_layers - 1))
        self.out = nn.Conv1d(h, c.num_embeddings, 1)

    def logits(self, indices: Tensor) -> Tensor:
        """``(B, K, S)`` logits of ``p(k_i | k_<i)`` for indices ``(B, S)``."""
        return self.logits_from_embedded(self.embedding(indices.long()))

    def logits_from_embedded(self, embedded: Tensor) -> Tensor:
        """``(B, K, S)`` logits from embedded indices ``(B, S, hidden_channels)`` (differentiable)."""
        h = F.relu(self.first(embedded.transpose(1, 2)))
        for block in self.blocks:
            h = h + F.relu(block(h))
        return self.out(h)

    def log_prob(self, indices: Tensor) -> Tensor:
        """``log p(k)`` per sequence, ``(B,)``."""
        indices = indices.long()
        return -F.cross_entropy(self.logits(indices), indices, reduction="none").sum(1)

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        nll = -self.log_prob(batch_data(batch).round()).mean()
        return ModelOutput(loss=nll, terms={"nll": nll.detach()})

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator) -> Tensor:
        """``(num_samples, S)`` long indices drawn position by position with the CPU ``generator``."""
        s = self.model_config.input_dim[0]
        idx = torch.zeros(num_samples, s, dtype=torch.long, device=self.embedding.weight.device)
        for i in range(s):
            probs = F.softmax(self.logits(idx)[:, :, i].float(), dim=1).cpu()
            idx[:, i] = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(idx.device)
        return idx
