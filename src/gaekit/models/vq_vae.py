"""Vector-quantised variational autoencoder (VQ-VAE).

van den Oord, Vinyals and Kavukcuoglu 2017, "Neural Discrete Representation Learning",
arXiv:1711.00937. The encoder output ``z_e(x)`` is replaced by its nearest codebook vector
``z_q(x) = e_k``, ``k = argmin_j ||z_e(x) - e_j||`` (Eq. 1-2), the decoder gradient is copied to the
encoder (straight-through estimator, ``z_e + sg[z_q - z_e]``), and the loss is Eq. 3::

    L = rec(x, D(z_q)) + ||sg[z_e] - e||^2 + beta ||z_e - sg[e]||^2

(terms summed over the latent dimensions, averaged over the batch). With ``use_ema=True`` the
codebook term is dropped and the codebook follows exponential moving averages of the encoder
outputs assigned to each code (Appendix A.1): ``N_k <- decay N_k + (1 - decay) n_k``,
``m_k <- decay m_k + (1 - decay) sum z_e``, ``e_k = m_k / N_k`` (counts Laplace-smoothed); the codebook
is then a buffer, outside every optimizer group.

Dead codes: with ``use_ema=True``, each training step re-seeds the codes whose EMA count ``N_k``
is below ``dead_code_threshold`` with encoder outputs of the current batch drawn at random (torch's
global RNG, seeded by the trainer) and sets their count to 1. The counts start at 0, so the first
training step seeds every code it did not use from the data (a data-dependent initialisation); a
re-seeded code that is never chosen again is re-seeded once its count has decayed below the
threshold (about 690 steps at the defaults). With the loss-based update no re-seeding is done.

Latent layout: the encoder's ``embedding`` is either a vector ``(B, latent_dim)`` (the default MLP
encoder), read as ``latent_dim // embedding_dim`` consecutive vectors of ``embedding_dim``
(``latent_dim`` must be divisible by ``embedding_dim``), or a spatial map ``(B, latent_dim, h, w)``
(``gaekit.nn`` networks with ``encoder_kind="vq"``) quantised per position, ``latent_dim //
embedding_dim`` vectors per position. Either way a sample's code is a sequence of ``S`` indices in
raster order (``quantize(x) -> (B, S)``), which is what ``PixelCNNSampler`` models.

``generate(n)`` decodes codes drawn uniformly at random from the codebook (the VQ-VAE has no
learned prior); fit a ``PixelCNNSampler`` for proper samples.

Config fields: ``num_embeddings`` (K, default 512), ``embedding_dim`` (default 2), ``beta``
(commitment weight, default 0.25), ``use_ema`` (default True: the EMA update of Appendix A.1, which
trains faster and uses more of the codebook here; False gives Eq. 3's codebook term), ``decay``
(default 0.99),
``dead_code_threshold`` (default 1e-3; EMA only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.models import step
from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput, StepContext, batch_data

EMA_EPS = 1e-5


@dataclass
class VQVAEConfig(BaseAEConfig):
    """Config of ``VQVAE`` (see the module docstring for the fields)."""

    name: ClassVar[str] = "VQVAE"
    num_embeddings: int = 512
    embedding_dim: int = 2
    beta: float = 0.25
    use_ema: bool = True
    decay: float = 0.99
    dead_code_threshold: float = 1e-3

    def _check(self) -> None:
        super()._check()
        self._require("num_embeddings", self.num_embeddings >= 2, "an int >= 2")
        self._require("embedding_dim", self.embedding_dim >= 1, "a positive int")
        self._require("latent_dim", self.latent_dim % self.embedding_dim == 0,
                      f"a multiple of embedding_dim={self.embedding_dim}")
        self._require("beta", math.isfinite(self.beta) and self.beta >= 0, "a finite number >= 0")
        self._require("decay", 0 < self.decay < 1, "a number in (0, 1)")
        self._require("dead_code_threshold", self.dead_code_threshold >= 0, "a number >= 0")

    def own_tensor_bytes(self) -> int:
        """The float32 codebook (and its EMA statistics)."""
        return 4 * self.num_embeddings * (2 * self.embedding_dim + 1 if self.use_ema else self.embedding_dim)


def nearest_code(vectors: Tensor, codebook: Tensor) -> Tensor:
    """Index of the nearest codebook row (squared Euclidean distance) for each row of ``vectors``."""
    d = (vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codebook.t() + codebook.pow(2).sum(1)[None])
    return d.argmin(1)


@MODELS.register()
class VQVAE(BaseAE):
    """VQ-VAE with a loss- or EMA-updated codebook; see the module docstring.

    ``forward`` returns a ``ModelOutput`` with ``terms`` ``recon_loss``, ``vq_loss`` (codebook term,
    0 with EMA) and ``commitment_loss``, ``z`` the straight-through quantised code, and an extra
    attribute ``quantized_indices`` (``(B, S)`` long) set on the output object.
    """

    config_class = VQVAEConfig
    encoder_kind: ClassVar[str] = "vq"

    def __init__(self, model_config: VQVAEConfig, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, **networks: nn.Module | None):
        super().__init__(model_config, encoder, decoder, **networks)
        c = model_config
        init = torch.empty(c.num_embeddings, c.embedding_dim).uniform_(-1 / c.num_embeddings, 1 / c.num_embeddings)
        self._init_codebooks(init)

    def _init_codebooks(self, init: Tensor) -> None:
        if self.model_config.use_ema:
            self.register_buffer("codebook", init)
            self.register_buffer("ema_count", torch.zeros(len(init)))
            self.register_buffer("ema_sum", torch.zeros_like(init))
        else:
            self.codebook = nn.Parameter(init)

    # -- layout -----------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one sample's continuous code: ``(latent_dim,)`` or ``(latent_dim, h, w)``."""
        return tuple(getattr(self.encoder, "latent_shape", (self.latent_dim,)))

    @property
    def code_length(self) -> int:
        """``S``, the number of codebook indices per sample."""
        return math.prod(self.latent_shape) // self.model_config.embedding_dim

    def _to_vectors(self, z: Tensor) -> Tensor:
        """``(B, *latent_shape)`` to ``(B, S, embedding_dim)`` (raster order for maps)."""
        d = self.model_config.embedding_dim
        if z.dim() == 4:
            z = z.permute(0, 2, 3, 1)
        return z.reshape(z.shape[0], -1, d)

    def _from_vectors(self, v: Tensor) -> Tensor:
        shape = self.latent_shape
        if len(shape) == 3:
            return v.reshape(v.shape[0], shape[1], shape[2], shape[0]).permute(0, 3, 1, 2).contiguous()
        return v.reshape(v.shape[0], *shape)

    # -- quantisation -----------------------------------------------------------------
    def _quantize_vectors(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """``(quantised vectors, indices)`` of ``(B, S, D)`` vectors."""
        idx = nearest_code(v.reshape(-1, v.shape[-1]).detach(), self.codebook.detach()).view(v.shape[:2])
        return F.embedding(idx, self.codebook), idx

    def quantize(self, x: Any) -> Tensor:
        """Codebook indices ``(B, S)`` (long) of data ``x``; no gradients."""
        with self._inference():
            return self._quantize_vectors(self._to_vectors(self.encode(self._to_model(x)).embedding))[1]

    def codes_to_latent(self, indices: Tensor) -> Tensor:
        """Latent codes ``(B, *latent_shape)`` the decoder takes, from indices ``(B, S)``."""
        return self._from_vectors(self._vectors_of_indices(indices.to(self.device).long()))

    def _vectors_of_indices(self, indices: Tensor) -> Tensor:
        return F.embedding(indices, self.codebook)

    def embed(self, x: Tensor) -> Tensor:
        """The quantised codes ``z_q(x)``, shaped ``(B, *latent_shape)``."""
        with self._inference():
            return self.codes_to_latent(self.quantize(x))

    def reconstruct(self, x: Tensor) -> Tensor:
        with self._inference():
            return self.decode(self.embed(x))

    def sample_prior(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes drawn uniformly from the codebook at each position (no learned prior)."""
        idx = torch.randint(self.model_config.num_embeddings, (num_samples, self.code_length), generator=generator)
        return self.codes_to_latent(idx)

    # -- training ---------------------------------------------------------------------
    def _ema_update(self, v: Tensor, idx: Tensor, ctx: StepContext | None = None) -> None:
        c = self.model_config
        flat, flat_idx = v.detach().reshape(-1, v.shape[-1]), idx.reshape(-1)
        onehot = F.one_hot(flat_idx, c.num_embeddings).to(flat.dtype)
        self.ema_count.mul_(c.decay).add_(onehot.sum(0), alpha=1 - c.decay)
        self.ema_sum.mul_(c.decay).add_(onehot.t() @ flat, alpha=1 - c.decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + EMA_EPS) / (n + c.num_embeddings * EMA_EPS) * n
        seen = self.ema_count > 0  # codes never assigned (nor seeded) keep their vector
        self.codebook.copy_(torch.where(seen[:, None], self.ema_sum / smoothed.clamp_min(EMA_EPS)[:, None],
                                        self.codebook))
        dead = (self.ema_count < c.dead_code_threshold).nonzero().flatten()
        if len(dead):
            picks = flat[step.randint(len(flat), (len(dead),), ctx, device=flat.device)]
            self.codebook[dead] = picks
            self.ema_sum[dead] = picks
            self.ema_count[dead] = 1.0

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        z_e = self.encode(x).embedding
        v = self._to_vectors(z_e)
        q, idx = self._quantize_vectors(v)
        commitment = (v - q.detach()).pow(2).sum((1, 2)).mean()
        if self.model_config.use_ema:
            vq_loss = torch.zeros((), device=x.device)
            if self.training and (ctx is None or ctx.training):
                with torch.no_grad():
                    self._ema_update(v, idx, ctx)
        else:
            vq_loss = (v.detach() - q).pow(2).sum((1, 2)).mean()
        z_q = self._from_vectors(v + (q - v).detach())  # straight-through estimator
        recon_x, recon = self.reconstruction_terms(self.decode_logits(z_q), x)
        recon_loss = recon.mean()
        loss = recon_loss + vq_loss + self.model_config.beta * commitment
        out = ModelOutput(loss=loss, recon_x=recon_x, z=z_q,
                          terms={"recon_loss": recon_loss, "vq_loss": vq_loss, "commitment_loss": commitment})
        out.quantized_indices = idx
        return out
