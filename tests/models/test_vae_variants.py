"""VAE-objective variants: DisentangledBetaVAE (capacity annealing), BetaTCVAE (KL decomposition with
minibatch estimators) and MSSSIM_VAE (MS-SSIM reconstruction loss)."""

from __future__ import annotations

import math

import pytest
import torch
from pytorch_msssim import ms_ssim as package_ms_ssim

from gaekit.errors import ConfigError
from gaekit.models import (
    MSSSIM_VAE,
    VAE,
    BetaTCVAE,
    BetaTCVAEConfig,
    BetaVAE,
    BetaVAEConfig,
    DisentangledBetaVAE,
    DisentangledBetaVAEConfig,
    MSSSIM_VAEConfig,
    StepContext,
    VAEConfig,
    _losses,
)
from gaekit.models.msssim_vae import ms_ssim, msssim_scales


def _batch(shape=(8, 1, 8, 8), seed=1):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _build(cls, config_cls, seed=0, **kwargs):
    torch.manual_seed(seed)
    return cls(config_cls(**{"input_dim": (1, 8, 8), "latent_dim": 3, **kwargs}))


def _forward(model, x, ctx=None, noise_seed=7):
    torch.manual_seed(noise_seed)
    return model(x, ctx)


# -- DisentangledBetaVAE ----------------------------------------------------------------------------

def test_capacity_rises_linearly_to_C_over_the_warmup():
    model = _build(DisentangledBetaVAE, DisentangledBetaVAEConfig, C=30.0, warmup_epoch=10)
    values = [model.capacity(StepContext(epoch=e)) for e in range(15)]
    assert values[0] == 0.0
    for e in range(11):
        assert math.isclose(values[e], 3.0 * e)
    assert values[10:] == [30.0] * 5
    assert model.capacity(None) == 30.0  # outside the trainer: warm-up over
    no_warmup = _build(DisentangledBetaVAE, DisentangledBetaVAEConfig, C=30.0, warmup_epoch=0)
    assert no_warmup.capacity(StepContext(epoch=0)) == 30.0


def test_capacity_rises_per_step_with_warmup_steps():
    """Burgess et al.'s per-iteration schedule (Locatello et al.'s iteration threshold): the epoch is ignored."""
    model = _build(DisentangledBetaVAE, DisentangledBetaVAEConfig, C=30.0, warmup_epoch=10, warmup_steps=300)
    for step, epoch in ((0, 5), (1, 0), (150, 0), (299, 9), (300, 0), (10_000, 2)):
        assert math.isclose(model.capacity(StepContext(epoch=epoch, global_step=step)), 30.0 * min(step / 300, 1))
    assert model.capacity(None) == 30.0
    with pytest.raises(ConfigError, match="warmup_steps"):
        DisentangledBetaVAEConfig(input_dim=(4,), latent_dim=2, warmup_steps=0)


def test_disentangled_loss_is_rec_plus_beta_times_the_capacity_gap():
    x = _batch()
    probe = _build(DisentangledBetaVAE, DisentangledBetaVAEConfig)
    mean, log_var = probe.posterior(x)
    kl = _losses.gaussian_kl(mean, log_var).detach()
    target = float(kl.median())  # some samples above the capacity, some below: the sign matters
    model = _build(DisentangledBetaVAE, DisentangledBetaVAEConfig, beta=3.0, C=2 * target, warmup_epoch=4)
    ctx = StepContext(epoch=2)
    assert math.isclose(model.capacity(ctx), target)
    out = _forward(model, x, ctx)
    torch.manual_seed(7)
    z = _losses.reparameterize(mean, log_var)
    _, rec = model.reconstruction_terms(model.decode_logits(z), x)
    expected = (rec + 3.0 * (kl - target).abs()).mean()
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(out.recon_loss, rec.mean())
    torch.testing.assert_close(out.kl, kl.mean())
    assert math.isclose(float(out.capacity), target, rel_tol=1e-6)
    assert (kl > target).any() and (kl < target).any()


def test_disentangled_with_zero_capacity_is_beta_vae():
    x = _batch()
    ctx = StepContext(epoch=3)
    ours = _forward(_build(DisentangledBetaVAE, DisentangledBetaVAEConfig, beta=4.0, C=0.0), x, ctx)
    theirs = _forward(_build(BetaVAE, BetaVAEConfig, beta=4.0), x, ctx)
    torch.testing.assert_close(ours.loss, theirs.loss)


def test_disentangled_config_refuses_bad_values():
    with pytest.raises(ConfigError, match="warmup_epoch"):
        DisentangledBetaVAEConfig(input_dim=(4,), warmup_epoch=-1)
    with pytest.raises(ConfigError, match="C=-1.0"):
        DisentangledBetaVAEConfig(input_dim=(4,), C=-1.0)


# -- BetaTCVAE ------------------------------------------------------------------------------------

def test_pairwise_log_density_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    z, mean, log_var = (torch.randn(5, 3, generator=g) for _ in range(3))
    pairs = _losses.log_normal_diag_pairwise(z, mean, log_var)
    assert pairs.shape == (5, 5, 3)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))  # batch (5, 3): posterior j
    for i in range(5):
        torch.testing.assert_close(pairs[i], q.log_prob(z[i]))


@pytest.mark.parametrize("stratified", [True, False])
def test_minibatch_weights_estimate_the_aggregate_posterior(stratified):
    """sum_j exp(W_ij) q(z|x_j) over random batches holding x_i: unbiased for q(z) (MSS) or not (MWS)."""
    g = torch.Generator().manual_seed(0)
    n, m, i = 9, 4, 0
    dens = torch.rand(n, generator=g) + 0.1  # q(z | x_n) at a fixed code z
    exact = dens.mean()  # q(z) = 1/N sum_n q(z | x_n)
    log_w = _losses.minibatch_log_weights(m, n, stratified)
    assert log_w.shape == (m, m)
    draws = 20_000
    others = torch.stack([torch.randperm(n - 1, generator=g)[: m - 1] + 1 for _ in range(draws)])
    batches = torch.cat([torch.full((draws, 1), i), others], dim=1)  # i is in every batch
    order = torch.argsort(torch.rand(draws, m, generator=g), dim=1)  # ...at a random position
    batches = torch.gather(batches, 1, order)
    position = (batches == i).float().argmax(1)
    estimates = (log_w.exp()[position] * dens[batches]).sum(1)
    if stratified:
        torch.testing.assert_close(log_w.exp().sum(1), torch.ones(m))
        assert abs(float(estimates.mean()) - float(exact)) < 4 * float(estimates.std()) / math.sqrt(draws)
    else:  # the paper's weighted sampling: 1/(NM) on every element, biased low
        torch.testing.assert_close(log_w, torch.full((m, m), -math.log(n * m)))
        assert float(estimates.mean()) < float(exact)
    with pytest.raises(ValueError, match="dataset_size"):
        _losses.minibatch_log_weights(5, 4, stratified)


@pytest.mark.parametrize("use_mss", [True, False])
def test_tc_decomposition_sums_to_the_monte_carlo_kl(use_mss):
    model = _build(BetaTCVAE, BetaTCVAEConfig, use_mss=use_mss)
    x = _batch((16, 1, 8, 8))
    mean, log_var = model.posterior(x)
    z = _losses.reparameterize(mean, log_var, StepContext(generator=torch.Generator().manual_seed(0)))
    mi, tc, dim_kl = model.kl_decomposition(z, mean, log_var, dataset_size=1000)
    mc_kl = _losses.log_normal_diag(z, mean, log_var) - _losses.log_normal_standard(z)
    torch.testing.assert_close(mi + tc + dim_kl, mc_kl)
    assert all(t.shape == (16,) and torch.isfinite(t).all() for t in (mi, tc, dim_kl))
    # the own posterior weighs 1/N (MSS) or 1/(NM) (MWS) in the estimate of q(z_i): MI <= log N or log NM
    assert (mi <= math.log(1000 if use_mss else 1000 * 16) + 1e-4).all()


@pytest.mark.parametrize("use_mss", [True, False])
def test_unit_weights_estimate_the_vae_objective(use_mss):
    x = _batch()
    tc_vae = _build(BetaTCVAE, BetaTCVAEConfig, use_mss=use_mss)
    vae = _build(VAE, VAEConfig)
    ctx = StepContext(dataset_size=500)
    diffs = []
    for seed in range(100):
        out = _forward(tc_vae, x, ctx, noise_seed=seed)
        ref = _forward(vae, x, ctx, noise_seed=seed)  # same weights, same noise: same z
        # exactly the VAE loss with the KL estimated by log q(z|x) - log p(z) at that z ...
        mean, log_var = vae.posterior(x)
        torch.manual_seed(seed)
        z = _losses.reparameterize(mean, log_var)
        mc_kl = _losses.log_normal_diag(z, mean, log_var) - _losses.log_normal_standard(z)
        torch.testing.assert_close(out.loss, ref.recon_loss + mc_kl.mean())
        diffs.append(float(out.loss.detach() - ref.loss.detach()))
    # ... so, averaged over the noise, the closed-form VAE loss within Monte-Carlo error
    diffs = torch.tensor(diffs)
    assert abs(float(diffs.mean())) < 4 * float(diffs.std()) / math.sqrt(len(diffs))


def test_estimator_and_dataset_size_change_the_terms_not_the_unit_weight_loss():
    x = _batch()
    mss, mws = (_build(BetaTCVAE, BetaTCVAEConfig, use_mss=flag) for flag in (True, False))
    ctx = StepContext(dataset_size=1000)
    a, b = _forward(mss, x, ctx), _forward(mws, x, ctx)
    torch.testing.assert_close(a.loss, b.loss)  # alpha = beta = gamma = 1: only the sum counts
    assert not torch.isclose(a.mutual_info, b.mutual_info) and not torch.isclose(a.total_correlation,
                                                                                 b.total_correlation)
    for model in (mss, mws):
        big, none = _forward(model, x, ctx), _forward(model, x, None)
        assert not torch.isclose(big.mutual_info, none.mutual_info)  # N is taken from the context
        # no context or an unknown size (0) or a size below the batch: N = batch size
        for fallback in (StepContext(dataset_size=len(x)), StepContext(dataset_size=0), StepContext(dataset_size=3)):
            torch.testing.assert_close(_forward(model, x, fallback).mutual_info, none.mutual_info)
    weighted = _build(BetaTCVAE, BetaTCVAEConfig, beta=6.0)
    assert not torch.isclose(_forward(weighted, x, ctx).loss, a.loss)


@pytest.mark.parametrize("use_mss", [True, False])
@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_tc_terms_are_finite_and_differentiable(use_mss, batch_size):
    model = _build(BetaTCVAE, BetaTCVAEConfig, use_mss=use_mss, alpha=0.5, beta=6.0, gamma=2.0)
    out = _forward(model, _batch((batch_size, 1, 8, 8)), StepContext(dataset_size=100))
    assert set(out.terms) == {"recon_loss", "mutual_info", "total_correlation", "dimension_wise_kl", "kl"}
    assert all(torch.isfinite(v) for v in out.terms.values())
    torch.testing.assert_close(out.loss, out.recon_loss + 0.5 * out.mutual_info + 6.0 * out.total_correlation
                               + 2.0 * out.dimension_wise_kl)
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


# -- MSSSIM_VAE ------------------------------------------------------------------------------------

def test_msssim_scales_fit_the_image():
    assert [msssim_scales(28, 28, w) for w in (3, 5, 11, 15)] == [(3, 4), (5, 3), (11, 2), (15, 1)]
    assert [msssim_scales(8, 8, w) for w in (3, 5, 11)] == [(3, 2), (5, 1), (7, 1)]
    assert msssim_scales(256, 256, 11) == (11, 5)


def test_ms_ssim_matches_pytorch_msssim_on_large_images():
    x = _batch((2, 3, 176, 176), seed=3)
    y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    expected = package_ms_ssim(x, y, data_range=1.0, size_average=False, win_size=11)
    torch.testing.assert_close(ms_ssim(x, y, 11), expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 1, 8, 8), (4, 3, 28, 28), (4, 3, 8, 8), (4, 28, 28)])
@pytest.mark.parametrize("window_size", [3, 5, 11, 15])
def test_msssim_loss_is_zero_for_identical_images_and_grows_with_noise(shape, window_size):
    x = _batch(shape, seed=5)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(1 - ms_ssim(x, x.clone(), window_size), torch.zeros(4), atol=1e-5, rtol=0)
    losses = [float((1 - ms_ssim((x + s * noise).clamp(0, 1), x, window_size)).mean())
              for s in (0.02, 0.05, 0.1, 0.2, 0.4)]
    assert all(0 < a < b <= 1 for a, b in zip(losses, losses[1:]))


@pytest.mark.parametrize("input_dim", [(1, 28, 28), (1, 8, 8), (3, 8, 8), (3, 16, 12)])
def test_msssim_vae_loss_and_gradients(input_dim):
    torch.manual_seed(0)
    model = MSSSIM_VAE(MSSSIM_VAEConfig(input_dim=input_dim, latent_dim=3, beta=0.1, window_size=5))
    x = _batch((6, *input_dim), seed=2)
    out = _forward(model, x)
    assert out.recon_x.shape == x.shape
    torch.testing.assert_close(out.loss, out.recon_loss + 0.1 * out.kl)
    assert 0 <= float(out.recon_loss.detach()) <= 1
    out.loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in model.decoder.parameters())


def test_ms_ssim_gradient_is_finite_for_anticorrelated_images():
    x = _batch((3, 1, 28, 28), seed=8)
    y = (1 - x).requires_grad_()
    ms_ssim(y, x, 3).sum().backward()
    assert torch.isfinite(y.grad).all()


def test_msssim_config_refuses_bad_values():
    with pytest.raises(ConfigError, match="window_size=4"):
        MSSSIM_VAEConfig(input_dim=(1, 8, 8), window_size=4)
    with pytest.raises(ConfigError, match="input_dim"):
        MSSSIM_VAEConfig(input_dim=(64,))
