"""Gaussian mixture sampler: a GMM fitted on the training embeddings, sampled, then decoded.

This is the "GMM" sampler of the Pythae paper's generation benchmark (Chadebec et al. 2022,
arXiv:2206.08309, Section 4.3; following Ghosh et al. 2020, "From Variational to Deterministic
Autoencoders", arXiv:1903.12436, Section 4): a ``K``-component mixture
``p(z) = sum_k pi_k N(z; mu_k, Sigma_k)`` is fitted by EM (scikit-learn's ``GaussianMixture``)
to the embeddings of the training data, and new codes are drawn from it.

After fitting, the mixture is held as tensors -- weights ``pi``, means ``mu`` and the lower
Cholesky factor ``L_k`` of every component's covariance (``Sigma_k = L_k L_k^T``, built for
every covariance type) -- and sampled in torch: a component ``k ~ Cat(pi)``, then
``z = mu_k + L_k eps`` with ``eps ~ N(0, I)``. Sampling and loading need neither
scikit-learn nor a pickle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from gaekit.errors import CheckpointError, DataError
from gaekit.samplers.base import SAMPLERS, BaseSampler, BaseSamplerConfig, embed_dataset


@dataclass
class GaussianMixtureSamplerConfig(BaseSamplerConfig):
    """Config of ``GaussianMixtureSampler``; every field is passed to scikit-learn's ``GaussianMixture``
    (``num_components`` as ``n_components``, ``num_init`` as ``n_init``, Pythae's names, kept as aliases).

    Parameters
    ----------
    num_components : int, default 10
        Number of mixture components (the paper uses 10).
    covariance_type : {"full", "diag", "tied", "spherical"}, default "full"
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance (>= 0).
    max_iter : int, default 100
        EM iterations per initialisation.
    num_init : int, default 1
        Number of initialisations; the best is kept.
    random_state : int, default 0
        Seed of the EM initialisation (0 <= random_state < 2**32).
    """

    name: ClassVar[str] = "GaussianMixtureSampler"
    aliases: ClassVar[dict[str, str]] = {"n_components": "num_components", "n_init": "num_init"}
    num_components: int = 10
    covariance_type: Literal["full", "diag", "tied", "spherical"] = "full"
    reg_covar: float = 1e-6
    max_iter: int = 100
    num_init: int = 1
    random_state: int = 0

    def _check(self) -> None:
        super()._check()
        self._require("num_components", self.num_components >= 1, "an int >= 1")
        self._require("reg_covar", math.isfinite(self.reg_covar) and self.reg_covar >= 0,
                      "a finite float >= 0")
        self._require("max_iter", self.max_iter >= 1, "an int >= 1")
        self._require("num_init", self.num_init >= 1, "an int >= 1")
        self._require("random_state", 0 <= self.random_state < 2**32, "an int in [0, 2**32)")


def _full_covariances(covariances: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """scikit-learn's ``covariances_`` of any covariance type as ``(k, d, d)`` matrices."""
    cov = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return cov.reshape(k, d, d)
    if covariance_type == "tied":
        return np.broadcast_to(cov.reshape(1, d, d), (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in cov.reshape(k, d)])
    return cov.reshape(k, 1, 1) * np.eye(d)[None]  # spherical


@SAMPLERS.register()
class GaussianMixtureSampler(BaseSampler):
    """Fit a Gaussian mixture to the training embeddings and decode codes drawn from it.

    Parameters
    ----------
    model : BaseAE
    sampler_config : GaussianMixtureSamplerConfig, optional

    Attributes
    ----------
    weights : Tensor
        ``(K,)`` mixture weights (float64, CPU), after fitting.
    means : Tensor
        ``(K, latent_dim)`` component means.
    scale_tril : Tensor
        ``(K, latent_dim, latent_dim)`` lower Cholesky factors of the covariances.
    mixture : sklearn.mixture.GaussianMixture or None
        The fitted scikit-learn estimator, for inspection (not saved; ``None`` after loading).

    Examples
    --------
    >>> config = GaussianMixtureSamplerConfig(num_components=10)
    >>> sampler = GaussianMixtureSampler(model, config)  # doctest: +SKIP
    >>> sampler.fit(train_data).sample(100, seed=0).shape  # doctest: +SKIP
    """

    config_class = GaussianMixtureSamplerConfig
    needs_fit = True

    def __init__(self, model, sampler_config: GaussianMixtureSamplerConfig | None = None):
        super().__init__(model, sampler_config)
        self.weights: Tensor | None = None
        self.means: Tensor | None = None
        self.scale_tril: Tensor | None = None
        self.mixture: Any = None

    # -- fit -----------------------------------------------------------------------------
    def _fit(self, train_data: Any, eval_data: Any, batch_size: int) -> None:
        z = embed_dataset(self.model, train_data, batch_size, name="train_data")
        if eval_data is not None:
            z = torch.cat([z, embed_dataset(self.model, eval_data, batch_size, name="eval_data")])
        self.fit_embeddings(z)

    def fit_embeddings(self, z: Tensor | np.ndarray) -> GaussianMixtureSampler:
        """Fit the mixture directly on latent codes ``z`` of shape ``(N, latent_dim)``.

        Raises
        ------
        DataError
            Fewer codes than ``num_components``, wrong width, non-finite codes, or a failed EM fit.
        """
        from sklearn.mixture import GaussianMixture

        c = self.sampler_config
        z = torch.as_tensor(z).detach().to("cpu", torch.float64)
        d = self.code_dim
        if z.dim() != 2 or z.shape[1] != d:
            raise DataError(f"latent codes must have shape (N, {d}); got {tuple(z.shape)}")
        if z.shape[0] < c.num_components:
            raise DataError(
                f"GaussianMixtureSampler needs at least num_components={c.num_components} samples to fit; "
                f"got {z.shape[0]} — pass more data or lower num_components"
            )
        if not bool(torch.isfinite(z).all()):
            raise DataError("the model's embeddings of the data contain NaN or inf values; cannot fit a GMM")
        gmm = GaussianMixture(
            n_components=c.num_components, covariance_type=c.covariance_type, reg_covar=c.reg_covar,
            max_iter=c.max_iter, n_init=c.num_init, random_state=c.random_state,
        )
        try:
            gmm.fit(z.numpy())
        except ValueError as err:
            raise DataError(
                f"fitting the Gaussian mixture failed ({err}); try a larger reg_covar or fewer num_components"
            ) from None
        k = c.num_components
        cov = torch.from_numpy(_full_covariances(gmm.covariances_, c.covariance_type, k, d))
        scale_tril, info = torch.linalg.cholesky_ex(cov)
        if bool((info != 0).any()):
            raise DataError("a fitted covariance is not positive definite; try a larger reg_covar")
        self.weights = torch.from_numpy(np.asarray(gmm.weights_, dtype=np.float64)).clone()
        self.means = torch.from_numpy(np.asarray(gmm.means_, dtype=np.float64)).clone()
        self.scale_tril = scale_tril.contiguous()
        self.mixture = gmm
        self._fitted = True
        return self

    # -- mixture maths ---------------------------------------------------------------------
    @property
    def covariances(self) -> Tensor:
        """``(K, latent_dim, latent_dim)`` component covariances ``L_k L_k^T``."""
        self._require_fitted("reading its covariances")
        return self.scale_tril @ self.scale_tril.transpose(-1, -2)

    def log_prob(self, z: Tensor) -> Tensor:
        """Log-density of the mixture at ``z`` (``(N, latent_dim)``), computed in float64: ``(N,)``.

        ``log p(z) = logsumexp_k [log pi_k + log N(z; mu_k, L_k L_k^T)]`` with
        ``log N = -(d log(2 pi) + 2 sum_i log L_k,ii + |L_k^{-1}(z - mu_k)|^2) / 2``.
        """
        self._require_fitted("computing log_prob")
        z = torch.as_tensor(z)
        out_dtype = z.dtype if z.is_floating_point() else torch.float64
        device = z.device
        z = z.detach().to("cpu", torch.float64)
        d = self.means.shape[1]
        if z.dim() != 2 or z.shape[1] != d:
            raise DataError(f"log_prob expects codes of shape (N, {d}); got {tuple(z.shape)}")
        diff = z.T.unsqueeze(0) - self.means.unsqueeze(-1)  # (K, d, N)
        white = torch.linalg.solve_triangular(self.scale_tril, diff, upper=False)  # (K, d, N)
        maha = white.square().sum(dim=1)  # (K, N)
        log_det = 2 * torch.log(torch.diagonal(self.scale_tril, dim1=-2, dim2=-1)).sum(-1)  # (K,)
        log_norm = -0.5 * (d * math.log(2 * math.pi) + log_det.unsqueeze(-1) + maha)
        out = torch.logsumexp(torch.log(self.weights).unsqueeze(-1) + log_norm, dim=0)
        return out.to(device, out_dtype)

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        comp = torch.multinomial(self.weights, num_samples, replacement=True, generator=generator)
        eps = torch.randn(num_samples, self.means.shape[1], generator=generator, dtype=torch.float64)
        z = torch.empty_like(eps)
        for k in torch.unique(comp).tolist():
            rows = comp == k
            z[rows] = self.means[k] + eps[rows] @ self.scale_tril[k].T
        return z.to(torch.float32)

    # -- save / load -----------------------------------------------------------------------
    def _state_tensors(self) -> dict[str, Tensor]:
        return {"weights": self.weights, "means": self.means, "scale_tril": self.scale_tril}

    def _load_state(self, state: dict[str, Tensor], source: str) -> None:
        k, d = self.sampler_config.num_components, self.code_dim
        self._check_state(state, {"weights": (k,), "means": (k, d), "scale_tril": (k, d, d)}, source)
        weights, tril = state["weights"].to(torch.float64), state["scale_tril"].to(torch.float64)
        if bool((weights < 0).any()) or abs(float(weights.sum()) - 1) > 1e-6 or not bool(
                (torch.diagonal(tril, dim1=-2, dim2=-1) > 0).all()):
            raise CheckpointError(f"{source} does not hold a valid Gaussian mixture (weights or covariances)")
        self.weights = weights
        self.means = state["means"].to(torch.float64)
        self.scale_tril = torch.tril(tril)
        self.mixture = None
