"""The VAE's maths: closed-form KL, ELBO terms, and the importance-sampled likelihood."""

from __future__ import annotations

import math

import torch
from torch import nn

from gaekit.models import VAE, BetaVAE, BetaVAEConfig, VAEConfig, _losses
from gaekit.nn import EncoderOutput


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(_losses.gaussian_kl(mean, log_var), expected)


def test_log_normal_densities_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mean, log_var = (torch.randn(6, 3, generator=g) for _ in range(3))
    expected = torch.distributions.Normal(mean, torch.exp(0.5 * log_var)).log_prob(z).sum(-1)
    torch.testing.assert_close(_losses.log_normal_diag(z, mean, log_var), expected)
    torch.testing.assert_close(_losses.log_normal_standard(z),
                               torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_bce_from_logits_equals_bce_of_sigmoid():
    g = torch.Generator().manual_seed(2)
    logits, x = torch.randn(4, 10, generator=g), torch.rand(4, 10, generator=g)
    expected = nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none").sum(1)
    torch.testing.assert_close(_losses.reconstruction_loss(logits, x, "bce"), expected)


def test_vae_loss_is_reconstruction_plus_kl_averaged_over_batch():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(6,), latent_dim=2, reconstruction_loss="bce"))
    x = torch.rand(5, 6)
    torch.manual_seed(1)
    out = model(x)
    torch.testing.assert_close(out.loss, out.recon_loss + out.kl)
    mean, log_var = model.posterior(x)
    torch.testing.assert_close(out.kl, _losses.gaussian_kl(mean, log_var).mean())


def test_beta_vae_weights_the_kl():
    x = torch.rand(5, 6)
    losses = {}
    for beta in (0.0, 1.0, 4.0):
        torch.manual_seed(0)
        model = BetaVAE(BetaVAEConfig(input_dim=(6,), latent_dim=2, beta=beta))
        torch.manual_seed(1)
        losses[beta] = model(x)
    torch.testing.assert_close(losses[0.0].loss, losses[0.0].recon_loss)
    torch.testing.assert_close(losses[4.0].loss, losses[4.0].recon_loss + 4 * losses[4.0].kl)


class _LinearDecoder(nn.Module):
    def __init__(self, weight, bias):
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, z):
        return z @ self.weight.T + self.bias


class _ExactPosteriorEncoder(nn.Module):
    """The exact posterior of the linear Gaussian model p(z)=N(0,I), p(x|z)=N(Wz+b, I/2)."""

    def __init__(self, weight, bias):
        super().__init__()
        precision = torch.eye(weight.shape[1]) + 2 * weight.T @ weight
        self.cov = torch.linalg.inv(precision)
        self.weight, self.bias = weight, bias

    def forward(self, x):
        mean = (x - self.bias) @ (2 * self.weight @ self.cov)
        # a diagonal-Gaussian encoder is exact only if the posterior covariance is diagonal
        return EncoderOutput(mean, torch.log(torch.diagonal(self.cov)).expand_as(mean))


def _linear_gaussian(weight_scale_seed=0):
    g = torch.Generator().manual_seed(weight_scale_seed)
    q, _ = torch.linalg.qr(torch.randn(4, 2, generator=g))  # orthonormal columns: diagonal posterior cov
    weight = q * torch.tensor([1.5, 0.7])
    bias = torch.randn(4, generator=g) * 0.1
    return weight, bias


def _exact_log_px(x, weight, bias):
    cov = weight @ weight.T + 0.5 * torch.eye(4)
    return torch.distributions.MultivariateNormal(bias, cov).log_prob(x)


def test_importance_sampled_likelihood_is_exact_with_the_true_posterior():
    weight, bias = _linear_gaussian()
    model = VAE(VAEConfig(input_dim=(4,), latent_dim=2, reconstruction_loss="mse", output_activation="identity"),
                encoder=_ExactPosteriorEncoder(weight, bias), decoder=_LinearDecoder(weight, bias))
    x = torch.randn(7, 4)
    estimate = model.log_likelihood(x, num_importance_samples=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(estimate, _exact_log_px(x, weight, bias), rtol=1e-4, atol=1e-4)


def test_importance_sampled_likelihood_converges_and_bounds_the_elbo():
    weight, bias = _linear_gaussian()
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(4,), latent_dim=2, reconstruction_loss="mse", output_activation="identity"),
                decoder=_LinearDecoder(weight, bias))
    x = torch.randn(5, 4)
    exact = _exact_log_px(x, weight, bias)
    one = model.log_likelihood(x, 1, generator=torch.Generator().manual_seed(1))
    many = model.log_likelihood(x, 20000, chunk_size=5000, generator=torch.Generator().manual_seed(1))
    assert (many - exact).abs().max() < 0.05
    # more samples give a tighter (higher, on average) bound than the 1-sample ELBO estimate
    elbo = torch.stack([model.log_likelihood(x, 1, generator=torch.Generator().manual_seed(s))
                        for s in range(200)]).mean(0)
    assert (many >= elbo).all() and (elbo <= exact + 1e-3).all()
    assert one.shape == (5,)


def test_mse_decoder_likelihood_is_normalised():
    """exp(log p(x|z)) of the MSE decoder integrates to 1 over x (checked on a 1-D grid)."""
    grid = torch.linspace(-6, 6, 20001).unsqueeze(1)
    mean = torch.full_like(grid, 0.3)
    log_p = _losses.decoder_log_likelihood(mean, grid, "mse", recon_x=mean)
    integral = torch.trapezoid(log_p.exp(), grid.squeeze(1))
    assert math.isclose(float(integral), 1.0, rel_tol=1e-4)


def test_beta_vae_with_beta_one_is_the_vae():
    x = torch.rand(5, 6)
    losses = []
    for model_cls, config in ((VAE, VAEConfig(input_dim=(6,), latent_dim=2)),
                              (BetaVAE, BetaVAEConfig(input_dim=(6,), latent_dim=2, beta=1.0))):
        torch.manual_seed(0)
        model = model_cls(config)
        torch.manual_seed(1)
        losses.append(model(x).loss)
    assert torch.equal(losses[0], losses[1])
