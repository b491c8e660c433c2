"""Regularised autoencoder with a decoder gradient penalty (RAE-GP) -- Ghosh et al., "From
Variational to Deterministic Autoencoders", ICLR 2020, arXiv:1903.12436.

Objective (Eq. 11 with ``L_REG = L_GP = ||grad_z D(z)||_2^2`` at ``z = E(x)``):
``L = mean_i [rec(x_i, D(z_i)) + beta * ||z_i||^2 / 2 + lambda * ||grad_z D(z_i)||^2]``,
deterministic encoder, ``||z||^2 / 2`` as in ``RAE_L2`` (the paper's ``L_Z^RAE``).

``grad_z D(z)`` is the gradient of the *summed* data-space decoder output (after the output
activation) with respect to the code, ``J(z)^T 1`` for the decoder Jacobian ``J`` -- one
vector-Jacobian product per batch, obtained with ``torch.autograd.grad(..., create_graph=True)``
so that the penalty is itself differentiated (double back-propagation). The paper writes the
gradient of the (vector-valued) decoder without saying how it is reduced; this is the cheap,
common reading (one product), not the Frobenius norm of ``J``, which would need ``latent_dim``
products. It is per sample as long as the decoder treats
samples independently (true of the default networks; not of a decoder with train-mode
batch normalisation).

The double-backward graph is built only when gradients are enabled. Under ``torch.no_grad``
(evaluation) the penalty's value is still computed, from a detached copy of the codes, so that
evaluation losses measure the same objective as training losses.

Config fields (beyond the AE's; shared with ``RAE_L2``):
    embedding_weight : float, default 1e-3 -- beta, the weight of ``||z||^2 / 2``.
    reg_weight : float, default 1e-3 -- lambda, the weight of the gradient penalty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.models.ae import AEConfig
from gaekit.models.base import MODELS, ModelOutput, StepContext
from gaekit.models.rae_l2 import RAEBase, RAEFields


@dataclass
class RAE_GPConfig(RAEFields, AEConfig):  # noqa: N801 - the model's name
    """Config of ``RAE_GP``.

    Parameters
    ----------
    embedding_weight : float, default 1e-3
        beta, weight of ``||z||^2 / 2`` (>= 0).
    reg_weight : float, default 1e-3
        lambda, weight of the decoder gradient penalty ``||grad_z D(z)||^2`` (>= 0).
    """

    name: ClassVar[str] = "RAE_GP"


RAE_GP_Config = RAE_GPConfig  # Pythae's (and gaekit's former) name


@MODELS.register()
class RAE_GP(RAEBase):  # noqa: N801 - the model's name
    """Deterministic autoencoder with a latent-norm penalty and a decoder gradient penalty."""

    config_class = RAE_GPConfig

    def gradient_penalty(self, z: Tensor, recon_x: Tensor | None = None) -> Tensor:
        """Per-sample ``||grad_z sum_j D(z)_j||^2``, shape ``(B,)``.

        ``recon_x`` is ``decode(z)`` when it is already in the graph of ``z`` (saves a decoder
        pass); without gradients, or when ``z`` is not differentiable, ``z`` is detached and
        decoded again.
        """
        if torch.is_grad_enabled() and z.requires_grad:
            out = self.decode(z) if recon_x is None else recon_x
            (grad,) = torch.autograd.grad(out.sum(), z, create_graph=True)
            return grad.pow(2).sum(-1)
        keep_graph = torch.is_grad_enabled()  # grads on, but z is a constant (e.g. a frozen encoder)
        with torch.enable_grad():
            leaf = z.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.decode(leaf).sum(), leaf, create_graph=keep_graph)
        return grad.pow(2).sum(-1) if keep_graph else grad.pow(2).sum(-1).detach()

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        c = self.model_config
        z, recon_x, recon_loss, embedding = self.rae_terms(batch)
        gp = self.gradient_penalty(z, recon_x).mean()
        loss = recon_loss + c.embedding_weight * embedding + c.reg_weight * gp
        return ModelOutput(loss=loss, recon_x=recon_x, z=z,
                           terms={"recon_loss": recon_loss, "embedding_loss": embedding, "gradient_penalty": gp})
