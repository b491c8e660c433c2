"""Hierarchical refinement quantised VAE (HRQ-VAE).

Hosking, Tang and Lapata 2022, "Hierarchical Sketch Induction for Paraphrase Generation",
arXiv:2203.03463, Section 2 (HRQ-VAE). A dense encoding ``z`` is decomposed into ``D = num_levels``
discrete codes that refine one another: level ``d`` has its own codebook ``C_d`` of ``num_embeddings``
vectors and quantises the residual left by the levels above,

    r_0 = z,   q_d ~ GumbelSoftmax(-||r_{d-1} - C_d(k)||^2 / tau),   r_d = r_{d-1} - C_d(q_d),
    z_q = sum_{d=1}^{D} C_d(q_d)

so the code of a sample is the path ``q_1 .. q_D`` through the hierarchy (coarse to fine). Training
details of the paper implemented here:

- Gumbel reparameterisation (hard samples, straight-through soft gradients) with a temperature
  ``tau = max(temperature_min, temperature_init * exp(-temperature_decay * global_step))``; outside
  training (and when ``ctx`` is None) the argmin code is taken (the annealed limit);
- depth dropout: while training, each level ``d >= 2`` is cut off, together with all finer levels,
  with probability ``depth_dropout`` (per code vector), so coarse levels alone must already
  reconstruct; never applied in evaluation;
- codebook initialisation shrinking with depth (level ``d`` drawn from ``N(0, init_decay**(2(d-1)) I)``)
  and the norm loss ``L_NL = sum_{d>=2} max(0, n_d - init_decay * n_{d-1})`` on the mean code norms
  ``n_d = mean_k ||C_d(k)||``, weighted by ``norm_loss_weight``, which keeps finer levels finer.
  (This is our reading of the paper's initialisation-decay and norm-loss paragraph: the exact form of
  the norm loss could not be checked against the text here.)

Loss: ``rec(x, D(z_q)) + norm_loss_weight * L_NL + beta * ||z - sg[z_q]||^2`` (``beta`` defaults to 0
here: the Gumbel gradient trains encoder and codebooks; a positive ``beta`` adds the VQ-VAE
commitment term).

Latent layout as in ``VQVAE`` (``gaekit.models.vq_vae``): ``latent_dim // embedding_dim`` vectors per
sample (or per map position), each quantised into ``num_levels`` indices; ``quantize(x)`` returns
``(B, S * num_levels)`` indices, the levels of one vector consecutive (coarse to fine), which is the
sequence ``PixelCNNSampler`` models. ``generate(n)`` draws every index uniformly.

Config fields: those of ``VQVAEConfig`` (``use_ema`` must be False, the default here;
``num_embeddings`` defaults to 16 per level) plus ``num_levels`` (default
3), ``temperature_init`` (1.0), ``temperature_min`` (0.5), ``temperature_decay`` (1e-4 per step),
``depth_dropout`` (0.3), ``init_decay`` (0.5), ``norm_loss_weight`` (0.05); ``beta`` defaults to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.models import _losses, step
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.vq_vae import VQVAE, VQVAEConfig, nearest_code


@dataclass
class HRQVAEConfig(VQVAEConfig):
    """Config of ``HRQVAE`` (see the module docstring)."""

    name: ClassVar[str] = "HRQVAE"
    num_embeddings: int = 16
    beta: float = 0.0
    use_ema: bool = False
    num_levels: int = 3
    temperature_init: float = 1.0
    temperature_min: float = 0.5
    temperature_decay: float = 1e-4
    depth_dropout: float = 0.3
    init_decay: float = 0.5
    norm_loss_weight: float = 0.05

    def own_tensor_bytes(self) -> int:
        """The float32 codebooks of the ``num_levels`` levels (and the first level's initial values)."""
        return 4 * (self.num_levels + 1) * self.num_embeddings * self.embedding_dim

    def _check(self) -> None:
        super()._check()
        self._require("use_ema", not self.use_ema, "False (HRQ-VAE codebooks are trained by gradient)")
        self._require("num_levels", self.num_levels >= 1, "an int >= 1")
        self._require("temperature_min", 0 < self.temperature_min <= self.temperature_init,
                      f"a number in (0, temperature_init={self.temperature_init}]")
        self._require("temperature_decay", self.temperature_decay >= 0, "a number >= 0")
        self._require("depth_dropout", 0 <= self.depth_dropout < 1, "a number in [0, 1)")
        self._require("init_decay", 0 < self.init_decay <= 1, "a number in (0, 1]")
        self._require("norm_loss_weight", math.isfinite(self.norm_loss_weight) and self.norm_loss_weight >= 0,
                      "a finite number >= 0")


@MODELS.register()
class HRQVAE(VQVAE):
    """HRQ-VAE: hierarchical residual quantisation with Gumbel codes; see the module docstring.

    ``codebook`` is a parameter of shape ``(num_levels, num_embeddings, embedding_dim)``. ``forward``
    terms: ``recon_loss``, ``norm_loss``, ``commitment_loss``, ``temperature``; the output also carries
    ``quantized_indices`` ``(B, S * num_levels)``.
    """

    config_class = HRQVAEConfig

    def _init_codebooks(self, init: Tensor) -> None:
        c = self.model_config
        scales = c.init_decay ** torch.arange(c.num_levels, dtype=init.dtype)
        levels = torch.randn(c.num_levels, *init.shape, dtype=init.dtype)
        self.codebook = nn.Parameter(levels * scales[:, None, None])

    @property
    def code_length(self) -> int:
        return super().code_length * self.model_config.num_levels

    def temperature(self, ctx: StepContext | None) -> float:
        """Gumbel temperature at this step (``temperature_min`` when ``ctx`` is None)."""
        c = self.model_config
        if ctx is None:
            return c.temperature_min
        return max(c.temperature_min, c.temperature_init * math.exp(-c.temperature_decay * ctx.global_step))

    def _hierarchy(self, v: Tensor, tau: float | None, keep: Tensor | None,
                   ctx: StepContext | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Quantise ``(B, S, D)`` vectors level by level: ``(z_q, indices (B, S, L), residuals r_0..r_{L-1})``.

        ``tau`` None takes the nearest code (evaluation); ``keep`` ``(B, S, L)`` masks dropped levels.
        """
        flat = v.reshape(-1, v.shape[-1])
        residual, total, indices, residuals = flat, torch.zeros_like(flat), [], []
        for d, book in enumerate(self.codebook):
            residuals.append(residual)
            if tau is None:
                idx = nearest_code(residual.detach(), book.detach())
                q = F.embedding(idx, book)
            else:
                dist = (residual.pow(2).sum(1, keepdim=True) - 2 * residual @ book.t() + book.pow(2).sum(1)[None])
                w = _losses.gumbel_softmax_hard(-dist, tau, ctx)
                idx, q = w.argmax(1), w @ book
            if keep is not None:
                q = q * keep[..., d].reshape(-1, 1)
            indices.append(idx)
            total = total + q
            residual = residual - q
        return total.view_as(v), torch.stack(indices, 1).view(*v.shape[:2], -1), residuals

    def _quantize_vectors(self, v: Tensor) -> tuple[Tensor, Tensor]:
        q, idx, _ = self._hierarchy(v, None, None)
        return q, idx.reshape(idx.shape[0], -1)

    def _vectors_of_indices(self, indices: Tensor) -> Tensor:
        idx = indices.reshape(indices.shape[0], -1, self.model_config.num_levels)
        return sum(F.embedding(idx[..., d], book) for d, book in enumerate(self.codebook))

    def depth_mask(self, shape: tuple[int, int], ctx: StepContext | None = None) -> Tensor:
        """``(B, S, L)`` mask of the levels kept by depth dropout (level 1 always kept)."""
        c = self.model_config
        keep = (step.rand((*shape, c.num_levels), ctx, device=self.codebook.device) >= c.depth_dropout).float()
        keep[..., 0] = 1.0
        return keep.cumprod(-1)

    def norm_loss(self) -> Tensor:
        norms = self.codebook.norm(dim=-1).mean(-1)
        return F.relu(norms[1:] - self.model_config.init_decay * norms[:-1]).sum()

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        v = self._to_vectors(self.encode(x).embedding)
        training = self.training and (ctx is None or ctx.training)
        tau = self.temperature(ctx)
        keep = self.depth_mask(v.shape[:2], ctx) if training and self.model_config.depth_dropout > 0 else None
        q, idx, _ = self._hierarchy(v, tau if training else None, keep, ctx)
        z_q = self._from_vectors(q)
        recon_x, recon = self.reconstruction_terms(self.decode_logits(z_q), x)
        recon_loss = recon.mean()
        commitment = (v - q.detach()).pow(2).sum((1, 2)).mean()
        norm_loss = self.norm_loss()
        c = self.model_config
        loss = recon_loss + c.norm_loss_weight * norm_loss + c.beta * commitment
        out = ModelOutput(loss=loss, recon_x=recon_x, z=z_q, terms={
            "recon_loss": recon_loss, "norm_loss": norm_loss, "commitment_loss": commitment,
            "temperature": torch.tensor(tau)})
        out.quantized_indices = idx.reshape(idx.shape[0], -1)
        return out
