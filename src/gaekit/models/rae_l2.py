"""Regularised autoencoder with an L2 decoder penalty (RAE-L2) -- Ghosh et al., "From Variational
to Deterministic Autoencoders", ICLR 2020, arXiv:1903.12436.

Objective (Eq. 11 with ``L_REG = L_L2 = ||theta||_2^2`` on the decoder parameters):
``L = mean_i [rec(x_i, D(z_i)) + beta * ||z_i||^2 / 2] + lambda * ||theta_D||^2`` with a
deterministic encoder ``z = E(x)``. The latent term follows the paper, ``L_Z^RAE = ||z||^2 / 2``
(Eq. 11), which is also the Pythae appendix's ``beta/2 ||z||^2`` (its Eq. 4): ``beta`` multiplies
half the squared norm.

Training uses two parameter groups so that each part gets exactly the gradient of its own loss:
``"encoder"``: ``rec + beta * ||z||^2 / 2`` and ``"decoder"``: ``rec + lambda * ||theta_D||^2``.
The decoder's loss is the gradient of coupled weight decay ``2 * lambda`` on the decoder only
(the paper's "amounts to weight decay"); the penalty never reaches the encoder. ``||theta_D||^2``
sums the squares of *all* decoder parameters, weights and biases alike -- the paper's
``||theta||^2``, and what optimiser weight decay applies to. ``loss`` (for logging and model
selection) is the full objective above.

Config fields (beyond the AE's):
    embedding_weight : float, default 1e-3 -- beta, the weight of ``||z||^2 / 2``.
    reg_weight : float, default 1e-3 -- lambda, the weight of the decoder penalty.
(defaults: the values most used in the Pythae grid, Table 21).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from gaekit.models import _losses
from gaekit.models.ae import AE, AEConfig
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data


@dataclass
class RAEFields:
    """Config mixin: ``embedding_weight`` (beta) and ``reg_weight`` (lambda), shared by both RAEs."""

    embedding_weight: float = 1e-3
    reg_weight: float = 1e-3

    def _check(self) -> None:
        super()._check()
        self._require_positive("embedding_weight", "reg_weight", allow_zero=True)


class RAEBase(AE):
    """Deterministic encoding, reconstruction and the ``||z||^2 / 2`` term shared by the RAEs."""

    def rae_terms(self, batch: Any) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(z, recon_x, batch-mean rec, batch-mean ||z||^2 / 2)``."""
        x = batch_data(batch)
        z = self.encode(x).embedding
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        return z, recon_x, recon_loss.mean(), _losses.half_squared_norm(z).mean()


@dataclass
class RAE_L2Config(RAEFields, AEConfig):  # noqa: N801 - the model's name
    """Config of ``RAE_L2``.

    Parameters
    ----------
    embedding_weight : float, default 1e-3
        beta, weight of ``||z||^2 / 2`` (>= 0).
    reg_weight : float, default 1e-3
        lambda, weight of the squared L2 norm of the decoder parameters (>= 0).
    """

    name: ClassVar[str] = "RAE_L2"


RAE_L2_Config = RAE_L2Config  # Pythae's (and gaekit's former) name


@MODELS.register()
class RAE_L2(RAEBase):  # noqa: N801 - the model's name
    """Deterministic autoencoder with a latent-norm penalty and an L2 penalty on the decoder."""

    config_class = RAE_L2Config

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"encoder": list(self.encoder.parameters()), "decoder": list(self.decoder.parameters())}

    def decoder_l2(self) -> Tensor:
        """``||theta_D||^2``: the sum of squares of every decoder parameter (weights and biases)."""
        return sum(p.pow(2).sum() for p in self.decoder.parameters())

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        c = self.model_config
        z, recon_x, recon_loss, embedding = self.rae_terms(batch)
        l2 = self.decoder_l2()
        encoder_loss = recon_loss + c.embedding_weight * embedding
        decoder_loss = recon_loss + c.reg_weight * l2
        return ModelOutput(
            loss=encoder_loss + c.reg_weight * l2, recon_x=recon_x, z=z,
            terms={"recon_loss": recon_loss, "embedding_loss": embedding, "decoder_l2": l2},
            group_losses={"encoder": encoder_loss, "decoder": decoder_loss},
        )
