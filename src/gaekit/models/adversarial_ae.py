"""Adversarial autoencoder (AAE) -- Makhzani et al., "Adversarial Autoencoders", 2016, arXiv:1511.05644.

The KL term of the VAE is replaced by a GAN in latent space (Sec. 2, Eq. 1 and the two-phase training
of Sec. 2): a discriminator ``D`` on codes tells prior samples ``z~ ~ p(z) = N(0, I)`` from codes
``z ~ q(z|x)`` of the encoder, which acts as the generator. Two parameter groups, two losses:

- ``autoencoder`` (encoder + decoder):
  ``reconstruction_loss_scale * rec(x, D(z)) + adversarial_loss_scale * (-log D(z))`` -- the
  reconstruction phase and the non-saturating generator step of the regularisation phase;
- ``discriminator``: ``-log D(z~) - log(1 - D(sg[z]))`` with the codes detached (``sg``), so that the
  discriminator's loss never reaches the encoder.

``z`` is a reparameterised draw from the Gaussian posterior ``q(z|x)`` (the paper's "Gaussian
posterior" choice, Sec. 2.1), or its mean when ``deterministic_posterior=True`` (the paper's
deterministic encoder). ``ModelOutput.loss`` is the autoencoder group's loss; ``terms`` hold
``recon_loss``, ``adversarial_loss`` (generator) and ``discriminator_loss``.

Default discriminator: an MLP on codes with one hidden layer of 256 units and ReLU (Chadebec et al.
2022, arXiv:2206.08309, Appendix D), built by ``create_network("mlp", (latent_dim,), "discriminator")``.
Any module mapping ``(B, latent_dim)`` codes to logits ``(B, 1)`` can be given as ``discriminator=``.

Config fields (beyond ``BaseAEConfig``):
    adversarial_loss_scale : float, default 0.5 -- weight of the generator term (the paper's alpha).
    reconstruction_loss_scale : float, default 1.0 -- weight of the reconstruction term.
    deterministic_posterior : bool, default False -- use the posterior mean as the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from gaekit.models import _losses
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.pythae_networks import discriminator_logits
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class Adversarial_AEConfig(VAEConfig):  # noqa: N801 - the model's name
    """Config of ``Adversarial_AE``.

    Parameters
    ----------
    adversarial_loss_scale : float, default 0.5
        Weight of the generator (adversarial) term in the autoencoder's loss (>= 0).
    reconstruction_loss_scale : float, default 1.0
        Weight of the reconstruction term (>= 0).
    deterministic_posterior : bool, default False
        ``True``: the code is the posterior mean (a deterministic encoder); ``False``: a draw from
        ``q(z|x)``.
    """

    name: ClassVar[str] = "Adversarial_AE"
    adversarial_loss_scale: float = 0.5
    reconstruction_loss_scale: float = 1.0
    deterministic_posterior: bool = False

    def _check(self) -> None:
        super()._check()
        self._require_positive("adversarial_loss_scale", "reconstruction_loss_scale", allow_zero=True)
        self._require("deterministic_posterior", isinstance(self.deterministic_posterior, bool), "True or False")


Adversarial_AE_Config = Adversarial_AEConfig  # Pythae's (and gaekit's former) name


@MODELS.register()
class Adversarial_AE(VAE):  # noqa: N801 - the model's name
    """Autoencoder whose codes are matched to the prior by a latent-space discriminator."""

    config_class = Adversarial_AEConfig
    extra_networks = ("discriminator",)

    def default_discriminator(self) -> nn.Module:
        from gaekit.nn import create_network

        return create_network("mlp", (self.latent_dim,), "discriminator", hidden_dims=(256,))

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"autoencoder": [*self.encoder.parameters(), *self.decoder.parameters()],
                "discriminator": list(self.discriminator.parameters())}

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        c = self.model_config
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        z = mean if c.deterministic_posterior else _losses.reparameterize(mean, log_var, ctx)
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        recon_loss = recon_loss.mean()
        # generator: the encoder's codes should be taken for prior samples
        adversarial = _losses.bce_with_logits_target(discriminator_logits(self.discriminator, z), 1).mean()
        autoencoder_loss = c.reconstruction_loss_scale * recon_loss + c.adversarial_loss_scale * adversarial
        # discriminator: prior samples are "real", the (detached) codes "fake"
        prior = self.sample_prior(len(z)).to(z.dtype)
        real, fake = (discriminator_logits(self.discriminator, codes) for codes in (prior, z.detach()))
        discriminator_loss = (_losses.bce_with_logits_target(real, 1) + _losses.bce_with_logits_target(fake, 0)).mean()
        return ModelOutput(
            loss=autoencoder_loss, recon_x=recon_x, z=z,
            terms={"recon_loss": recon_loss, "adversarial_loss": adversarial, "discriminator_loss": discriminator_loss},
            group_losses={"autoencoder": autoencoder_loss, "discriminator": discriminator_loss},
        )
