"""Maths of DIPVAE (DIP-VAE-I and -II) and SWAE: the DIP covariance penalty against a direct computation, the
sliced-Wasserstein estimate against closed forms, the models' loss decompositions and their seeded noise."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from conftest import tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gaekit.errors import ConfigError
from gaekit.models import DIPVAEConfig, StepContext, SWAEConfig, _losses


def _batch(n=8, seed=1):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def _ctx(seed: int, **kwargs) -> StepContext:
    return StepContext(generator=torch.Generator().manual_seed(seed), **kwargs)


def _whitened_normal(n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """``n`` standard normal draws moved to a sample mean of exactly 0 and a sample covariance of exactly I, so
    that every projection has exactly the mean and variance of the Gaussian it samples."""
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    x = x - x.mean(0)
    return x @ torch.linalg.inv(torch.linalg.cholesky(x.T @ x / n)).T


# -- the DIP covariance penalty ---------------------------------------------------------------------------------

def _direct_penalty(mean: np.ndarray, log_var: np.ndarray | None) -> tuple[float, float]:
    """The two sums of Kumar et al. (2018, Sec. 3) written out with numpy's covariance and plain loops."""
    d = mean.shape[1]
    cov = np.cov(mean, rowvar=False, bias=True).reshape(d, d)  # the batch's (biased) Cov[mu]
    if log_var is not None:
        cov = cov + np.diag(np.exp(log_var).mean(axis=0))  # + E[Sigma], Sigma diagonal
    off = sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    diag = sum((cov[i, i] - 1.0) ** 2 for i in range(d))
    return off, diag


@pytest.mark.parametrize("variant", ["i", "ii"])
def test_dip_penalty_matches_the_direct_computation(variant):
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(32, 5, generator=g, dtype=torch.float64) @ torch.randn(5, 5, generator=g, dtype=torch.float64)
    log_var = torch.randn(32, 5, generator=g, dtype=torch.float64)
    lv = log_var if variant == "ii" else None
    off, diag = _losses.dip_covariance_penalty(mean, lv)
    ref_off, ref_diag = _direct_penalty(mean.numpy(), None if lv is None else lv.numpy())
    assert off.shape == diag.shape == ()
    assert off.item() == pytest.approx(ref_off, rel=1e-12) and diag.item() == pytest.approx(ref_diag, rel=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(shape=st.tuples(st.integers(1, 12), st.integers(1, 5)), data=st.data(), variant=st.sampled_from(["i", "ii"]))
def test_dip_penalty_property_over_random_means_and_log_variances(shape, data, variant):
    values = st.floats(-5, 5, allow_nan=False, width=64)
    mean = data.draw(hnp.arrays(np.float64, shape, elements=values), label="mean")
    log_var = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-4, 3, width=64)), label="log_var")
    lv = torch.from_numpy(log_var) if variant == "ii" else None
    off, diag = _losses.dip_covariance_penalty(torch.from_numpy(mean), lv)
    ref_off, ref_diag = _direct_penalty(mean, log_var if variant == "ii" else None)
    assert off.item() == pytest.approx(ref_off, rel=1e-9, abs=1e-9)
    assert diag.item() == pytest.approx(ref_diag, rel=1e-9, abs=1e-9)
    assert off.item() >= 0 and diag.item() >= 0
    if shape[1] == 1:
        assert off.item() == 0.0  # one latent dimension has no off-diagonal entry


def test_dip_penalty_vanishes_exactly_on_whitened_means_and_ii_adds_the_posterior_variance():
    g = torch.Generator().manual_seed(3)
    whitened = _whitened_normal(50, 4, g)  # Cov = I exactly
    off, diag = _losses.dip_covariance_penalty(whitened)
    assert off.item() == pytest.approx(0, abs=1e-20) and diag.item() == pytest.approx(0, abs=1e-20)
    # DIP-VAE-II: the same means with posterior variances 0.5 give C = 1.5 I
    off2, diag2 = _losses.dip_covariance_penalty(whitened, torch.full_like(whitened, np.log(0.5)))
    assert off2.item() == pytest.approx(0, abs=1e-20) and diag2.item() == pytest.approx(4 * 0.5 ** 2)


def test_minimising_the_dip_penalty_decorrelates_free_codes():
    """Gradient descent on free codes through the penalty drives their covariance to the identity."""
    g = torch.Generator().manual_seed(4)
    codes = (torch.randn(64, 3, generator=g) @ torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.5, 0.3], [0.0, 0.0, 1.0]]))
    codes.requires_grad_(True)
    opt = torch.optim.Adam([codes], lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        off, diag = _losses.dip_covariance_penalty(codes)
        (off + diag).backward()
        opt.step()
    cov = torch.cov(codes.detach().T, correction=0)
    torch.testing.assert_close(cov, torch.eye(3), atol=1e-3, rtol=0)


# -- the sliced-Wasserstein estimate ----------------------------------------------------------------------------

def test_sliced_wasserstein_is_exactly_zero_for_identical_samples_and_ignores_the_order():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(40, 3, generator=g)
    assert _losses.sliced_wasserstein(a, a.clone(), 30, 2.0, _ctx(1)).item() == 0.0
    b = torch.randn(40, 3, generator=g)
    shuffled = b[torch.randperm(40, generator=g)]
    assert torch.equal(_losses.sliced_wasserstein(a, b, 30, 2.0, _ctx(1)),
                       _losses.sliced_wasserstein(a, shuffled, 30, 2.0, _ctx(1)))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_sliced_wasserstein_in_one_dimension_is_the_wasserstein_distance(p):
    """In 1-D every direction is +1 or -1, so ``SW_p^p = W_p^p`` of the two empirical distributions
    (scipy's ``wasserstein_distance`` for p = 1; the sorted pairing for any p)."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(200, 1, generator=g, dtype=torch.float64), 2 + 0.5 * torch.randn(200, 1, generator=g,
                                                                                     dtype=torch.float64)
    sw = _losses.sliced_wasserstein(a, b, 7, p, _ctx(0)).item()
    sorted_diff = np.abs(np.sort(a.numpy()[:, 0]) - np.sort(b.numpy()[:, 0]))
    assert sw == pytest.approx(float(np.mean(sorted_diff ** p)), rel=1e-12)
    if p == 1.0:
        assert sw == pytest.approx(scipy.stats.wasserstein_distance(a.numpy()[:, 0], b.numpy()[:, 0]), rel=1e-12)


@pytest.mark.parametrize(("shift", "projections", "tolerance"), [
    # equal means: every projection is N(0, 1) against N(0, 4), W_2^2 = (s1 - s2)^2 = 1 whatever the direction;
    # what is left is the coupling of two standardised 2000-samples' order statistics, a bias of O(log n / n)
    # (0.003-0.004 over seeds), so 0.01
    (0.0, 50, 0.01),
    # ||m1 - m2||^2 / d = 0.25 on top: (theta . dm)^2 over uniform directions has variance
    # ||dm||^4 2(d-1) / (d^2 (d+2)) = 1/16, so the mean of 1000 directions has a standard error of 0.0079;
    # 0.04 is five of them (plus the bias above)
    (0.5, 1000, 0.04),
])
def test_sliced_wasserstein_matches_the_closed_form_for_isotropic_gaussians(shift, projections, tolerance):
    """For N(m1, s1^2 I) and N(m2, s2^2 I) in d dimensions, each projection is a pair of 1-D Gaussians with
    W_2^2 = (theta . (m1 - m2))^2 + (s1 - s2)^2; averaged over uniform directions, E (theta . dm)^2 = ||dm||^2 / d,
    so SW_2^2 = ||m1 - m2||^2 / d + (s1 - s2)^2. The samples are whitened (``_whitened_normal``): the check is of
    the projections and the sorted pairing, not of how far 2000 draws' moments stray (about 0.03 here)."""
    d, n, s1, s2 = 4, 2000, 1.0, 2.0
    g = torch.Generator().manual_seed(5)
    m2 = torch.full((d,), shift, dtype=torch.float64)
    a, b = s1 * _whitened_normal(n, d, g), m2 + s2 * _whitened_normal(n, d, g)
    expected = m2.pow(2).sum().item() / d + (s1 - s2) ** 2
    sw = _losses.sliced_wasserstein(a, b, projections, 2.0, _ctx(6)).item()
    assert sw == pytest.approx(expected, abs=tolerance)


def test_sliced_wasserstein_refuses_samples_of_different_shapes():
    with pytest.raises(ValueError, match="one shape"):
        _losses.sliced_wasserstein(torch.zeros(4, 2), torch.zeros(5, 2), 3)


def test_sliced_wasserstein_directions_do_not_depend_on_the_shard():
    """Every process of a data-parallel run projects on the same directions: a shard context draws them as the
    unsharded one with the same generator does."""
    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    plain = _losses.sliced_wasserstein(a, b, 6, 2.0, _ctx(8))
    assert torch.equal(_losses.sliced_wasserstein(a, b, 6, 2.0, _ctx(8, shard=(6, 12, 24))), plain)


def test_minimising_the_sliced_distance_moves_free_codes_to_the_prior():
    """Gradients pass through the sorting: descent on free codes against fresh N(0, I) draws standardises them."""
    g = torch.Generator().manual_seed(9)
    codes = (3.0 + 0.2 * torch.randn(256, 2, generator=g)).requires_grad_(True)
    opt = torch.optim.Adam([codes], lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        prior = torch.randn(256, 2, generator=g)
        _losses.sliced_wasserstein(codes, prior, 20, 2.0, StepContext(generator=g)).backward()
        opt.step()
    z = codes.detach()
    assert z.mean(0).abs().max() < 0.15 and (z.std(0) - 1).abs().max() < 0.15


# -- the models ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("variant", "lambda_diag", "expected_weight"), [
    ("i", None, 10 * 3.0), ("ii", None, 3.0), ("i", 0.5, 0.5), ("ii", 0.0, 0.0)])
def test_dipvae_loss_is_recon_plus_kl_plus_the_weighted_penalties(variant, lambda_diag, expected_weight):
    model = tiny_model("DIPVAE", variant=variant, lambda_offdiag=3.0, lambda_diag=lambda_diag)
    assert model.model_config.diagonal_weight() == expected_weight
    x = _batch()
    out = model(x, _ctx(0))
    t = out.terms
    assert set(t) == {"recon_loss", "kl", "dip_offdiag", "dip_diag"}
    torch.testing.assert_close(out.loss, t["recon_loss"] + t["kl"] + 3.0 * t["dip_offdiag"]
                               + expected_weight * t["dip_diag"])
    mean, log_var = model.posterior(x)  # the penalty is that of this batch's posterior moments
    off, diag = _losses.dip_covariance_penalty(mean, log_var if variant == "ii" else None)
    torch.testing.assert_close((t["dip_offdiag"], t["dip_diag"]), (off, diag))


def test_dipvae_with_zero_weights_is_the_vae():
    dip = tiny_model("DIPVAE", lambda_offdiag=0.0, lambda_diag=0.0)
    vae = tiny_model("VAE")
    x = _batch()
    assert torch.equal(dip(x, _ctx(3)).loss, vae(x, _ctx(3)).loss)


def test_swae_loss_is_recon_plus_the_weighted_sliced_distance():
    model = tiny_model("SWAE", reg_weight=4.0, num_projections=7, p=1.5)
    x = _batch()
    out = model(x, _ctx(0))
    assert set(out.terms) == {"recon_loss", "sliced_wasserstein"}
    torch.testing.assert_close(out.loss, out.terms["recon_loss"] + 4.0 * out.terms["sliced_wasserstein"])
    # the distance is that of the codes to the context's N(0, I) draws, then its directions, in that order
    g = torch.Generator().manual_seed(0)
    prior = torch.randn(out.z.shape, generator=g)
    expected = _losses.sliced_wasserstein(out.z, prior, 7, 1.5, StepContext(generator=g))
    torch.testing.assert_close(out.terms["sliced_wasserstein"], expected)


@pytest.mark.parametrize(("name", "fields"), [("DIPVAE", {"variant": "i"}), ("DIPVAE", {"variant": "ii"}),
                                              ("SWAE", {})])
def test_the_noise_comes_from_the_step_context_generator(name, fields):
    model = tiny_model(name, **fields)
    x = _batch()
    torch.manual_seed(123)
    global_state = torch.random.get_rng_state()
    first, again, other = model(x, _ctx(11)).loss, model(x, _ctx(11)).loss, model(x, _ctx(12)).loss
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(torch.random.get_rng_state(), global_state), "a generator in the context spares the global RNG"


@pytest.mark.parametrize(("cls", "fields", "named"), [
    (DIPVAEConfig, {"variant": "iii"}, "variant"), (DIPVAEConfig, {"lambda_offdiag": -1.0}, "lambda_offdiag"),
    (DIPVAEConfig, {"lambda_diag": -0.1}, "lambda_diag"), (SWAEConfig, {"num_projections": 0}, "num_projections"),
    (SWAEConfig, {"p": 0.5}, "p"), (SWAEConfig, {"reg_weight": -2.0}, "reg_weight")])
def test_bad_settings_are_config_errors_naming_the_field(cls, fields, named):
    with pytest.raises(ConfigError, match=f"{cls.__name__}.{named}="):
        cls(input_dim=(4,), **fields)


# -- learning: trained on scikit-learn's digits, each penalty does what it is for ---------------------------------

def _trained(name: str, train, **fields):
    from gaekit.trainers import Trainer, TrainerConfig

    model = tiny_model(name, latent_dim=4, **fields)
    config = TrainerConfig(output_dir=None, num_epochs=8, batch_size=64, learning_rate=1e-3, show_progress=False,
                           device="cpu", seed=0)
    Trainer(model, config, train_data=train).train()
    return model.eval()


def test_trained_dipvae_i_decorrelates_and_spreads_the_posterior_means(digits):
    """The VAE's posterior means on the digits leave most of the 4 latent dimensions near-constant (Cov[mu]'s
    diagonal far from 1); DIP-VAE-I's penalty pulls Cov[mu] to the identity on held-out digits."""
    test = digits[2].data.float() / 255 if digits[2].data.dtype == torch.uint8 else digits[2].data
    penalties = {}
    for name, fields in (("VAE", {}), ("DIPVAE", {"variant": "i"})):
        model = _trained(name, digits[0], **fields)
        with torch.no_grad():
            mean, _ = model.posterior(test)
        penalties[name] = sum(_losses.dip_covariance_penalty(mean)).item()
    assert penalties["DIPVAE"] < 0.3 < 1.0 < penalties["VAE"], penalties


def test_trained_swae_codes_are_closer_to_the_prior_than_the_aes(digits):
    test = digits[2].data.float() / 255 if digits[2].data.dtype == torch.uint8 else digits[2].data
    distances = {}
    for name, fields in (("AE", {}), ("SWAE", {"reg_weight": 10.0})):
        z = _trained(name, digits[0], **fields).embed(test)
        prior = torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
        distances[name] = _losses.sliced_wasserstein(z, prior, 200, 2.0, _ctx(1)).item()
    assert distances["SWAE"] < 0.2 < 1.0 < distances["AE"], distances
