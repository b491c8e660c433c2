"""What VAE_LinNF and VAE_IAF share: a VAE whose posterior draw is refined by a flow.

``z_0 ~ q(z_0|x) = N(mu(x), diag(sigma^2(x)))``, ``z_K = f(z_0)`` for a flow ``f`` with
log-determinant ``log |det df/dz_0|``, so that ``log q_K(z_K|x) = log q(z_0|x) - log |det df/dz_0|``
(Rezende and Mohamed 2015, arXiv:1505.05770, Sec. 3.1 and Eq. 13). The negative ELBO (their Eq. 15; Pythae
paper, Appendix D), estimated with one reparameterised draw, is
``L(x) = rec(x, D(z_K)) + [log q(z_0|x) - log |det df/dz_0| - log p(z_K)]``;
the bracket is the single-sample Monte-Carlo ``KL(q_K(z|x) || p(z))`` reported as ``kl``.

``encode(x).embedding`` (hence ``embed``, ``reconstruct``, ``interpolate``) is ``f(mu(x))``,
the code the decoder sees for a noise-free draw; ``posterior(x)`` stays the Gaussian over
``z_0``. ``log_likelihood`` (inherited from ``VAE``) importance-samples with the flow
posterior ``q_K`` as proposal.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from gaekit.models import _losses
from gaekit.models.base import BaseAE, ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, no_log_covariance
from gaekit.nn import EncoderOutput


class FlowPosteriorVAE(VAE):
    """Base of VAEs with a flow-refined posterior; subclasses implement ``build_flow``."""

    def __init__(self, model_config, encoder: nn.Module | None = None, decoder: nn.Module | None = None):
        super().__init__(model_config, encoder=encoder, decoder=decoder)
        self.flow = self.build_flow()

    def build_flow(self) -> nn.Module:  # pragma: no cover - abstract
        """A module with ``forward(z_0) -> (z_K, log_det)`` on ``(B, latent_dim)`` codes."""
        raise NotImplementedError

    # -- posterior ------------------------------------------------------------------------
    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of the Gaussian ``q(z_0|x)`` before the flow."""
        out = BaseAE.encode(self, x)
        if out.log_covariance is None:
            raise no_log_covariance(self)
        return out.embedding, out.log_covariance

    def encode(self, x: Tensor) -> EncoderOutput:
        """``f(mu(x))``: the posterior mean pushed through the flow (no log-covariance: ``q_K`` is not Gaussian)."""
        mean, _ = self.posterior(x)
        return EncoderOutput(embedding=self.apply_flow(mean)[0])

    def apply_flow(self, z0: Tensor) -> tuple[Tensor, Tensor]:
        """``(z_K, log |det dz_K/dz_0|)`` for codes of shape ``(..., latent_dim)``."""
        flat = z0.reshape(-1, z0.shape[-1])
        z_k, log_det = self.flow(flat)
        return z_k.view(z0.shape), log_det.view(z0.shape[:-1])

    def flow_kl(self, z0: Tensor, z_k: Tensor, log_det: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
        """Single-sample ``KL(q_K || p) ~= log q(z_0|x) - log |det| - log p(z_K)`` per sample."""
        return _losses.log_normal_diag(z0, mean, log_var) - log_det - self.log_prior(z_k)

    # -- objective -------------------------------------------------------------------------
    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        z0 = _losses.reparameterize(mean, log_var, ctx)
        z_k, log_det = self.apply_flow(z0)
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z_k), x)
        kl = self.flow_kl(z0, z_k, log_det, mean, log_var)
        loss = self.combine(recon_loss, kl, ctx).mean()
        return ModelOutput(loss=loss, recon_x=recon_x, z=z_k,
                           terms={"recon_loss": recon_loss.mean(), "kl": kl.mean(), "log_det": log_det.mean()})

    def log_importance_weights(self, x: Tensor, mean: Tensor, log_var: Tensor, z: Tensor,
                               normalized: bool = True) -> Tensor:
        """``log p(x|z_K) + log p(z_K) - log q_K(z_K|x)`` for base draws ``z = z_0`` of shape ``(K, B, L)``.

        ``VAE.log_importance_weights`` evaluated at ``z_K`` gives the first two terms minus
        ``log N(z_K; mean, var)``; that Gaussian term is swapped for
        ``log q_K(z_K|x) = log q(z_0|x) - log |det|``.
        """
        z_k, log_det = self.apply_flow(z)
        log_w = super().log_importance_weights(x, mean, log_var, z_k, normalized)
        gaussian_at_z_k = _losses.log_normal_diag(z_k, mean, log_var)
        return log_w + gaussian_at_z_k - (_losses.log_normal_diag(z, mean, log_var) - log_det)

