"""Riemannian Hamiltonian VAE (RHVAE) -- Chadebec, Mantoux and Allassonniere, "Geometry-Aware Hamiltonian
Variational Auto-Encoder", arXiv:2010.11518 (2020); in the Pythae benchmark (Chadebec et al. 2022).

The latent space carries a learned Riemannian metric (Eq. 9)
``G^{-1}(z) = sum_i L_i L_i^T exp(-||z - c_i||^2 / T^2) + lambda I``, where ``c_i = mu(x_i)`` are encoder
means (centroids) and ``L_i = L_psi(x_i)`` lower-triangular matrices (positive diagonal) given by the metric
network. The posterior sample ``z_0 ~ q(z|x)`` and a momentum ``rho_0 = v_0 / sqrt(beta_0)``,
``v_0 ~ N(0, G(z_0))``, follow ``num_leapfrog_steps`` generalised leapfrog steps (Eqs. 5-7, implicit updates
solved by ``num_fixed_point_iterations`` fixed-point iterations) of the Hamiltonian
``H(z, rho) = -log p(x, z) + 1/2 log((2 pi)^d det G(z)) + 1/2 rho^T G^{-1}(z) rho``, each followed by the
tempering of HVAE. The generalised leapfrog is volume-preserving and the tempering's Jacobian cancels the
one of ``v_0 -> rho_0``, so the ELBO (Alg. 1) is

``L(x) = log p(x, z_K) + log N(rho_K; 0, G(z_K)) - log q(z_0|x) - log N(v_0; 0, G(z_0))``,

minimised as ``-L(x)`` (``recon_loss = -log p(x|z_K)``, ``kl`` the rest). In training the metric is built
from the current batch (centroids and ``L_i`` with gradients, so the metric network learns); the batch's
detached values are kept in the buffers ``last_batch_centroids``/``last_batch_matrices`` and become the
metric used outside training (``centroids``, ``metric_matrices``, i.e. ``L_i L_i^T``) at the end of each
epoch (``on_epoch_end``), as in the paper's implementation. All four are registered buffers: they follow
``.to(...)``, are saved with the model and restored by checkpoints (their first dimension, the number of
centroids, is resized on load). Before the first epoch end the metric is ``lambda I``.

Config fields: those of ``HVAE`` (``num_leapfrog_steps``, ``eps_lf``, ``beta_zero``, ``learn_eps_lf``,
``learn_beta_zero``) plus ``temperature`` (``T``, 1.5), ``regularization`` (``lambda``, 0.01),
``num_fixed_point_iterations`` (3) and ``metric_hidden_dim`` (400, the metric network's hidden layer).
``embed`` returns the posterior mean (no leapfrog step) and ``reconstruct`` decodes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gaekit.models import _losses, step
from gaekit.models.base import MODELS, ModelOutput, StepContext, batch_data
from gaekit.models.hvae import HVAE, HVAEConfig
from gaekit.models.pythae_networks import metric_output

METRIC_BUFFERS = ("centroids", "metric_matrices", "last_batch_centroids", "last_batch_matrices")


@dataclass
class RHVAEConfig(HVAEConfig):
    """Config of ``RHVAE``.

    Parameters
    ----------
    temperature : float, default 1.5
        ``T`` of the metric's Gaussian kernels (> 0).
    regularization : float, default 0.01
        ``lambda`` added to ``G^{-1}`` (> 0).
    num_fixed_point_iterations : int, default 3
        Fixed-point iterations solving each implicit step of the generalised leapfrog (>= 1); formerly
        ``n_fixed_point_iterations``.
    metric_hidden_dim : int, default 400
        Hidden width of the default metric network.
    """

    name: ClassVar[str] = "RHVAE"
    aliases: ClassVar[dict[str, str]] = {"n_fixed_point_iterations": "num_fixed_point_iterations"}
    temperature: float = 1.5
    regularization: float = 0.01
    num_fixed_point_iterations: int = 3
    metric_hidden_dim: int = 400

    def _check(self) -> None:
        super()._check()
        self._require_positive("temperature", "regularization")
        for field in ("num_fixed_point_iterations", "metric_hidden_dim"):
            self._require(field, isinstance(getattr(self, field), int) and getattr(self, field) >= 1, "an int >= 1")


class MetricNetwork(nn.Module):
    """``x -> L_psi(x)``: a lower-triangular ``(latent_dim, latent_dim)`` matrix with a positive diagonal."""

    def __init__(self, input_dim: tuple[int, ...], latent_dim: int, hidden_dim: int = 400):
        super().__init__()
        self.latent_dim = latent_dim
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_dim), hidden_dim), nn.ReLU())
        self.diag = nn.Linear(hidden_dim, latent_dim)
        self.lower = nn.Linear(hidden_dim, latent_dim * (latent_dim - 1) // 2)
        self.register_buffer("rows", torch.tril_indices(latent_dim, latent_dim, -1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        h = self.body(x)
        L = torch.diag_embed(self.diag(h).exp())
        if self.latent_dim > 1:
            off = torch.zeros_like(L)
            off[:, self.rows[0], self.rows[1]] = self.lower(h)
            L = L + off
        return L


@MODELS.register()
class RHVAE(HVAE):
    """HVAE on a learned Riemannian latent space (Chadebec et al. 2020)."""

    config_class = RHVAEConfig
    extra_networks = ("metric",)
    per_sample_buffers = ("last_batch_centroids", "last_batch_matrices")

    def __init__(self, model_config: RHVAEConfig, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, metric: nn.Module | None = None):
        super().__init__(model_config, encoder, decoder, metric=metric)
        d = model_config.latent_dim
        for name in METRIC_BUFFERS:
            self.register_buffer(name, torch.zeros(0, d) if "centroids" in name else torch.zeros(0, d, d))

    def default_metric(self) -> nn.Module:
        c = self.model_config
        return MetricNetwork(c.input_dim, c.latent_dim, c.metric_hidden_dim)

    # -- the metric ---------------------------------------------------------------------------
    def metric_inverse(self, z: Tensor, centroids: Tensor | None = None, matrices: Tensor | None = None) -> Tensor:
        """``G^{-1}(z)`` of Eq. 9, ``(B, d, d)``: the stored metric unless centroids and ``L L^T`` are given."""
        c = self.model_config
        centroids = self.centroids if centroids is None else centroids
        matrices = self.metric_matrices if matrices is None else matrices
        eye = torch.eye(z.shape[-1], device=z.device, dtype=z.dtype)
        weights = torch.exp(-_losses.squared_distances(z, centroids) / c.temperature ** 2)
        return torch.einsum("bn,nij->bij", weights, matrices) + c.regularization * eye

    def metric_tensor(self, z: Tensor) -> Tensor:
        """The metric tensor ``G(z)`` (stored metric), ``(B, d, d)``."""
        return torch.linalg.inv(self.metric_inverse(z))

    def on_epoch_end(self, ctx: StepContext) -> None:
        """Make the last training batch's centroids and ``L L^T`` the stored metric."""
        if len(self.last_batch_centroids):
            self.centroids = self.last_batch_centroids.clone()
            self.metric_matrices = self.last_batch_matrices.clone()

    # -- generalised leapfrog ------------------------------------------------------------------
    def _metric_energy_grad(self, z: Tensor, rho: Tensor, ginv_fn, create_graph: bool) -> Tensor:
        """``grad_z [1/2 log det G(z) + 1/2 rho^T G^{-1}(z) rho]`` with ``rho`` held fixed."""
        with torch.enable_grad():
            # a fresh node: the partial derivative in z, not through rho's own dependence on earlier z
            z = z.clone() if z.requires_grad else z.detach().requires_grad_(True)
            ginv = ginv_fn(z)
            energy = -0.5 * torch.logdet(ginv) + 0.5 * (rho.unsqueeze(1) @ ginv @ rho.unsqueeze(-1)).flatten()
            return torch.autograd.grad(energy.sum(), z, create_graph=create_graph)[0]

    def riemannian_flow(self, x: Tensor, z: Tensor, rho: Tensor, ginv_fn,
                        create_graph: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``num_leapfrog_steps`` tempered generalised leapfrog steps: ``(z_K, rho_K, log p(x, z_K), logits)``."""
        c = self.model_config
        eps, sqrt_b0 = self.eps_lf, self.sqrt_beta_zero
        grad_logp, log_pxz, logits = self.grad_log_joint(x, z, create_graph)
        sqrt_beta_prev = sqrt_b0
        for k in range(1, c.num_leapfrog_steps + 1):
            rho_half = rho
            for _ in range(c.num_fixed_point_iterations):  # Eq. 5 (implicit in rho_half)
                grad_h = -grad_logp + self._metric_energy_grad(z, rho_half, ginv_fn, create_graph)
                rho_half = rho - 0.5 * eps * grad_h
            velocity = (ginv_fn(z) @ rho_half.unsqueeze(-1)).squeeze(-1)
            z_new = z
            for _ in range(c.num_fixed_point_iterations):  # Eq. 6 (implicit in z_new)
                z_new = z + 0.5 * eps * (velocity + (ginv_fn(z_new) @ rho_half.unsqueeze(-1)).squeeze(-1))
            z = z_new
            grad_logp, log_pxz, logits = self.grad_log_joint(x, z, create_graph)
            rho = rho_half - 0.5 * eps * (-grad_logp + self._metric_energy_grad(z, rho_half, ginv_fn, create_graph))
            sqrt_beta = _losses.tempering_sqrt_beta(k, c.num_leapfrog_steps, sqrt_b0)
            rho = rho * (sqrt_beta_prev / sqrt_beta)
            sqrt_beta_prev = sqrt_beta
        return z, rho, log_pxz, logits

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        x = batch_data(batch)
        mean, log_var = self.posterior(x)
        if self.training:  # the batch's metric, differentiable; kept for on_epoch_end
            L = metric_output(self.metric(x))  # the metric network: L_psi(x_i)
            centroids, matrices = mean, L @ L.transpose(-1, -2)
            self.last_batch_centroids = mean.detach().clone()
            self.last_batch_matrices = matrices.detach().clone()
        else:
            centroids, matrices = self.centroids, self.metric_matrices

        def ginv_fn(z: Tensor) -> Tensor:
            return self.metric_inverse(z, centroids, matrices)

        z0 = _losses.reparameterize(mean, log_var, ctx)
        gamma = step.randn_like(z0, ctx)
        chol0 = torch.linalg.cholesky(ginv_fn(z0))  # G^{-1} = C C^T, so C^{-T} gamma ~ N(0, G)
        v0 = torch.linalg.solve_triangular(chol0.transpose(-1, -2), gamma.unsqueeze(-1), upper=True).squeeze(-1)
        create_graph = self.training and torch.is_grad_enabled()
        z, rho, log_pxz, logits = self.riemannian_flow(x, z0, v0 / self.sqrt_beta_zero, ginv_fn, create_graph)
        recon_x, recon_loss = self.reconstruction_terms(logits, x)
        ginv_k = ginv_fn(z)
        log_rho_k = (-0.5 * (rho.unsqueeze(1) @ ginv_k @ rho.unsqueeze(-1)).flatten() + 0.5 * torch.logdet(ginv_k)
                     - 0.5 * z.shape[-1] * _losses.LOG_2PI)
        log_v0 = _losses.log_normal_standard(gamma) + chol0.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        log_q = _losses.log_normal_diag(z0, mean, log_var) + log_v0
        kl = log_q - (log_pxz + recon_loss) - log_rho_k  # log q - log p(z_K) - log N(rho_K; 0, G(z_K))
        loss = (recon_loss + kl).mean()
        return ModelOutput(loss=loss, recon_x=recon_x, z=z,
                           terms={"recon_loss": recon_loss.mean(), "kl": kl.mean()})

    # -- loading: the number of centroids is data-dependent ---------------------------------------
    def _resize_metric_buffers(self, state: dict[str, Tensor], prefix: str = "") -> None:
        for name in METRIC_BUFFERS:
            value = state.get(prefix + name)
            own = getattr(self, name)
            if isinstance(value, Tensor) and value.dim() == own.dim() and value.shape[1:] == own.shape[1:]:
                setattr(self, name, torch.zeros(value.shape, dtype=own.dtype, device=own.device))

    def load_weights(self, state: dict[str, Tensor], source: str = "checkpoint") -> None:
        self._resize_metric_buffers(state)
        super().load_weights(state, source)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # noqa: ANN001 (torch signature)
        self._resize_metric_buffers(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
