"""The importance-sampled ``log_likelihood`` (Burda et al. 2016, Eq. 8 with k samples; the NLL the reproduced
papers report) checked on a model whose marginal is known in closed form.

The linear-Gaussian model (probabilistic PCA, Tipping and Bishop 1999): ``p(z) = N(0, I_L)``,
``p(x | z) = N(W z + b, sigma^2 I_D)``, so ``p(x) = N(x; b, W W^T + sigma^2 I_D)`` exactly and the posterior is
``p(z | x) = N(S W^T (x - b) / sigma^2, S)`` with ``S = (I + W^T W / sigma^2)^-1``. With orthogonal columns of
``W`` the posterior covariance is diagonal, so the library's own MLP with no hidden layer (``hidden_dims=[]``:
one linear map each way) holds the exact posterior in its encoder and the linear decoder in its decoder.
The Gaussian decoder is ``reconstruction_loss="mse"`` with ``output_activation="identity"``, of variance the
config's ``decoder_variance`` (gaekit's default ``N(x; recon_x, I/2)`` when none is given: ``models/_losses.py``).
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from conftest import TINY_MODEL_KWARGS

from gaekit.errors import ConfigError
from gaekit.models import MODELS, VAE, create_model
from gaekit.models import _losses as losses
from gaekit.models.base import BaseAE
from gaekit.models.vae import VAEConfig

D, L = 6, 3
LOADINGS = (1.5, 1.0, 0.6)  # the norms of W's orthogonal columns
HAS_VARIANCE_FIELD = "decoder_variance" in {f.name for f in dataclasses.fields(VAEConfig)}
VARIANCES = [None, 1.0, 0.1] if HAS_VARIANCE_FIELD else [None]


def decoder_variance(model: BaseAE) -> float:
    """``sigma^2`` of the model's Gaussian decoder: the config's ``decoder_variance``, else gaekit's default."""
    variance = getattr(model.model_config, "decoder_variance", None)
    return float(variance) if variance is not None else getattr(losses, "DEFAULT_DECODER_VARIANCE", 0.5)


def _shares_the_vae_estimator(cls: type) -> bool:
    """A registered model whose ``log p(x)`` estimate is the VAE's: Gaussian posterior, standard normal prior."""
    parts = ("log_likelihood", "log_importance_weights", "log_prior", "posterior", "encode", "decode_logits",
             "activate")
    if not (issubclass(cls, VAE) and all(getattr(cls, p) is getattr(VAE, p) for p in parts)):
        return False
    try:  # a Gaussian decoder on flat data (MS-SSIM-VAE, say, needs images)
        cls.config_class(input_dim=(D,), latent_dim=L, reconstruction_loss="mse", output_activation="identity",
                         **TINY_MODEL_KWARGS.get(cls.config_class.name, {}))
    except ConfigError:
        return False
    return True


ESTIMATOR_MODELS = [name for name in MODELS.names() if _shares_the_vae_estimator(MODELS.get(name))]


def _problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``W`` (D, L) with orthogonal columns of norms ``LOADINGS``, and ``b`` (D,), in float64."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(D, L, generator=g, dtype=torch.float64))
    return q * torch.tensor(LOADINGS, dtype=torch.float64), torch.randn(D, generator=g, dtype=torch.float64)


def exact_log_marginal(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, variance: float) -> torch.Tensor:
    """``log N(x; b, W W^T + sigma^2 I)`` per row, in float64."""
    cov = w @ w.T + variance * torch.eye(D, dtype=torch.float64)
    return torch.distributions.MultivariateNormal(b, covariance_matrix=cov).log_prob(x.double())


def exact_posterior(w: torch.Tensor, b: torch.Tensor, variance: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A, S)``: ``p(z | x) = N(A (x - b), diag(S))`` (diagonal since ``W^T W`` is)."""
    s = 1.0 / (1.0 + (w * w).sum(0) / variance)
    return s[:, None] * w.T / variance, s


def linear_gaussian(name: str, variance: float | None, mean_shift: float = 0.0, variance_ratio: float = 1.0,
                    seed: int = 0) -> tuple[BaseAE, torch.Tensor, torch.Tensor]:
    """The model ``name`` set to the linear-Gaussian model; its encoder is the exact posterior with its mean
    moved by ``mean_shift`` posterior standard deviations and its variances scaled by ``variance_ratio``."""
    fields = {} if variance is None else {"decoder_variance": variance}
    model = create_model(name, input_dim=(D,), latent_dim=L, reconstruction_loss="mse",
                         output_activation="identity", network="mlp", network_options={"hidden_dims": []},
                         **TINY_MODEL_KWARGS.get(name, {}), **fields)
    w, b = _problem(seed)
    a, s = exact_posterior(w, b, decoder_variance(model))
    head, out = model.encoder.head, model.decoder.out
    with torch.no_grad():
        out.weight.copy_(w)
        out.bias.copy_(b)
        head.weight.copy_(torch.cat([a, torch.zeros(L, D, dtype=torch.float64)]))
        head.bias.copy_(torch.cat([-a @ b + mean_shift * s.sqrt(), torch.log(variance_ratio * s)]))
    return model, w, b


def _data(w: torch.Tensor, b: torch.Tensor, variance: float, n: int, seed: int = 1) -> torch.Tensor:
    """``n`` draws of the model's marginal, as float32."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, L, generator=g, dtype=torch.float64)
    return (z @ w.T + b + math.sqrt(variance) * torch.randn(n, D, generator=g, dtype=torch.float64)).float()


def test_the_estimator_models_are_found():
    assert "VAE" in ESTIMATOR_MODELS and "IWAE" in ESTIMATOR_MODELS


@pytest.mark.parametrize("variance", VARIANCES)
@pytest.mark.parametrize("name", ESTIMATOR_MODELS)
def test_with_the_exact_posterior_every_weight_is_the_marginal(name, variance):
    """``q = p(z | x)`` makes every importance weight ``p(x, z) / q(z | x)`` equal ``p(x)``: the estimate is exact
    whatever the draws, so its variance is 0 and it equals the closed form (which pins the decoder's constant)."""
    model, w, b = linear_gaussian(name, variance)
    sigma2 = decoder_variance(model)
    x = _data(w, b, sigma2, 8)
    exact = exact_log_marginal(x, w, b, sigma2)
    estimates = torch.stack([model.log_likelihood(x, num_importance_samples=20, chunk_size=7,
                                                  generator=torch.Generator().manual_seed(s)) for s in range(3)])
    torch.testing.assert_close(estimates.double(), exact.expand(3, -1), atol=2e-4, rtol=0)
    assert estimates.std(0).max() < 1e-4
    one_draw = model.log_likelihood(x, num_importance_samples=1, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(one_draw.double(), exact, atol=2e-4, rtol=0)  # even a single draw


def _ratio_draws(model: BaseAE, x0: torch.Tensor, n: int, k: int, seed: int) -> torch.Tensor:
    """``n`` independent ``K``-sample estimates of ``log p(x0)`` (one batch of ``n`` copies of ``x0``)."""
    return model.log_likelihood(x0.expand(n, D), num_importance_samples=k, chunk_size=k,
                                generator=torch.Generator().manual_seed(seed)).double()


@pytest.mark.parametrize("variance", VARIANCES)
def test_with_a_close_posterior_the_estimate_is_within_its_monte_carlo_error(variance):
    """A proposal off the posterior (mean moved by half a standard deviation, variances 1.5x): the weights now
    vary, and (i) ``p_hat(x) / p(x)`` averages to 1 (the K-sample estimator of ``p(x)`` is unbiased, Burda et al.
    2016, Sec. 3) and (ii) the log-estimate is within 4 standard errors of ``log p(x)``."""
    model, w, b = linear_gaussian("VAE", variance, mean_shift=0.5, variance_ratio=1.5)
    sigma2 = decoder_variance(model)
    for i, x0 in enumerate(_data(w, b, sigma2, 3, seed=2)):
        exact = exact_log_marginal(x0[None], w, b, sigma2)[0]
        ratio = torch.exp(_ratio_draws(model, x0, 4000, 1, seed=i) - exact)  # single-draw weights / p(x)
        assert ratio.std() > 0.05  # the proposal really is off the posterior
        assert abs(ratio.mean() - 1) < 4 * ratio.std() / math.sqrt(ratio.numel())
        logs = _ratio_draws(model, x0, 400, 200, seed=10 + i)
        assert abs(logs.mean() - exact) < 4 * logs.std() / math.sqrt(logs.numel())


def test_a_single_draw_averages_to_the_closed_form_elbo():
    """With one draw the log-weight averages to the ELBO, ``log p(x) - KL(q(z | x) || p(z | x))``; for a Gaussian
    ``q = N(m + delta sqrt(S), r S)``: ``KL = 1/2 sum(r - 1 - log r + delta^2)``."""
    shift, ratio = 0.5, 1.5
    model, w, b = linear_gaussian("VAE", None, mean_shift=shift, variance_ratio=ratio)
    sigma2 = decoder_variance(model)
    x0 = _data(w, b, sigma2, 1, seed=3)[0]
    elbo = exact_log_marginal(x0[None], w, b, sigma2)[0] - 0.5 * L * (ratio - 1 - math.log(ratio) + shift**2)
    draws = _ratio_draws(model, x0, 4000, 1, seed=4)
    assert abs(draws.mean() - elbo) < 4 * draws.std() / math.sqrt(draws.numel())


def test_more_samples_tighten_the_bound():
    """The K-sample bound increases with K towards ``log p(x)`` (Burda et al. 2016, Thm. 1): compared on means
    over many independent estimates, each mean within a few standard errors below ``log p(x)``."""
    model, w, b = linear_gaussian("VAE", None, mean_shift=1.0, variance_ratio=2.0)
    sigma2 = decoder_variance(model)
    x0 = _data(w, b, sigma2, 1, seed=5)[0]
    exact = exact_log_marginal(x0[None], w, b, sigma2)[0]
    gaps = [exact - _ratio_draws(model, x0, 500, k, seed=k).mean() for k in (1, 10, 100)]
    assert gaps[0] > gaps[1] > gaps[2] > -0.01
