"""Disentanglement metrics on synthetic ground truth with known answers: five discrete factors observed
directly; the identity of the factors scores near-perfectly, a random rotation of them has low
disentanglement but high informativeness, and pure noise scores at chance.

Sample counts are small here (the protocol defaults of Locatello et al. 2019 are 10,000 / 5,000) and the
seeds are fixed, so every number below is deterministic; the thresholds leave margin for BLAS and
scikit-learn differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import special_ortho_group
from sklearn.ensemble import GradientBoostingClassifier

from gaekit.metrics.disentanglement import (
    METRICS,
    SyntheticGroundTruth,
    beta_vae_score,
    compute_dci,
    compute_mig,
    compute_modularity_explicitness,
    compute_sap,
    dci,
    explicitness,
    factor_vae_score,
    mig,
    modularity,
    representation_samples,
    sap,
)

SIZES = (3, 4, 5, 4, 3)
CHANCE_ACCURACY = float(np.mean([1 / s for s in SIZES]))  # majority class of uniform factors
MEAN = np.array([(s - 1) / 2 for s in SIZES])
STD = np.array([np.sqrt((s * s - 1) / 12) for s in SIZES])
ROTATION = special_ortho_group.rvs(len(SIZES), random_state=0)


def identity(x):
    return x


def rotation(x):
    return ((x - MEAN) / STD) @ ROTATION


def noise_representation(seed=7):
    rng = np.random.default_rng(seed)
    return lambda x: rng.normal(size=(len(x), len(SIZES)))


@pytest.fixture(scope="module")
def data():
    return SyntheticGroundTruth(SIZES)


@pytest.fixture(scope="module")
def samples(data):
    """Train (300) and test (200) (codes, factors) of the three representations."""
    out = {}
    for name, rep in (("identity", identity), ("rotation", rotation), ("noise", noise_representation())):
        rng = np.random.default_rng(0)
        out[name] = (representation_samples(data, rep, 300, rng), representation_samples(data, rep, 200, rng))
    return out


def _fast_trees(seed):  # the noise case only: its answer (chance) does not depend on the ensemble size
    return GradientBoostingClassifier(n_estimators=10, random_state=seed)


# ------------------------------------------------------------------ identity: near-perfect
def test_identity_is_near_perfect(samples):
    (z, y), (zt, yt) = samples["identity"]
    assert mig(z, y)["discrete_mig"] > 0.95
    d = dci(z, y, zt, yt)  # the protocol's classifier
    assert d["disentanglement"] > 0.99 and d["completeness"] > 0.99
    assert d["informativeness_test"] > 0.99
    assert modularity(z, y)["modularity_score"] > 0.99
    assert explicitness(z, y, zt, yt)["explicitness_score_test"] > 0.97
    # SAP is a gap of accuracies, so it stays below 1 - (the best other code's accuracy); with the protocol's
    # strongly regularised LinearSVC(C=0.01) on one unscaled code, the identity scores about 0.4 here.
    s = sap(z, y, zt, yt)
    assert s["sap_score"] > 0.3
    matrix = np.array(s["score_matrix"])
    assert (matrix.argmax(0) == np.arange(len(SIZES))).all()  # each factor best predicted by its own code


def test_identity_factor_conditioned_scores(data):
    fv = factor_vae_score(data, identity, batch_size=16, num_train=200, num_eval=200, num_variance_estimate=500)
    assert fv["eval_accuracy"] == 1.0 and fv["train_accuracy"] == 1.0  # the fixed factor's code has zero variance
    assert fv["num_active_dims"] == len(SIZES)
    bv = beta_vae_score(data, identity, batch_size=16, num_train=200, num_eval=200)
    assert bv["eval_accuracy"] > 0.97  # the shared factor's difference is exactly 0


# ------------------------------------------------------------------ rotation: entangled but informative
def test_rotation_is_entangled_but_informative(samples):
    (z, y), (zt, yt) = samples["rotation"]
    (zi, yi), _ = samples["identity"]
    assert mig(z, y)["discrete_mig"] < 0.3 < mig(zi, yi)["discrete_mig"]
    d = dci(z, y, zt, yt)
    assert d["disentanglement"] < 0.45 and d["completeness"] < 0.45
    assert d["informativeness_test"] > 0.8  # the trees still predict every factor
    assert explicitness(z, y, zt, yt)["explicitness_score_test"] > 0.97  # a linear map loses nothing
    assert modularity(z, y)["modularity_score"] < 0.9
    assert sap(z, y, zt, yt)["sap_score"] < 0.15


def test_rotation_factor_conditioned_scores_drop(data):
    fv = factor_vae_score(data, rotation, batch_size=16, num_train=200, num_eval=200, num_variance_estimate=500)
    assert 0.3 < fv["eval_accuracy"] < 0.8
    bv = beta_vae_score(data, rotation, batch_size=16, num_train=200, num_eval=200)
    assert bv["eval_accuracy"] < 0.85


# ------------------------------------------------------------------ noise: chance
def test_noise_is_at_chance(samples):
    (z, y), (zt, yt) = samples["noise"]
    assert mig(z, y)["discrete_mig"] < 0.03
    assert sap(z, y, zt, yt)["sap_score"] < 0.05
    d = dci(z, y, zt, yt, classifier=_fast_trees)
    assert d["disentanglement"] < 0.1 and d["completeness"] < 0.1
    assert d["informativeness_test"] == pytest.approx(CHANCE_ACCURACY, abs=0.08)
    assert explicitness(z, y, zt, yt)["explicitness_score_test"] == pytest.approx(0.5, abs=0.05)


def test_noise_factor_conditioned_scores_are_chance(data):
    chance = 1 / len(SIZES)
    fv = factor_vae_score(data, noise_representation(), batch_size=16, num_train=300, num_eval=300,
                          num_variance_estimate=500)
    assert fv["eval_accuracy"] == pytest.approx(chance, abs=0.1)
    bv = beta_vae_score(data, noise_representation(), batch_size=16, num_train=300, num_eval=300)
    assert bv["eval_accuracy"] == pytest.approx(chance, abs=0.1)


# ------------------------------------------------------------------ the data-source interface
def test_compute_functions_match_the_array_functions(data):
    """``compute_*`` draw train then test samples from one generator seeded with ``seed``."""
    rng = np.random.default_rng(3)
    z, y = representation_samples(data, identity, 300, rng)
    zt, yt = representation_samples(data, identity, 200, rng)
    assert compute_mig(data, identity, num_train=300, seed=3)["discrete_mig"] == mig(z, y)["discrete_mig"]
    got = compute_sap(data, identity, num_train=300, num_test=200, seed=3)
    assert got["sap_score"] == sap(z, y, zt, yt)["sap_score"]
    me = compute_modularity_explicitness(data, identity, num_train=300, num_test=200, seed=3)
    assert me["modularity_score"] == modularity(z, y)["modularity_score"]
    assert me["explicitness_score_test"] == explicitness(z, y, zt, yt)["explicitness_score_test"]
    got = compute_dci(data, identity, num_train=300, num_test=200, seed=3, classifier=_fast_trees)
    want = dci(z, y, zt, yt, classifier=_fast_trees)
    np.testing.assert_allclose(got["importance_matrix"], want["importance_matrix"], atol=1e-12)
    assert got["informativeness_test"] == want["informativeness_test"]
    assert got["num_train"] == 300 and got["num_test"] == 200


def test_scores_are_reproducible_with_a_seed(data):
    kwargs = dict(batch_size=8, num_train=50, num_eval=50)
    assert beta_vae_score(data, rotation, **kwargs, seed=5) == beta_vae_score(data, rotation, **kwargs, seed=5)
    assert (factor_vae_score(data, rotation, **kwargs, num_variance_estimate=100, seed=5)
            == factor_vae_score(data, rotation, **kwargs, num_variance_estimate=100, seed=5))


def test_defaults_are_the_protocol():
    """Locatello et al. 2019's sample counts and settings are the defaults."""
    import inspect

    def defaults(fn):
        return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}

    assert {k: defaults(beta_vae_score)[k] for k in ("batch_size", "num_train", "num_eval")} == {
        "batch_size": 64, "num_train": 10000, "num_eval": 5000}
    assert {k: defaults(factor_vae_score)[k] for k in ("batch_size", "num_train", "num_eval", "num_variance_estimate",
                                                       "prune_threshold")} == {
        "batch_size": 64, "num_train": 10000, "num_eval": 5000, "num_variance_estimate": 10000, "prune_threshold": 0.05}
    assert defaults(compute_mig)["num_train"] == 10000 and defaults(compute_mig)["num_bins"] == 20
    for fn in (compute_sap, compute_dci, compute_modularity_explicitness):
        assert (defaults(fn)["num_train"], defaults(fn)["num_test"]) == (10000, 5000)
    assert defaults(compute_sap)["continuous_factors"] is False
    assert set(METRICS) == {"beta_vae", "factor_vae", "mig", "sap", "dci", "modularity_explicitness"}
    for fn in METRICS.values():
        assert list(inspect.signature(fn).parameters)[:2] == ["data", "representation"]
