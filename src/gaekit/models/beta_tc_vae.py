"""beta-TC-VAE -- Chen, Li, Grosse and Duvenaud, "Isolating Sources of Disentanglement in Variational
Autoencoders", NeurIPS 2018, arXiv:1802.04942.

The KL term of the ELBO averaged over the data splits into three parts (Eq. 2)::

    E_x KL(q(z|x) || p(z)) = I_q(x; z) + KL(q(z) || prod_d q(z_d)) + sum_d KL(q(z_d) || p(z_d))
                              index-code MI   total correlation          dimension-wise KL

and the objective weighs them separately (Eq. 4), here as a loss to minimise, per sample then
averaged over the batch::

    L(x) = rec(x, D(z)) + alpha * MI + beta * TC + gamma * dim-KL,    z ~ q(z|x)

Each part is estimated on the minibatch from the one code ``z_i`` drawn per sample:
``MI_i = log q(z_i|x_i) - log q(z_i)``, ``TC_i = log q(z_i) - sum_d log q(z_id)`` and
``dimKL_i = sum_d log q(z_id) - log p(z_i)``, where the aggregate posterior ``q(z) = 1/N sum_n q(z|x_n)``
and its marginals are estimated from the batch by minibatch stratified sampling (``use_mss=True``,
App. C) or minibatch weighted sampling (``use_mss=False``, Sec. 4.1); see
``_losses.minibatch_log_weights``. The three parts always sum to ``log q(z_i|x_i) - log p(z_i)``, a
one-sample estimate of the KL, so ``alpha = beta = gamma = 1`` gives the VAE's objective in expectation.
Both estimators need the training set size ``N``: ``ctx.dataset_size``; without a ``StepContext`` (or
with an unknown size, 0) the batch size is used, and ``N`` is never taken below the batch size.
The weighted-sampling estimates of ``log q(z)`` carry the paper's ``-log(N M)`` normalisation, so under
``use_mss=False`` the MI, TC and dim-KL terms are offset by constants (their sum is not).

Config fields (beyond ``VAEConfig``): ``alpha``, ``beta``, ``gamma`` (weights of the three parts,
default 1 each: the paper and the Pythae benchmark tune ``beta`` only), ``use_mss`` (default True).
The prior is the factorised standard normal, as the dimension-wise split requires. ``terms`` also
reports the closed-form ``kl`` for monitoring (it is not part of the loss).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.models import _losses
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.vae import VAE, VAEConfig


@dataclass
class BetaTCVAEConfig(VAEConfig):
    """Config of ``BetaTCVAE``.

    Parameters
    ----------
    alpha : float, default 1.0
        Weight of the index-code mutual information (>= 0).
    beta : float, default 1.0
        Weight of the total correlation (>= 0).
    gamma : float, default 1.0
        Weight of the dimension-wise KL (>= 0).
    use_mss : bool, default True
        Minibatch stratified sampling; ``False`` uses minibatch weighted sampling.
    """

    name: ClassVar[str] = "BetaTCVAE"
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    use_mss: bool = True

    def _check(self) -> None:
        super()._check()
        self._require_positive("alpha", "beta", "gamma", allow_zero=True)


@MODELS.register()
class BetaTCVAE(VAE):
    """VAE whose KL is split into index-code MI, total correlation and dimension-wise KL, each weighted."""

    config_class = BetaTCVAEConfig

    @staticmethod
    def dataset_size(ctx: StepContext | None, batch_size: int) -> int:
        """``N`` for the minibatch estimators: ``ctx.dataset_size``, else the batch size; at least the batch size."""
        n = ctx.dataset_size if ctx is not None and ctx.dataset_size > 0 else batch_size
        return max(n, batch_size)

    def kl_decomposition(self, z: Tensor, mean: Tensor, log_var: Tensor,
                         dataset_size: int) -> tuple[Tensor, Tensor, Tensor]:
        """Per-sample ``(MI, TC, dim-KL)`` estimates, each of shape ``(B,)``, from codes ``z ~ q(z|x)``."""
        batch_size = z.shape[0]
        log_q_pairs = _losses.log_normal_diag_pairwise(z, mean, log_var)  # (B, B, L): log q(z_i[d] | x_j)
        log_w = _losses.minibatch_log_weights(batch_size, dataset_size, self.model_config.use_mss)
        log_w = log_w.to(device=z.device, dtype=z.dtype)
        log_q_z_given_x = log_q_pairs.diagonal(dim1=0, dim2=1).sum(0)  # log q(z_i | x_i)
        log_q_z = torch.logsumexp(log_w + log_q_pairs.sum(-1), dim=1)  # log q(z_i)
        log_prod_q_zd = torch.logsumexp(log_w.unsqueeze(-1) + log_q_pairs, dim=1).sum(-1)  # sum_d log q(z_id)
        mutual_info = log_q_z_given_x - log_q_z
        total_correlation = log_q_z - log_prod_q_zd
        dimension_wise_kl = log_prod_q_zd - self.log_prior(z)
        return mutual_info, total_correlation, dimension_wise_kl

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        c = self.model_config
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        z = _losses.reparameterize(mean, log_var, ctx)
        recon_x, recon_loss = self.reconstruction_terms(self.decode_logits(z), x)
        mi, tc, dim_kl = self.kl_decomposition(z, mean, log_var, self.dataset_size(ctx, len(x)))
        loss = (recon_loss + c.alpha * mi + c.beta * tc + c.gamma * dim_kl).mean()
        return ModelOutput(loss=loss, recon_x=recon_x, z=z, terms={
            "recon_loss": recon_loss.mean(),
            "mutual_info": mi.mean(),
            "total_correlation": tc.mean(),
            "dimension_wise_kl": dim_kl.mean(),
            "kl": self.kl_term(z, mean, log_var).mean().detach(),
        })
