"""Deterministic autoencoder (AE).

Objective: the reconstruction loss alone, ``L(x) = rec(x, D(E(x)))``, summed over data
dimensions and averaged over the batch (Hinton and Salakhutdinov, Science 2006).
``generate`` decodes standard-normal codes; fit a ``GaussianMixtureSampler`` for better samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gaekit.models.base import MODELS, BaseAE, BaseAEConfig, ModelOutput, StepContext, batch_data


@dataclass
class AEConfig(BaseAEConfig):
    """Config of ``AE``: the fields of ``BaseAEConfig`` only."""

    name: ClassVar[str] = "AE"


@MODELS.register()
class AE(BaseAE):
    """Vanilla autoencoder with a deterministic encoder."""

    config_class = AEConfig

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        z = self.encode(x).embedding
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        loss = recon_loss.mean()
        return ModelOutput(loss=loss, recon_x=recon_x, z=z, terms={"recon_loss": loss})
