"""Shared maths of the model family.

Convention: every function here returns one value *per sample*, shape ``(B,)``,
summed over data or latent dimensions; models average over the batch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

from gaekit.models import step

if TYPE_CHECKING:
    from gaekit.models.base import StepContext

LOG_2PI = math.log(2 * math.pi)


# The Gaussian decoder's variance when a config gives none: N(x; recon_x, I/2), whose negative log-likelihood is
# the plain sum of squared errors (gaekit's scale since its first release; see BaseAEConfig.decoder_variance).
DEFAULT_DECODER_VARIANCE = 0.5


def reconstruction_loss(logits: Tensor, x: Tensor, kind: str, recon_x: Tensor | None = None,
                        variance: float = DEFAULT_DECODER_VARIANCE) -> Tensor:
    """Per-sample reconstruction loss summed over data dimensions.

    Parameters
    ----------
    logits : Tensor
        The decoder's pre-activation output, ``(B, *input_dim)``.
    x : Tensor
        The data, same shape.
    kind : {"bce", "mse"}
        ``"bce"``: the Bernoulli negative log-likelihood, computed from the logits.
        ``"mse"``: ``||x - recon_x||^2 / (2 variance)``, the negative log-likelihood of the Gaussian decoder
        ``N(x; recon_x, variance I)`` up to its constant ``D/2 log(2 pi variance)`` (Kingma and Welling
        2014, App. C.2, with a fixed variance). ``variance=0.5`` gives the plain sum of squared errors
        (gaekit's default, and Pythae's VAE-family scale before its 0.1.2); ``variance=1`` gives
        ``0.5 ||x - recon_x||^2``, the unit-variance decoder of Pythae 0.1.2.
    recon_x : Tensor, optional
        The activated output; required for ``"mse"``.
    variance : float, default 0.5
        The Gaussian decoder's variance ``sigma^2`` (> 0); ignored for ``"bce"``.
    """
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    if recon_x is None:
        raise ValueError("mse reconstruction needs the activated output recon_x")
    if not (math.isfinite(variance) and variance > 0):
        raise ValueError(f"reconstruction_loss: variance={variance!r} is invalid: expected a finite number > 0")
    squared = (recon_x - x).pow(2).flatten(1).sum(1)
    return squared if 2 * variance == 1 else squared / (2 * variance)  # the default scale stays bit-identical


def decoder_log_likelihood(logits: Tensor, x: Tensor, kind: str, recon_x: Tensor | None = None,
                           normalized: bool = True, variance: float = DEFAULT_DECODER_VARIANCE) -> Tensor:
    """``log p(x | z)`` per sample for the decoder implied by ``reconstruction_loss``.

    For ``"mse"`` the decoder is ``N(x; recon_x, variance I)``, so ``log p(x | z) = -||x - recon_x||^2 /
    (2 variance) - D/2 log(2 pi variance)``. With ``normalized=False`` that constant is left out, so that
    ``-decoder_log_likelihood`` is exactly the training reconstruction loss.
    """
    nll = reconstruction_loss(logits, x, kind, recon_x, variance)
    if kind == "bce" or not normalized:
        return -nll
    data_dims = x[0].numel()
    return -nll - 0.5 * data_dims * math.log(2 * math.pi * variance)


def gaussian_kl(mean: Tensor, log_var: Tensor) -> Tensor:
    """KL( N(mean, diag(exp(log_var))) || N(0, I) ) per sample (Kingma and Welling 2014, App. B)."""
    return -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(-1)


def log_normal_standard(z: Tensor) -> Tensor:
    """``log N(z; 0, I)`` summed over the last dimension."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def log_normal_diag(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """``log N(z; mean, diag(exp(log_var)))`` summed over the last dimension."""
    return -0.5 * ((z - mean).pow(2) * torch.exp(-log_var) + log_var + LOG_2PI).sum(-1)


def reparameterize(mean: Tensor, log_var: Tensor, ctx: StepContext | None = None) -> Tensor:
    """``z = mean + exp(log_var / 2) * eps``, ``eps ~ N(0, I)`` (reparameterisation trick); ``eps`` is
    drawn from the step's context (see ``gaekit.models.step``)."""
    std = torch.exp(0.5 * log_var)
    return mean + std * step.randn_like(std, ctx)


# -- importance-weighted bounds (IWAE, MIWAE, CIWAE, PIWAE) ------------------------------------


def importance_weighted_bound(log_weights: Tensor, num_groups: int = 1) -> Tensor:
    """Importance-weighted lower bounds ``log (1/K sum_k w_k)`` (Burda et al. 2016, Eq. 8).

    ``log_weights`` of shape ``(num_groups * K, B)`` holds ``log w = log p(x, z) - log q(z|x)``
    for draws ``z ~ q(z|x)``; it is split into ``num_groups`` consecutive groups of ``K`` draws
    and one bound per group and sample is returned, shape ``(num_groups, B)`` (a stable
    logsumexp). ``num_groups=1`` gives the IWAE bound of all draws; the mean over groups is the
    MIWAE bound of Rainforth et al. 2018.
    """
    n = log_weights.shape[0]
    if num_groups < 1 or n % num_groups:
        raise ValueError(f"importance_weighted_bound: {n} draws cannot be split into {num_groups} equal groups")
    k = n // num_groups
    grouped = log_weights.reshape(num_groups, k, *log_weights.shape[1:])
    return torch.logsumexp(grouped, dim=1) - math.log(k)


# -- MMD kernels and the unbiased MMD^2 estimate (InfoVAE_MMD, WAE_MMD); RAE latent penalty -----

IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def squared_distances(a: Tensor, b: Tensor) -> Tensor:
    """``||a_i - b_j||^2`` for ``a`` of shape ``(N, L)`` and ``b`` of shape ``(M, L)``: ``(N, M)``.

    Computed from the differences (not ``|a|^2 + |b|^2 - 2ab``), so it is exactly symmetric,
    never negative and differentiable at zero distance.
    """
    return (a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(-1)


def imq_kernel(a: Tensor, b: Tensor, c: float, scales: tuple[float, ...] = IMQ_SCALES) -> Tensor:
    """Inverse multi-quadratic kernel ``sum_s s*C / (s*C + ||a - b||^2)``: ``(N, M)``.

    ``C = 2 * d * sigma^2`` (Tolstikhin et al. 2018, Sec. 4; Pythae paper, Appendix D).
    """
    d2 = squared_distances(a, b)
    return sum(s * c / (s * c + d2) for s in scales)


def rbf_kernel(a: Tensor, b: Tensor, c: float, scales: tuple[float, ...] = (1.0,)) -> Tensor:
    """Gaussian (RBF) kernel ``sum_s exp(-||a - b||^2 / (s*C))``: ``(N, M)``; one scale gives ``exp(-d^2/C)``."""
    d2 = squared_distances(a, b)
    return sum(torch.exp(-d2 / (s * c)) for s in scales)


def mmd_unbiased(x: Tensor, y: Tensor, kernel) -> Tensor:
    """Unbiased estimate of ``MMD^2`` between the samples ``x`` (N, L) and ``y`` (M, L): a scalar.

    The U-statistic of Gretton et al. (2012, Lemma 6):
    ``1/(N(N-1)) sum_{i!=j} k(x_i,x_j) + 1/(M(M-1)) sum_{i!=j} k(y_i,y_j) - 2/(NM) sum_{i,j} k(x_i,y_j)``.
    It can be slightly negative and averages to 0 when both samples come from one distribution.
    A sample with a single point has no pair ``i != j``; its within-sample mean then falls back to
    the (biased) ``k(x_1, x_1)``.
    """

    def within(s: Tensor) -> Tensor:
        k = kernel(s, s)
        n = s.shape[0]
        if n < 2:
            return k.sum()
        return (k.sum() - k.diagonal().sum()) / (n * (n - 1))

    return within(x) + within(y) - 2 * kernel(x, y).mean()


def half_squared_norm(z: Tensor) -> Tensor:
    """``||z||^2 / 2`` per sample (the RAE latent penalty of Ghosh et al. 2020, Eq. 11)."""
    return 0.5 * z.pow(2).sum(-1)


# -- VAE-objective variants: minibatch estimates of the aggregate posterior (beta-TC-VAE) ----------


def log_normal_diag_pairwise(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    """``log N(z_i[d]; mean_j[d], exp(log_var_j[d]))`` for every pair ``(i, j)``: shape ``(B, B, L)``.

    Entry ``[i, j, d]`` is the log-density of dimension ``d`` of code ``z_i`` under the posterior
    of sample ``j``; summing over ``d`` gives ``log q(z_i | x_j)``. Not summed (unlike the other
    helpers) because the dimension-wise marginals need the per-dimension values.
    """
    z, mean, log_var = z.unsqueeze(1), mean.unsqueeze(0), log_var.unsqueeze(0)
    return -0.5 * ((z - mean).pow(2) * torch.exp(-log_var) + log_var + LOG_2PI)


def minibatch_log_weights(batch_size: int, dataset_size: int, stratified: bool) -> Tensor:
    """Log-weights ``(B, B)`` of the minibatch estimates of ``q(z_i) = 1/N sum_n q(z_i | x_n)``.

    ``log q(z_i) ~= logsumexp_j [W_ij + log q(z_i | x_j)]`` (Chen et al. 2018, arXiv:1802.04942):

    - minibatch weighted sampling (Sec. 4.1): ``W_ij = -log(N M)`` for all ``j``;
    - minibatch stratified sampling (App. C): the sample's own posterior weighs ``1/N``; of the
      ``M - 1`` others, one (here ``j = i + 1 mod M``) weighs ``(N - M + 1) / (N (M - 1))`` and
      each remaining one ``1 / (M - 1)``. Each row sums to 1 and, for a batch drawn uniformly
      without replacement, ``sum_j exp(W_ij) q(z_i | x_j)`` is an unbiased estimate of ``q(z_i)``.

    ``N = dataset_size`` must be at least ``M = batch_size``. A batch of one sample gets ``-log N``.
    """
    n, m = dataset_size, batch_size
    if m < 1 or n < m:
        raise ValueError(f"minibatch_log_weights needs 1 <= batch_size <= dataset_size; got {m} and {n}")
    if not stratified:
        return torch.full((m, m), -math.log(n * m))
    if m == 1:
        return torch.full((1, 1), -math.log(n))
    weights = torch.full((m, m), 1.0 / (m - 1), dtype=torch.float64)
    rows = torch.arange(m)
    weights[rows, (rows + 1) % m] = (n - m + 1) / (n * (m - 1))
    weights[rows, rows] = 1.0 / n
    return weights.log().float()


# -- adversarial models (Adversarial_AE, FactorVAE, VAEGAN) ---------------------------------------------


def bce_with_logits_target(logits: Tensor, target: float) -> Tensor:
    """Per-sample ``-log D`` (``target=1``) or ``-log(1 - D)`` (``target=0``) for ``D = sigmoid(logits)``.

    ``logits`` of shape ``(B, 1)`` or ``(B,)``; returns ``(B,)``. The GAN objective of Goodfellow et al.
    (2014, arXiv:1406.2661, Eq. 1) written as binary cross-entropies, computed stably from logits.
    """
    logits = logits.reshape(logits.shape[0], -1).sum(1)
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)), reduction="none")


def permute_dims(z: Tensor, ctx: StepContext | None = None) -> Tensor:
    """Permute each latent dimension independently across the batch (Kim and Mnih 2018,
    arXiv:1802.05983, Algorithm 1): column ``j`` of the result is ``z[pi_j, j]`` for its own random
    permutation ``pi_j`` of the batch. Samples of ``prod_j q(z_j)`` from samples of ``q(z)``; ``(B, L)``.
    """
    keys = step.rand(z.shape, ctx, device=z.device)
    return torch.gather(z, 0, keys.argsort(dim=0))


def gumbel_softmax_hard(logits: Tensor, tau: float, ctx: StepContext | None = None) -> Tensor:
    """One-hot samples of ``softmax((logits + g) / tau)`` over the last dimension, ``g ~ Gumbel(0, 1)``, with
    the soft sample's gradient (straight-through; Jang et al. 2017, arXiv:1611.01144), as
    ``F.gumbel_softmax(logits, tau, hard=True)`` computes it, the noise drawn from the step's context."""
    gumbels = -step.exponential_like(logits, ctx).log()
    y_soft = ((logits + gumbels) / tau).softmax(-1)
    index = y_soft.max(-1, keepdim=True)[1]
    y_hard = torch.zeros_like(logits, memory_format=torch.legacy_contiguous_format).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# -- Hamiltonian flows (HVAE, RHVAE, RHVAESampler) -------------------------------------------------


def tempering_sqrt_beta(k: int, n_steps: int, sqrt_beta_zero: Tensor | float) -> Tensor | float:
    """``sqrt(beta_k)`` of the quadratic tempering schedule of Caterini et al. (2018, arXiv:1805.11328,
    Sec. 4): ``1 / sqrt(beta_k) = (1 - 1 / sqrt(beta_0)) k^2 / K^2 + 1 / sqrt(beta_0)``, so that
    ``beta_0`` is the initial inverse temperature and ``beta_K = 1``."""
    inv = 1.0 / sqrt_beta_zero
    return 1.0 / ((1.0 - inv) * (k / n_steps) ** 2 + inv)


# -- moment and sliced-distance penalties on the aggregate posterior (DIPVAE, SWAE) ----------------------


def dip_covariance_penalty(mean: Tensor, log_var: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The DIP-VAE penalties of the batch covariance ``C`` of the codes (Kumar et al. 2018, arXiv:1711.00848,
    Sec. 3): ``(sum_{i!=j} C_ij^2, sum_i (C_ii - 1)^2)``, two scalars (batch-level, not per sample).

    ``C = Cov_batch[mean]`` (DIP-VAE-I) when ``log_var`` is None, else ``C = E_batch[diag(exp(log_var))] +
    Cov_batch[mean]`` (DIP-VAE-II: the covariance of the aggregate posterior of diagonal Gaussians). The batch
    covariance is the biased one, ``1/B sum_b (mu_b - mu_bar)(mu_b - mu_bar)^T``, as the moments of the
    empirical data distribution; a batch of one sample has ``Cov_batch[mean] = 0``.
    """
    centered = mean - mean.mean(0, keepdim=True)
    cov = centered.T @ centered / mean.shape[0]
    if log_var is not None:
        cov = cov + torch.diag(log_var.exp().mean(0))
    diagonal = cov.diagonal()
    off_diagonal = (cov - torch.diag(diagonal)).pow(2).sum()
    return off_diagonal, (diagonal - 1).pow(2).sum()


def sliced_wasserstein(a: Tensor, b: Tensor, num_projections: int, p: float = 2.0,
                       ctx: StepContext | None = None) -> Tensor:
    """Monte-Carlo estimate of ``SW_p^p`` between the samples ``a`` and ``b`` (both ``(N, L)``): a scalar.

    Kolouri et al. (2019, arXiv:1804.01947, Algorithm 1): draw ``num_projections`` directions ``theta_l``
    uniformly on the unit sphere ``S^(L-1)`` (normalised Gaussians, from the step's context ``ctx``, not
    sharded: every process of a data-parallel run projects on the same directions), project both samples on
    each, sort the projections (the 1-D optimal transport pairs the order statistics) and return
    ``1/(num_projections N) sum_l sum_n |sort(theta_l . a)_n - sort(theta_l . b)_n|^p``. It is 0 for
    identical samples; for ``p = 2`` it estimates ``E_theta W_2^2(theta_# q, theta_# p)``.
    """
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"sliced_wasserstein needs two (N, L) samples of one shape; got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    draw_ctx = None if ctx is None else step.StepContext(generator=ctx.generator)  # the same directions everywhere
    theta = step.randn_like(a.new_empty(num_projections, a.shape[1]), draw_ctx)
    theta = theta / theta.norm(dim=1, keepdim=True).clamp_min(torch.finfo(theta.dtype).tiny)
    projected_a = (a @ theta.T).sort(dim=0).values
    projected_b = (b @ theta.T).sort(dim=0).values
    return (projected_a - projected_b).abs().pow(p).mean()
