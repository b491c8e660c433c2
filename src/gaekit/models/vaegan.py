"""VAE-GAN -- Larsen et al., "Autoencoding beyond pixels using a learned similarity metric", ICML 2016,
arXiv:1512.09300.

Objective (Sec. 2.2-2.3, Eqs. 8-10 and Algorithm 1): the VAE's pixel reconstruction term is replaced by
a Gaussian log-likelihood of the discriminator's layer-``l`` features,
``L_llike = 1/2 ||Dis_l(x) - Dis_l(x~)||^2`` per sample (Eq. 9 with identity covariance), and a GAN
tells data ``x`` from reconstructions ``x~ = Dec(z)``, ``z ~ q(z|x)``, and from samples
``x_p = Dec(z_p)``, ``z_p ~ N(0, I)`` (Eq. 10). Three parameter groups, each with its own loss
(Algorithm 1):

- ``encoder``: ``KL(q(z|x) || N(0, I)) + L_llike``;
- ``decoder``: ``(1 - s) * L_llike + s * L_GAN_dec`` with ``s = adversarial_loss_scale`` -- the paper's
  ``gamma * L_llike - L_GAN`` up to scale (``gamma = (1 - s) / s``; the Pythae paper's alpha is
  ``1 - s``, Appendix D); ``L_GAN_dec = -log Dis(x~) - log Dis(x_p)`` is the non-saturating form of
  the decoder's GAN term (Goodfellow et al. 2014, Sec. 3) instead of ``log(1 - Dis(.))``;
- ``discriminator``: ``-log Dis(x) - log(1 - Dis(sg[x~])) - log(1 - Dis(sg[x_p]))``, the generated
  images detached (``sg``).

Equilibrium rule (the balancing heuristic of the authors' public implementation, as in Pythae):
with ``real = mean(-log Dis(x))`` and ``fake = mean(-log(1 - Dis(x_gen)))`` over reconstructions and
prior samples, the discriminator is left out of ``group_losses`` when ``real`` or ``fake`` is below
``equilibrium - margin`` (it already wins), the decoder when either is above ``equilibrium + margin``
(the discriminator is losing); when both rules fire, both are trained. The encoder trains every step.
See ``VAEGAN.equilibrium_rule``.

Discriminator: built "like the encoder" (Pythae Appendix D): the discriminator of the config's ``network``
family (e.g. ``"convnet"``; the MLP by default), with that family's default options. A custom one must
return logits ``(B, 1)`` and expose ``forward_with_features(x) -> (logit, [features])``.

``ModelOutput.loss`` is ``KL + L_llike`` (the encoder's loss); ``terms`` hold ``recon_loss``
(``L_llike``), ``kl``, ``decoder_gan_loss``, ``discriminator_loss``, ``real_bce`` and ``fake_bce``.

Config fields (beyond ``VAEConfig``):
    adversarial_loss_scale : float in [0, 1], default 0.5.
    reconstruction_layer : int, default -1 -- which discriminator feature gives ``Dis_l``: 1-based
        (the paper's ``l``, e.g. 3 for the ConvNet discriminator) or negative from the end (-1: last);
        ``0`` is the data space itself (``Dis_0(x) = x``): the pixel reconstruction loss
        ``reconstruction_loss`` of a VAE, the GAN terms unchanged. ``reconstruction_loss="bce"`` needs
        layer 0 (feature layers use the Gaussian, i.e. squared-error, likelihood of Eq. 9).
    equilibrium : float, default 0.68; margin : float, default 0.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gaekit.errors import ConfigError
from gaekit.models import _losses
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, VAEConfig


def rows_independent(module: nn.Module) -> bool:
    """Whether ``module`` is one of gaekit's networks without batch normalisation, so that each row of its output
    depends on that row of its input alone (a custom network may couple rows in ways not seen from outside)."""
    return type(module).__module__.startswith("gaekit.nn.") and not any(
        isinstance(m, nn.modules.batchnorm._NormBase) for m in module.modules())


@dataclass
class VAEGANConfig(VAEConfig):
    """Config of ``VAEGAN``.

    Parameters
    ----------
    adversarial_loss_scale : float, default 0.5
        ``s`` in [0, 1]: the decoder's loss is ``(1 - s) * L_llike + s * L_GAN_dec``.
    reconstruction_layer : int, default -1
        Discriminator feature used for the reconstruction loss: 1-based, or negative from the end;
        ``0``: the data space (the pixel loss ``reconstruction_loss``).
    equilibrium : float, default 0.68
        Target of the discriminator's cross-entropies (> 0).
    margin : float, default 0.4
        Half-width of the band around ``equilibrium`` inside which both the decoder and the
        discriminator train (>= 0).
    """

    name: ClassVar[str] = "VAEGAN"
    adversarial_loss_scale: float = 0.5
    reconstruction_layer: int = -1
    equilibrium: float = 0.68
    margin: float = 0.4

    def _check(self) -> None:
        super()._check()
        self._require("adversarial_loss_scale", 0 <= self.adversarial_loss_scale <= 1, "a number in [0, 1]")
        self._require("reconstruction_layer", isinstance(self.reconstruction_layer, int),
                      "an int (1-based, negative from the end, or 0 for the data space)")
        if self.reconstruction_layer != 0:
            self._require("reconstruction_loss", self.reconstruction_loss == "mse",
                          "'mse' when reconstruction_layer != 0 (a Gaussian likelihood of discriminator features)")
        self._require_positive("equilibrium")
        self._require_positive("margin", allow_zero=True)


@MODELS.register()
class VAEGAN(VAE):
    """VAE whose reconstruction is measured in a GAN discriminator's feature space."""

    config_class = VAEGANConfig
    extra_networks = ("discriminator",)

    def default_discriminator(self) -> nn.Module:
        """The config's ``network`` family's discriminator, without its ``network_options`` (Pythae Appendix D)."""
        return self.config_network("discriminator", options=False)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {part: list(getattr(self, part).parameters()) for part in ("encoder", "decoder", "discriminator")}

    def features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(logit (B,), Dis_l(x) flattened (B, F))`` for the configured ``reconstruction_layer``."""
        layer = self.model_config.reconstruction_layer
        if layer == 0:
            return self.discriminator(x).reshape(len(x)), x.flatten(1)
        logit, feats = self.discriminator.forward_with_features(x)
        if not -len(feats) <= layer <= len(feats):
            raise ConfigError(f"VAEGANConfig.reconstruction_layer={layer} is invalid: the discriminator gives "
                              f"{len(feats)} feature layer(s), so expected 1..{len(feats)} or -{len(feats)}..-1")
        return logit.reshape(len(x)), feats[layer - 1 if layer > 0 else layer].flatten(1)

    @staticmethod
    def equilibrium_rule(real_bce: float, fake_bce: float, equilibrium: float, margin: float) -> tuple[bool, bool]:
        """``(train_decoder, train_discriminator)`` from the discriminator's mean cross-entropies on data
        (``real_bce``) and on generated images (``fake_bce``)."""
        train_discriminator = not (real_bce < equilibrium - margin or fake_bce < equilibrium - margin)
        train_decoder = not (real_bce > equilibrium + margin or fake_bce > equilibrium + margin)
        if not (train_decoder or train_discriminator):
            return True, True
        return train_decoder, train_discriminator

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        c = self.model_config
        x = batch_data(batch)
        n = len(x)
        mean, log_var = self.posterior(x)
        z = _losses.reparameterize(mean, log_var, ctx)
        kl = self.kl_term(z, mean, log_var).mean()
        recon_logits = self.decode_logits(z)
        recon_x = self.activate(recon_logits)
        x_prior = self.decode(self.sample_prior(n).to(z.dtype))
        generated = torch.cat([recon_x, x_prior])
        if rows_independent(self.discriminator):
            # the discriminator's own pass over the data and the generated images detached (it also gives the
            # data's features, a constant of the generator side), and the generator side's over the generated
            # images only: the encoder's and decoder's backward passes never cross the data's rows
            own_logits, own_feats = self.features(torch.cat([x, generated.detach()]))
            logits, feats = self.features(generated)
            real_feat, recon_feat = own_feats[:n].detach(), feats[:n]
            real_logits, fake_logits = own_logits[:n], own_logits[n:]
        else:  # batch statistics: the generator side sees data and generated images in one batch, as written
            logits, feats = self.features(torch.cat([x, generated]))
            real_feat, recon_feat, real_logits, logits = feats[:n].detach(), feats[n:2 * n], logits[:n], logits[n:]
            fake_logits = self.discriminator(generated.detach())
        if c.reconstruction_layer == 0:
            recon_loss = self.reconstruction_terms(recon_logits, x)[1].mean()
        else:
            recon_loss = 0.5 * (recon_feat - real_feat).pow(2).sum(1).mean()
        decoder_gan = 2 * _losses.bce_with_logits_target(logits, 1).mean()
        real_bce = _losses.bce_with_logits_target(real_logits, 1).mean()
        fake_bce = _losses.bce_with_logits_target(fake_logits, 0).mean()
        discriminator_loss = real_bce + 2 * fake_bce
        encoder_loss = kl + recon_loss
        decoder_loss = (1 - c.adversarial_loss_scale) * recon_loss + c.adversarial_loss_scale * decoder_gan
        train_decoder, train_discriminator = self.equilibrium_rule(float(real_bce.detach()), float(fake_bce.detach()),
                                                                   c.equilibrium, c.margin)
        group_losses = {"encoder": encoder_loss}
        if train_decoder:
            group_losses["decoder"] = decoder_loss
        if train_discriminator:
            group_losses["discriminator"] = discriminator_loss
        return ModelOutput(
            loss=encoder_loss, recon_x=recon_x, z=z,
            terms={"recon_loss": recon_loss, "kl": kl, "decoder_gan_loss": decoder_gan,
                   "discriminator_loss": discriminator_loss, "real_bce": real_bce, "fake_bce": fake_bce},
            group_losses=group_losses,
        )
