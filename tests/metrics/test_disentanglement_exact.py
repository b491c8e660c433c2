"""Disentanglement metrics: exact small cases computed by hand, invariance and range properties
(hypothesis), the dSprites ground-truth source against its renderer, and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import mutual_info_score

from gaekit.data.dsprites import dsprites_latents, generate_dsprites
from gaekit.errors import ConfigError, DataError
from gaekit.metrics.disentanglement import (
    DSpritesGroundTruth,
    SyntheticGroundTruth,
    compute_mig,
    dci,
    dci_from_importance,
    discrete_entropy,
    discrete_mutual_info,
    explicitness,
    factor_vae_score,
    histogram_discretize,
    majority_vote_accuracy,
    mig,
    mig_from_mutual_info,
    model_representation,
    modularity,
    modularity_from_mutual_info,
    representation_samples,
    sap,
    sap_from_scores,
    sap_score_matrix,
)

LN2 = math.log(2.0)


def _h(p):  # binary entropy in nats
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


# ------------------------------------------------------------------ exact cases by hand
def test_mig_of_a_known_discrete_joint():
    """Two uniform independent bits f1, f2 (each of the 4 combinations 25 times); codes c1 = f1 and
    c2 = f1 AND f2. I(c1; f1) = ln 2, I(c1; f2) = 0 and I(c2; f1) = I(c2; f2) = h(1/4) - ln(2)/2, so the gaps are
    (ln 2 - I)/ln 2 for f1 and I/ln 2 for f2, and MIG = 1/2."""
    f = np.repeat(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), 25, axis=0)
    codes = np.stack([f[:, 0], f[:, 0] & f[:, 1]], axis=1).astype(float)
    i_and = _h(0.25) - LN2 / 2
    out = mig(codes, f)
    np.testing.assert_allclose(out["mutual_info"], [[LN2, 0.0], [i_and, i_and]], atol=1e-12)
    np.testing.assert_allclose(out["per_factor"], [(LN2 - i_and) / LN2, i_and / LN2], atol=1e-12)
    assert out["discrete_mig"] == pytest.approx(0.5, abs=1e-12)
    assert mig_from_mutual_info(out["mutual_info"], [LN2, LN2])["discrete_mig"] == pytest.approx(0.5, abs=1e-12)


def test_discrete_information_matches_scikit_learn():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, size=(300, 3)), rng.integers(0, 4, size=(300, 2))
    b[:, 0] = (a[:, 0] + rng.integers(0, 2, 300)) % 4  # some dependence
    want = [[mutual_info_score(a[:, i], b[:, j]) for j in range(2)] for i in range(3)]
    np.testing.assert_allclose(discrete_mutual_info(a, b), want, atol=1e-12)
    np.testing.assert_allclose(discrete_entropy(b), [mutual_info_score(c, c) for c in b.T], atol=1e-12)


def test_histogram_bins_are_equal_width_between_min_and_max():
    codes = np.array([[0.0, 5.0], [0.49, 5.0], [0.5, 5.0], [1.0, 7.0]])
    np.testing.assert_array_equal(histogram_discretize(codes, 2), [[1, 1], [1, 1], [2, 1], [2, 2]])


def test_sap_of_a_designed_score_matrix():
    # factor 0: top two 0.9 and 0.3 -> 0.6; factor 1: 0.7 and 0.4 -> 0.3; SAP = 0.45
    assert sap_from_scores([[0.9, 0.1], [0.3, 0.4], [0.2, 0.7]]) == pytest.approx(0.45, abs=1e-12)


def test_sap_continuous_scores_are_squared_correlations():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 6, size=(200, 2))
    z = np.stack([2 * y[:, 0] + 1, rng.normal(size=200), -y[:, 1] + 0.3 * rng.normal(size=200)], axis=1)
    s = sap_score_matrix(z, y, z, y, continuous_factors=True)
    want = [[np.corrcoef(z[:, i], y[:, k])[0, 1] ** 2 for k in range(2)] for i in range(3)]
    np.testing.assert_allclose(s, want, atol=1e-12)
    assert s[0, 0] == pytest.approx(1.0)


def test_dci_of_a_designed_importance_matrix():
    """R = [[1, 1], [0, 2]]: code 0 splits evenly (1 - H_2 = 0), code 1 is pure (1), weights 1/2 each -> D = 1/2;
    factor 0 is pure (weight 1/4), factor 1 has P = (1/3, 2/3) (weight 3/4) -> C = 1/4 + 3/4 (1 - H_2(1/3))."""
    out = dci_from_importance([[1.0, 1.0], [0.0, 2.0]])
    assert out["disentanglement"] == pytest.approx(0.5, abs=1e-12)
    assert out["completeness"] == pytest.approx(0.25 + 0.75 * (1 - _h(1 / 3) / LN2), abs=1e-12)
    assert dci_from_importance(np.eye(4)) == {"disentanglement": 1.0, "completeness": 1.0}
    uniform = dci_from_importance(np.ones((3, 3)))
    assert uniform["disentanglement"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["completeness"] == pytest.approx(0.0, abs=1e-12)
    assert dci_from_importance(np.zeros((2, 3))) == {"disentanglement": 0.0, "completeness": 0.0}


def test_modularity_of_designed_mutual_information():
    # code (1, 0) is modular (1); code (0.5, 0.5) gives delta = 0.25 / 0.25 = 1 (0): mean 1/2
    assert modularity_from_mutual_info([[1.0, 0.0], [0.5, 0.5]]) == pytest.approx(0.5, abs=1e-12)
    # delta = 0.3^2 / (0.6^2 (3 - 1)) = 1/8
    assert modularity_from_mutual_info([[0.6, 0.3, 0.0]]) == pytest.approx(0.875, abs=1e-12)
    assert modularity_from_mutual_info([[0.0, 0.0], [1.0, 0.0]]) == pytest.approx(0.5)  # no information: 0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 300), value=st.floats(-1e3, 1e3),
       sizes=st.lists(st.integers(2, 40), min_size=2, max_size=5))
def test_a_constant_code_carries_exactly_no_information(seed, n, value, sizes):
    """A dead code's mutual information with every factor is exactly 0, so its Modularity is 0: a rounding
    residue (1e-17 nats about one factor) would score it as perfectly modular."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(size, size=n) for size in sizes], axis=1)
    codes = np.column_stack([np.full(n, value), factors[:, 0] + rng.standard_normal(n)])
    assert discrete_mutual_info(histogram_discretize(codes), factors)[0].tolist() == [0.0] * len(sizes)
    informative = modularity(codes[:, 1:], factors)["modularity_score"]
    assert modularity(codes, factors)["modularity_score"] == pytest.approx(informative / 2, abs=1e-12)


def test_majority_vote_accuracy_of_designed_votes():
    train = [[8, 2], [1, 9], [5, 5]]  # classifier: dim 0 -> factor 0, dim 1 -> 1, dim 2 -> 0 (first on ties)
    assert majority_vote_accuracy(train) == pytest.approx(22 / 30)
    assert majority_vote_accuracy(train, [[1, 3], [0, 4], [2, 0]]) == pytest.approx(0.7)


def test_factor_vae_prunes_collapsed_dimensions():
    data = SyntheticGroundTruth((3, 4))

    def rep(x):  # two informative codes, a constant one and one with standard deviation ~0.008 < 0.05
        return np.concatenate([x, np.ones((len(x), 1)), 0.01 * x[:, :1]], axis=1)

    out = factor_vae_score(data, rep, batch_size=8, num_train=60, num_eval=40, num_variance_estimate=200)
    assert out["num_active_dims"] == 2 and out["eval_accuracy"] == 1.0
    dead = factor_vae_score(data, lambda x: np.zeros((len(x), 3)), batch_size=8, num_train=5, num_eval=5,
                            num_variance_estimate=50)
    assert dead["num_active_dims"] == 0 and dead["eval_accuracy"] == 0.0


# ------------------------------------------------------------------ properties
def _draw(seed, n, d, k):
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, rng.integers(2, 6), n) for _ in range(k)], axis=1)
    factors[:2] = [[0] * k, [1] * k]  # every factor varies
    codes = factors @ rng.normal(size=(k, d)) * rng.uniform(0, 1) + rng.normal(size=(n, d))
    return rng, codes, factors


CASES = dict(seed=st.integers(0, 2**32 - 1), n=st.integers(30, 80), d=st.integers(2, 5), k=st.integers(2, 4))


@settings(max_examples=15, deadline=None)
@given(**CASES)
def test_scores_lie_in_the_unit_interval(seed, n, d, k):
    rng, z, y = _draw(seed, n, d, k)
    assert 0.0 <= mig(z, y)["discrete_mig"] <= 1.0 + 1e-12
    assert 0.0 <= modularity(z, y)["modularity_score"] <= 1.0 + 1e-12
    assert 0.0 <= sap_from_scores(rng.uniform(size=(d, k))) <= 1.0
    importance = rng.uniform(size=(d, k)) * (rng.uniform(size=(d, k)) < 0.7)
    for value in dci_from_importance(importance).values():
        assert -1e-12 <= value <= 1.0 + 1e-12


@settings(max_examples=10, deadline=None)
@given(**CASES)
def test_invariant_to_permuting_and_positively_rescaling_codes(seed, n, d, k):
    """MIG and modularity depend on each code only through its 20-bin partition, and DCI's importance-to-score
    step does not see the order of codes or factors."""
    rng, z, y = _draw(seed, n, d, k)
    perm, scale, shift = rng.permutation(d), rng.uniform(0.1, 10, d), rng.normal(size=d)
    z2 = (z * scale + shift)[:, perm]
    assert mig(z2, y)["discrete_mig"] == pytest.approx(mig(z, y)["discrete_mig"], abs=1e-12)
    assert modularity(z2, y)["modularity_score"] == pytest.approx(modularity(z, y)["modularity_score"], abs=1e-12)
    importance = rng.uniform(size=(d, k))
    shuffled = importance[perm][:, rng.permutation(k)] * rng.uniform(0.1, 10)
    for key, value in dci_from_importance(importance).items():
        assert dci_from_importance(shuffled)[key] == pytest.approx(value, abs=1e-12)


def test_explicitness_ignores_permuting_and_rescaling_codes():
    """Explicitness standardises its codes with the training statistics."""
    rng, z, y = _draw(5, 120, 4, 3)
    z2 = (z * rng.uniform(0.1, 10, 4) + rng.normal(size=4))[:, [1, 3, 0, 2]]
    ex, ex2 = (explicitness(c[:80], y[:80], c[80:], y[80:]) for c in (z, z2))
    assert ex2["explicitness_score_test"] == pytest.approx(ex["explicitness_score_test"], abs=1e-6)
    assert ex2["explicitness_score_train"] == pytest.approx(ex["explicitness_score_train"], abs=1e-6)


def test_sap_follows_its_codes_when_they_are_permuted():
    _, z, y = _draw(3, 120, 4, 3)
    perm = np.array([2, 0, 3, 1])
    a, b = sap(z[:80], y[:80], z[80:], y[80:]), sap(z[:80, perm], y[:80], z[80:, perm], y[80:])
    np.testing.assert_array_equal(np.array(a["score_matrix"])[perm], b["score_matrix"])
    assert a["sap_score"] == b["sap_score"]


def test_dci_trees_ignore_a_positive_rescaling_of_codes():
    _, z, y = _draw(4, 150, 3, 2)
    fast = lambda s: GradientBoostingClassifier(n_estimators=10, random_state=s)  # noqa: E731
    a = dci(z[:100], y[:100], z[100:], y[100:], classifier=fast)
    b = dci(z[:100] * 3 + 1, y[:100], z[100:] * 3 + 1, y[100:], classifier=fast)
    np.testing.assert_allclose(a["importance_matrix"], b["importance_matrix"], atol=1e-9)
    assert a["informativeness_test"] == b["informativeness_test"]


def test_factor_vae_score_ignores_permuting_and_rescaling_codes():
    data = SyntheticGroundTruth((3, 4, 3))
    mix = np.random.default_rng(0).normal(size=(3, 4))
    scale, perm = np.array([0.5, 3.0, 7.0, 1.5]), np.array([3, 1, 0, 2])
    kwargs = dict(batch_size=8, num_train=80, num_eval=40, num_variance_estimate=200, seed=1)
    a = factor_vae_score(data, lambda x: x @ mix, **kwargs)
    b = factor_vae_score(data, lambda x: (x @ mix * scale)[:, perm], **kwargs)
    assert (a["train_accuracy"], a["eval_accuracy"]) == (b["train_accuracy"], b["eval_accuracy"])


# ------------------------------------------------------------------ ground-truth sources
def test_fixed_factor_and_paired_batches():
    data, rng = SyntheticGroundTruth((3, 5, 4)), np.random.default_rng(0)
    f = data.sample_fixed_factor(1, 200, rng, value=3)
    assert (f[:, 1] == 3).all() and all(np.unique(f[:, j]).size == s for j, s in ((0, 3), (2, 4)))
    assert np.unique(data.sample_fixed_factor(2, 50, rng)[:, 2]).size == 1
    a, b = data.sample_pairs(0, 300, rng)
    assert (a[:, 0] == b[:, 0]).all() and np.unique(a[:, 0]).size == 3  # the shared value varies across pairs
    assert (a[:, 1] != b[:, 1]).any() and (a[:, 2] != b[:, 2]).any()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(sizes=st.lists(st.integers(2, 6), min_size=1, max_size=5), data=st.data(), seed=st.integers(0, 2**16))
def test_factor_conditioned_batches_keep_their_factor_and_draw_the_rest_in_range(sizes, data, seed):
    """For any factor grid: a fixed-factor batch holds its factor at the given (or one drawn) value; a pair
    shares its factor; every factor stays inside its grid; the same seed gives the same rows."""
    source = SyntheticGroundTruth(sizes)
    factor = data.draw(st.integers(0, len(sizes) - 1), label="factor")
    num = data.draw(st.integers(1, 40), label="num")
    value = data.draw(st.none() | st.integers(0, sizes[factor] - 1), label="value")
    fixed = source.sample_fixed_factor(factor, num, np.random.default_rng(seed), value=value)
    again = source.sample_fixed_factor(factor, num, np.random.default_rng(seed), value=value)
    first, second = source.sample_pairs(factor, num, np.random.default_rng(seed))
    for rows in (fixed, first, second):
        assert rows.shape == (num, len(sizes)) and rows.dtype == np.int64
        assert ((rows >= 0) & (rows < np.array(sizes))).all()
    assert np.unique(fixed[:, factor]).size == 1 and (value is None or fixed[0, factor] == value)
    np.testing.assert_array_equal(fixed, again)
    np.testing.assert_array_equal(first[:, factor], second[:, factor])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), num=st.integers(1, 30))
def test_dsprites_factor_rows_and_image_indices_are_one_to_one(seed, num):
    """``indices`` is the inverse of ``dsprites_latents``: the image of a factor row has exactly those factors."""
    data = DSpritesGroundTruth()
    factors = data.sample_factors(num, np.random.default_rng(seed))
    idx = data.indices(factors)
    assert ((idx >= 0) & (idx < 737_280)).all()
    np.testing.assert_array_equal(dsprites_latents(idx)[0][:, 1:], factors)


def test_dsprites_source_renders_the_factors():
    data, rng = DSpritesGroundTruth(), np.random.default_rng(0)
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == (3, 6, 40, 32, 32)
    f = data.sample_factors(20, rng)
    idx = data.indices(f)
    np.testing.assert_array_equal(dsprites_latents(idx)[0][:, 1:], f)
    images = data.observe(f)
    assert images.shape == (20, 1, 64, 64) and images.dtype.is_floating_point
    np.testing.assert_array_equal(images.numpy().reshape(20, -1), np.unpackbits(generate_dsprites(idx), axis=1))


def _centroid_code(x):
    """A hand-made encoder: the lit pixels' mean column and row, and the square root of their count."""
    x = x.numpy()[:, 0]
    w = x.sum((1, 2))
    centres = np.arange(64) + 0.5
    return np.stack([(x.sum(1) * centres).sum(1) / w, (x.sum(2) * centres).sum(1) / w, np.sqrt(w)], axis=1)


def test_dsprites_fixed_position_batches_and_mig_of_a_position_encoder():
    """A centrally symmetric sprite's centroid is its centre, column 16 + posX index; a position encoder has a
    large MIG gap for the positions and none for orientation."""
    data, rng = DSpritesGroundTruth(), np.random.default_rng(0)
    f = data.sample_fixed_factor(3, 24, rng, value=7)
    codes = _centroid_code(data.observe(f))
    symmetric = f[:, 0] != 2  # not the heart
    np.testing.assert_allclose(codes[symmetric, 0], 23.0, atol=1e-9)
    np.testing.assert_allclose(codes[symmetric, 1], 16.0 + f[symmetric, 4], atol=1e-9)
    gaps = compute_mig(data, _centroid_code, num_train=400)["per_factor"]
    assert gaps[3] > 0.4 and gaps[4] > 0.4 and gaps[2] < 0.05


# ------------------------------------------------------------------ errors
def test_bad_inputs_are_clear_errors():
    z, y = np.random.default_rng(0).normal(size=(10, 3)), np.arange(20).reshape(10, 2) % 3
    with pytest.raises(DataError, match="discrete"):
        mig(z, y + 0.5)
    with pytest.raises(DataError, match="NaN"):
        mig(np.full((10, 3), np.nan), y)
    with pytest.raises(DataError, match="rows"):
        mig(z[:5], y)
    with pytest.raises(DataError, match="two codes|D >= 2"):
        mig(z[:, :1], y)
    with pytest.raises(DataError, match="single value"):
        mig(z, np.stack([y[:, 0], np.zeros(10, int)], 1))
    with pytest.raises(DataError, match="single value"):
        sap(z, np.zeros((10, 1)), z, np.zeros((10, 1)))
    with pytest.raises(DataError, match="width"):
        dci(z, y, z[:, :2], y)
    with pytest.raises(DataError, match="finite values >= 0"):
        dci_from_importance([[1.0, -1.0]])
    with pytest.raises(DataError, match="K >= 2"):
        modularity_from_mutual_info([[1.0]])


def test_bad_settings_and_sources_are_clear_errors():
    data, rng = SyntheticGroundTruth((3, 4)), np.random.default_rng(0)
    with pytest.raises(ConfigError, match="factor=2"):
        data.sample_fixed_factor(2, 5, rng)
    with pytest.raises(ConfigError, match="value=4"):
        data.sample_fixed_factor(0, 5, rng, value=4)
    with pytest.raises(ConfigError, match="factor_sizes"):
        SyntheticGroundTruth((3, 1))
    with pytest.raises(ConfigError, match="prune_threshold"):
        factor_vae_score(data, lambda x: x, prune_threshold=-1.0)
    with pytest.raises(ConfigError, match="batch_size=1"):
        factor_vae_score(data, lambda x: x, batch_size=1, num_train=2, num_eval=2, num_variance_estimate=10)
    with pytest.raises(DataError, match="returned 1 rows"):
        representation_samples(data, lambda x: x[:1], 4, rng)
    with pytest.raises(DataError, match="whole packed"):
        DSpritesGroundTruth(np.zeros((10, 512), np.uint8))
    with pytest.raises(ConfigError, match="embed"):
        model_representation(object())


def test_model_representation_is_the_embedding():
    from gaekit.models import create_model

    model = create_model("VAE", input_dim=(1, 8, 8), latent_dim=3)
    data = SyntheticGroundTruth((2, 3), observe=lambda f: torch.from_numpy(
        np.repeat(f.astype(np.float32), 32, axis=1).reshape(-1, 1, 8, 8)))
    z, _ = representation_samples(data, model_representation(model), 6, np.random.default_rng(0))
    assert z.shape == (6, 3) and np.isfinite(z).all()


@pytest.mark.slow  # reads (or first generates) and checksums the whole 377 MB packed set: ~5 s
def test_cached_dsprites_source_matches_the_renderer():
    cached, rng = DSpritesGroundTruth.cached(), np.random.default_rng(1)
    f = cached.sample_factors(64, rng)
    assert torch.equal(cached.observe(f), DSpritesGroundTruth().observe(f))
