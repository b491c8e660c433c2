"""Poincare VAE -- Mathieu, Le Lan, Maddison, Tomioka and Teh, "Continuous Hierarchical
Representations with Poincare Variational Auto-Encoders", NeurIPS 2019, arXiv:1901.06033.

Latent space: the Poincare ball ``B^d_c = {z : ||z|| < 1/sqrt(c)}`` of curvature ``-c``
(``c = curvature``). Posterior and prior are each, by config, one of the two normals of Sec. 3:

- the wrapped normal ``N^W(mu, diag(sigma^2))`` (``gaekit.distributions.WrappedNormal``);
- the Riemannian (maximum-entropy) normal ``N_R(mu, sigma^2)``, density
  ``exp(-d_c(mu, z)^2 / (2 sigma^2)) / Z(c, sigma)`` (``RiemannianNormal``), isotropic.

The posterior mean is ``mu = exp_0^c(encoder mean)`` (so ``embed`` returns points of the ball); its scale
is ``sigma = exp(log_var / 2)`` per dimension for the wrapped normal and, for the isotropic Riemannian
normal, ``sigma = exp(mean(log_var) / 2)`` (the geometric mean of the per-dimension scales), clamped to
``riemannian_scale_bounds`` when given. The prior is centred at the origin with scale ``prior_scale``.

``posterior_location="embedding"`` takes the encoder mean itself as ``mu`` (Pythae 0.1.2's PoincareVAE),
pulled back inside the ball by ``gaekit.manifolds.project_to_ball`` where it lies outside: a Euclidean
output is then not confined to the ball, which Pythae's formulas need (outside, its conformal factor
``2 / (1 - c ||mu||^2)`` is clamped and its densities are not those of a distribution); ``exp_0^c``
(gaekit's default, as Mathieu et al.'s code) maps every output inside. Pythae clamps the Riemannian
normal's ``sigma`` to ``[0.1, 7]`` (``riemannian_scale_bounds=(0.1, 7.0)``). Objective: the negative ELBO (Sec. 4)
``L(x) = rec(x, D(z)) + [log q(z|x) - log p(z)]`` with ``z ~ q(z|x)`` reparameterised and the KL
estimated by Monte Carlo from that one sample, both densities w.r.t. the Riemannian volume of the ball.

Decoder: by default the MLP takes the ball coordinates ``z``; with ``decoder_first_layer="gyroplane"``
its first linear layer is the gyroplane layer of Sec. 3.2 (``gaekit.nn.gyroplane.GyroplaneLayer``:
signed distances to learned Poincare hyperplanes). A custom ``decoder`` cannot be combined with
``"gyroplane"`` (``ConfigError``): put a ``GyroplaneLayer`` first in it instead.

Config fields: those of ``VAEConfig`` plus ``curvature`` (``c > 0``, default 1.0), ``prior_scale``
(default 1.0), ``prior_distribution`` and ``posterior_distribution`` (``"wrapped_normal"`` or
``"riemannian_normal"``), ``decoder_first_layer`` (``"linear"`` or ``"gyroplane"``), ``posterior_location``
(``"expmap0"`` or ``"embedding"``) and ``riemannian_scale_bounds`` (None or ``(low, high)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from gaekit import distributions as D
from gaekit import manifolds as M
from gaekit.data import check_batch
from gaekit.errors import ConfigError
from gaekit.models._manifold import ManifoldVAE
from gaekit.models.base import MODELS
from gaekit.models.pythae_networks import encoder_output
from gaekit.models.vae import VAEConfig
from gaekit.nn import EncoderOutput
from gaekit.nn.gyroplane import GyroplaneLayer

BallNormal = D.WrappedNormal | D.RiemannianNormal


@dataclass
class PoincareVAEConfig(VAEConfig):
    """Config of ``PoincareVAE``.

    Parameters
    ----------
    curvature : float, default 1.0
        ``c > 0``: the ball has curvature ``-c`` and radius ``1 / sqrt(c)``.
    prior_scale : float, default 1.0
        Scale ``sigma`` of the prior at the origin.
    prior_distribution, posterior_distribution : {"wrapped_normal", "riemannian_normal"}
        The wrapped normal or the Riemannian normal of Mathieu et al. Sec. 3, in any combination.
    decoder_first_layer : {"linear", "gyroplane"}, default "linear"
        First layer of the default decoder: affine, or the gyroplane layer of Sec. 3.2.
    posterior_location : {"expmap0", "embedding"}, default "expmap0"
        The posterior's location: ``exp_0^c`` of the encoder mean, or the mean itself, projected inside the
        ball where it is outside (Pythae 0.1.2's).
    riemannian_scale_bounds : (float, float) or None, default None
        ``(low, high)``: the Riemannian normals' ``sigma`` is clamped to it (Pythae: ``(0.1, 7.0)``).
    """

    name: ClassVar[str] = "PoincareVAE"
    curvature: float = 1.0
    prior_scale: float = 1.0
    prior_distribution: Literal["wrapped_normal", "riemannian_normal"] = "wrapped_normal"
    posterior_distribution: Literal["wrapped_normal", "riemannian_normal"] = "wrapped_normal"
    decoder_first_layer: Literal["linear", "gyroplane"] = "linear"
    posterior_location: Literal["expmap0", "embedding"] = "expmap0"
    riemannian_scale_bounds: tuple[float, float] | None = None

    def _check(self) -> None:
        super()._check()
        self._require_positive("curvature", "prior_scale")
        bounds = self.riemannian_scale_bounds
        self._require("riemannian_scale_bounds", bounds is None or 0 < bounds[0] <= bounds[1],
                      "None or (low, high) with 0 < low <= high")
        if self.decoder_first_layer == "gyroplane":
            self._require("network", self.network == "mlp", "'mlp' when decoder_first_layer='gyroplane' (the "
                          "gyroplane layer replaces the first layer of the MLP decoder)")


def _ball_normal(kind: str, loc: Tensor, scale: Tensor, c: float,
                 bounds: tuple[float, float] | None = None) -> BallNormal:
    """The wrapped normal with per-dimension ``scale``, or the Riemannian normal with their geometric mean
    (clamped to ``bounds`` when given)."""
    if kind == "riemannian_normal":
        sigma = torch.exp(torch.log(scale).mean(-1))
        return D.RiemannianNormal(loc, sigma if bounds is None else sigma.clamp(*bounds), c)
    return D.WrappedNormal(loc, scale, c)


@MODELS.register()
class PoincareVAE(ManifoldVAE):
    """VAE with wrapped or Riemannian normal posterior and prior on the Poincare ball."""

    config_class = PoincareVAEConfig

    def __init__(self, model_config: PoincareVAEConfig, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None):
        if decoder is not None and getattr(model_config, "decoder_first_layer", "linear") == "gyroplane":
            raise ConfigError("decoder_first_layer='gyroplane' applies to the default decoder only; with a custom "
                              "decoder keep decoder_first_layer='linear' and put a "
                              "gaekit.nn.gyroplane.GyroplaneLayer first in it")
        super().__init__(model_config, encoder, decoder)

    @property
    def curvature(self) -> float:
        return self.model_config.curvature

    def default_decoder(self) -> nn.Module:
        """The MLP decoder, its first layer a ``GyroplaneLayer`` when ``decoder_first_layer="gyroplane"``."""
        decoder = super().default_decoder()
        if self.model_config.decoder_first_layer == "gyroplane":
            first = decoder.body[0]
            decoder.body[0] = GyroplaneLayer(first.in_features, first.out_features, self.curvature)
        return decoder

    def encode(self, x: Tensor) -> EncoderOutput:
        """The encoder's output with its mean mapped onto the ball (``posterior_location``: by ``exp_0^c``, or
        projected where outside; ``x`` checked as in ``BaseAE.encode``)."""
        if not isinstance(x, Tensor) or x.shape[1:] != self.model_config.input_dim:  # one cheap test per step
            x = check_batch(x, self.input_dim, "x", self.device)
        out = encoder_output(self.encoder(x))  # Pythae's ModelOutput too
        if self.model_config.posterior_location == "embedding":
            loc = M.project_to_ball(out.embedding, self.curvature)
        else:
            loc = M.expmap0(out.embedding, self.curvature)
        log_var = out.log_covariance
        if log_var is None and out.log_concentration is not None and \
                self.model_config.posterior_distribution == "riemannian_normal":
            # Pythae's Riemannian-posterior encoders: one log-variance per code (``log_concentration``, (B, 1))
            log_var = out.log_concentration.expand(*out.embedding.shape)
        return EncoderOutput(embedding=loc, log_covariance=log_var)

    def posterior_distribution(self, x: Tensor) -> BallNormal:
        mu, log_var = self.posterior(x)
        return _ball_normal(self.model_config.posterior_distribution, mu, torch.exp(0.5 * log_var), self.curvature,
                            self.model_config.riemannian_scale_bounds)

    def prior(self, device: torch.device | None = None) -> BallNormal:
        """The prior: ``prior_distribution`` at the origin with scale ``prior_scale``."""
        zero = torch.zeros(self.latent_dim, device=self.device if device is None else device)
        scale = torch.full_like(zero, self.model_config.prior_scale)
        return _ball_normal(self.model_config.prior_distribution, zero, scale, self.curvature,
                            self.model_config.riemannian_scale_bounds)

    def divergence(self, q: BallNormal, z: Tensor) -> Tensor:
        """One-sample Monte Carlo ``log q(z|x) - log p(z)``."""
        return q.log_prob(z) - self.log_prior(z)

    def log_prior(self, z: Tensor) -> Tensor:
        return self.prior(z.device).log_prob(z)

    def sample_prior(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes from the prior (drawn on the CPU, so a seed gives the same codes on any device)."""
        return self.prior(torch.device("cpu")).rsample(num_samples, generator).to(self.device)
