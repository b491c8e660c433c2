"""FactorVAE -- Kim and Mnih, "Disentangling by Factorising", ICML 2018, arXiv:1802.05983.

Objective (Eq. 2): the ELBO minus ``gamma`` times the total correlation
``TC(z) = KL(q(z) || prod_j q(z_j))``, estimated with the density-ratio trick (Sec. 3):
``TC(z) ~= E_q(z)[log D(z) / (1 - D(z))]``, where the discriminator ``D`` outputs the probability
that a code comes from ``q(z)`` rather than from ``prod_j q(z_j)``. With ``D = sigmoid(logit)`` the
ratio is the logit itself. Two parameter groups (Algorithm 2):

- ``autoencoder`` (encoder + decoder): ``rec(x, D(z)) + KL(q(z|x) || N(0, I)) + gamma * logit(z)``
  per sample, averaged over the whole batch;
- ``discriminator``: ``-log D(sg[z_a]) - log(1 - D(permute_dims(sg[z_b])))``. Algorithm 2 draws two
  independent minibatches; here the batch's first half ``z_a`` plays the first and its second half
  ``z_b``, each latent dimension permuted independently across it (``_losses.permute_dims``), the
  second. Codes are detached (``sg``): the discriminator's loss never reaches the encoder.

Only the discriminator's inputs are split: ``recon_x``, ``z``, the ELBO, ``embed`` and
``reconstruct`` cover the whole batch in input order. A one-sample batch uses that sample for both
discriminator inputs. ``ModelOutput.loss`` is the autoencoder group's loss; ``terms`` hold
``recon_loss``, ``kl``, ``tc`` (the estimate) and ``discriminator_loss``.

Default discriminator (Appendix, Table 1 of the paper): an MLP on codes of
``discriminator_num_layers`` (6) hidden layers of ``discriminator_hidden_dim`` (1000) units with
LeakyReLU(0.2), then one logit. Any module mapping ``(B, latent_dim)`` to ``(B, 1)`` logits can be
passed as ``discriminator=``.

Config fields (beyond ``VAEConfig``):
    gamma : float, default 10.0 -- weight of the total-correlation estimate.
    discriminator_hidden_dim : int, default 1000.
    discriminator_num_layers : int, default 6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from gaekit.models import _losses
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class FactorVAEConfig(VAEConfig):
    """Config of ``FactorVAE``.

    Parameters
    ----------
    gamma : float, default 10.0
        Weight of the total-correlation estimate (>= 0); the paper's grid spans 1-100.
    discriminator_hidden_dim : int, default 1000
        Width of the default discriminator's hidden layers.
    discriminator_num_layers : int, default 6
        Number of hidden layers of the default discriminator.
    """

    name: ClassVar[str] = "FactorVAE"
    gamma: float = 10.0
    discriminator_hidden_dim: int = 1000
    discriminator_num_layers: int = 6

    def _check(self) -> None:
        super()._check()
        self._require_positive("gamma", allow_zero=True)
        self._require("discriminator_hidden_dim", self.discriminator_hidden_dim > 0, "a positive int")
        self._require("discriminator_num_layers", self.discriminator_num_layers > 0, "a positive int")


@MODELS.register()
class FactorVAE(VAE):
    """VAE with a discriminator-estimated total-correlation penalty."""

    config_class = FactorVAEConfig
    extra_networks = ("discriminator",)

    def default_discriminator(self) -> nn.Module:
        from gaekit.nn import LayeredDiscriminator

        c = self.model_config
        sizes = [c.latent_dim] + [c.discriminator_hidden_dim] * c.discriminator_num_layers
        layers = [nn.Sequential(nn.Linear(a, b), nn.LeakyReLU(0.2)) for a, b in zip(sizes[:-1], sizes[1:])]
        return LayeredDiscriminator((c.latent_dim,), layers)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"autoencoder": [*self.encoder.parameters(), *self.decoder.parameters()],
                "discriminator": list(self.discriminator.parameters())}

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        z = _losses.reparameterize(mean, log_var, ctx)
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        kl = self.kl_term(z, mean, log_var)
        tc = self.discriminator(z).reshape(len(z))  # log D/(1-D) = the logit
        autoencoder_loss = (recon_loss + kl + self.model_config.gamma * tc).mean()
        codes = z.detach()
        half = len(codes) // 2
        joint, marginal = (codes[:half], codes[half:]) if half else (codes, codes)
        discriminator_loss = (_losses.bce_with_logits_target(self.discriminator(joint), 1).mean()
                              + _losses.bce_with_logits_target(
                                  self.discriminator(_losses.permute_dims(marginal, ctx)), 0).mean())
        return ModelOutput(
            loss=autoencoder_loss, recon_x=recon_x, z=z,
            terms={"recon_loss": recon_loss.mean(), "kl": kl.mean(), "tc": tc.mean(),
                   "discriminator_loss": discriminator_loss},
            group_losses={"autoencoder": autoencoder_loss, "discriminator": discriminator_loss},
        )
