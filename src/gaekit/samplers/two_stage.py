"""Two-stage VAE sampler -- Dai and Wipf, "Diagnosing and Enhancing VAE Models", ICLR 2019,
arXiv:1903.05789, Section 4.

A first-stage autoencoder maps data ``x`` to codes ``z`` whose aggregate distribution need not be
``N(0, I)``. A second, small VAE is fitted on these codes: encoder ``q(u|z) = N(mu(z), diag(sigma^2(z)))``,
prior ``p(u) = N(0, I)``, Gaussian decoder ``p(z|u) = N(mu_z(u), gamma I)``, trained on the negative
ELBO ``E_q[-log p(z|u)] + KL(q(u|z) || N(0, I))``. New data come from ``u ~ N(0, I)``,
``z = mu_z(u)`` (the second decoder's mean), ``x = D(z)`` (the first model's decoder).

Dai and Wipf learn the decoder variance ``gamma`` jointly with the networks; their analysis shows
that ``gamma -> 0`` is what lets the second VAE match the aggregate posterior of the first stage,
whereas a fixed variance keeps it smoothing. ``learn_variance=True`` (the default) implements this
with one trainable scalar ``log gamma``; ``learn_variance=False`` is the plain gaekit ``VAE`` with
identity output and MSE reconstruction (a fixed ``N(mu_z(u), I/2)`` decoder). Both use the MLP
encoder and decoder of the Pythae paper's Appendix C (Chadebec et al. 2022, arXiv:2206.08309: two
hidden layers of 1024 ReLU units) and its training set-up (see ``gaekit.samplers._fitting``). The
second stage is fitted on the first model's embeddings (posterior means for variational models),
as in Pythae's benchmark; Dai and Wipf draw ``z ~ q(z|x)`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from gaekit.models.factory import create_model
from gaekit.models.vae import VAE, VAEConfig
from gaekit.samplers._fitting import TrainedLatentSampler, TrainedSamplerConfig
from gaekit.samplers.base import SAMPLERS


@dataclass
class TwoStageVAESamplerConfig(TrainedSamplerConfig):
    """Config of ``TwoStageVAESampler``.

    Parameters
    ----------
    second_stage_latent_dim : int or None, default None
        Dimension of the second VAE's latent space; ``None`` uses the first model's ``latent_dim``
        (Dai and Wipf use the same dimension for both stages' codes).
    hidden_dims : tuple of int, default (1024, 1024)
        Widths of the hidden ReLU layers of the second VAE's MLP encoder and of its decoder (their
        number is the depth).
    learn_variance : bool, default True
        Learn the second decoder's variance ``gamma`` (Dai and Wipf 2019); ``False`` fixes the
        decoder to gaekit's MSE reconstruction (variance 1/2).
    num_epochs, learning_rate, batch_size, scheduler_patience, early_stopping_patience, show_progress, seed
        Training of the second VAE, see ``TrainedSamplerConfig``.
    """

    name: ClassVar[str] = "TwoStageVAESampler"
    second_stage_latent_dim: int | None = None
    hidden_dims: tuple[int, ...] = (1024, 1024)
    learn_variance: bool = True

    def _check(self) -> None:
        super()._check()
        self._require("second_stage_latent_dim",
                      self.second_stage_latent_dim is None or self.second_stage_latent_dim >= 1,
                      "None or an int >= 1")
        self._require("hidden_dims", all(h >= 1 for h in self.hidden_dims),
                      "a tuple of positive ints (it may be empty)")


class LearnedVarianceVAE(VAE):
    """A ``VAE`` whose Gaussian decoder ``N(D(u), gamma I)`` has a learned variance ``gamma``.

    The per-sample reconstruction term is the exact negative log-likelihood
    ``||z - D(u)||^2 / (2 gamma) + d/2 log(2 pi gamma)`` (Dai and Wipf 2019, Section 4), so the loss
    is the negative ELBO. ``gamma = exp(log_gamma)`` starts at 1. Used by ``TwoStageVAESampler``
    (not registered in ``MODELS``).
    """

    def __init__(self, model_config: VAEConfig, encoder: nn.Module | None = None, decoder: nn.Module | None = None):
        super().__init__(model_config, encoder=encoder, decoder=decoder)
        self.log_gamma = nn.Parameter(torch.zeros(()))

    @property
    def gamma(self) -> Tensor:
        """The decoder variance."""
        return self.log_gamma.detach().exp()

    def reconstruction_terms(self, logits: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        recon_x = self.activate(logits)
        sq = (recon_x - x).pow(2).flatten(1).sum(1)
        d = x[0].numel()
        return recon_x, 0.5 * sq * torch.exp(-self.log_gamma) + 0.5 * d * (self.log_gamma + math.log(2 * math.pi))


@SAMPLERS.register()
class TwoStageVAESampler(TrainedLatentSampler):
    """Fit a second VAE on the model's embeddings; sample ``u ~ N(0, I)``, decode with both stages.

    Parameters
    ----------
    model : BaseAE
        The trained (first-stage) autoencoder; it is not modified by fitting.
    sampler_config : TwoStageVAESamplerConfig, optional

    Notes
    -----
    ``fit(train_data, eval_data=None, batch_size=500)`` embeds the data (``batch_size`` at a time)
    and trains the second VAE for at most ``num_epochs`` epochs with the gaekit ``Trainer``,
    stopping early on the validation loss. ``eval_data`` gives the validation codes; without it a
    seeded 10% of the training codes is held out for validation and not trained on. The weights of
    the best validation epoch are kept, and the second VAE is left in eval mode.
    ``sampler.safetensors`` holds the second VAE's state dict.

    Examples
    --------
    >>> config = TwoStageVAESamplerConfig(num_epochs=50)  # doctest: +SKIP
    >>> sampler = TwoStageVAESampler(model, config).fit(train_data, eval_data)  # doctest: +SKIP
    >>> images = sampler.sample(64, seed=0)  # doctest: +SKIP
    """

    config_class = TwoStageVAESamplerConfig

    @property
    def second_stage_latent_dim(self) -> int:
        k = self.sampler_config.second_stage_latent_dim
        return self.model.latent_dim if k is None else k

    def _build_density(self) -> VAE:
        c = self.sampler_config
        return create_model(LearnedVarianceVAE if c.learn_variance else VAE, input_dim=(self.code_dim,),
                            latent_dim=self.second_stage_latent_dim, reconstruction_loss="mse",
                            output_activation="identity", network_options={"hidden_dims": list(c.hidden_dims)})

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        vae = self.density
        u = torch.randn(num_samples, self.second_stage_latent_dim, generator=generator)
        with self._inference():
            device = vae.device
            return torch.cat([vae.decode(u[i:i + batch_size].to(device)) for i in range(0, num_samples, batch_size)])
