"""Inputs at the edges of what the disentanglement metrics take: every seed ``check_seed`` admits, continuous
factors for SAP, boolean factors, degenerate tables and codes, user classifiers, and requests ``evaluate`` must
refuse before any metric runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gaekit import create_model
from gaekit.errors import ConfigError, DataError
from gaekit.metrics import EvaluationConfig, evaluate
from gaekit.metrics.disentanglement import (
    SyntheticGroundTruth,
    dci,
    discrete_entropy,
    discrete_mutual_info,
    explicitness,
    factor_vae_score,
    histogram_discretize,
    majority_vote_accuracy,
    mig,
    mig_from_mutual_info,
    sap,
)
from gaekit.nn import EncoderOutput

SIZES = (3, 4, 3)


def _samples(n, seed, noise=0.3):
    """Factors of ``SIZES`` and codes = factors + noise (one code per factor)."""
    rng = np.random.default_rng(seed)
    y = np.stack([rng.integers(s, size=n) for s in SIZES], axis=1)
    return y + noise * rng.standard_normal(y.shape), y


@pytest.fixture(scope="module")
def split():
    (z, y), (zt, yt) = _samples(300, 0), _samples(150, 1)
    return z, y, zt, yt


@settings(max_examples=4, deadline=None)
@given(small=st.integers(0, 2**32 - 1), turns=st.integers(1, 2**31 - 1))
def test_every_admitted_seed_works_and_seeds_the_estimators_modulo_2_32(split, small, turns):
    """scikit-learn takes a random_state below 2**32; gaekit's seeds go to 2**63, and one that large gives the
    estimators its value modulo 2**32 (so seeds below 2**32 are passed unchanged)."""
    big = small + turns * 2**32
    assert big < 2**63
    for metric in (sap, explicitness):
        assert metric(*split, seed=big) == metric(*split, seed=small)
    from sklearn.ensemble import GradientBoostingClassifier

    def stumps(seed):
        return GradientBoostingClassifier(n_estimators=3, max_depth=1, random_state=seed)

    assert dci(*split, classifier=stumps, seed=big) == dci(*split, classifier=stumps, seed=small)


def test_sap_with_continuous_factors_scores_the_r2_of_real_valued_factors():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((400, 2))
    z = np.stack([y[:, 0] + 0.1 * rng.standard_normal(400), rng.standard_normal(400)], axis=1)
    out = sap(z, y, z, y, continuous_factors=True)
    r2 = np.array([[np.corrcoef(z[:, i], y[:, k])[0, 1] ** 2 for k in range(2)] for i in range(2)])
    np.testing.assert_allclose(out["score_matrix"], r2, rtol=1e-9)
    assert out["sap_score"] == pytest.approx(np.mean(np.abs(r2[0] - r2[1])))
    assert out["sap_score"] > 0.4  # the first factor is read off the first code
    with pytest.raises(DataError, match="discrete"):
        sap(z, y, z, y)  # real values refused as discrete factors


def test_boolean_factors_count_as_zero_and_one(split):
    z, y, _, _ = split
    as_bool = y > 1
    assert mig(z, as_bool) == mig(z, as_bool.astype(int))


def test_degenerate_tables_are_data_errors():
    with pytest.raises(DataError, match="finite"):
        mig_from_mutual_info([[np.nan, 1.0], [0.0, 1.0]], [1.0, 1.0])
    with pytest.raises(DataError, match=">= 0"):
        mig_from_mutual_info([[-1.0, 0.5], [0.5, 0.2]], [1.0, 1.0])
    with pytest.raises(DataError, match="shape"):
        majority_vote_accuracy([[3, 1], [0, 2]], [[1, 1, 1]])
    with pytest.raises(DataError, match="shape"):
        majority_vote_accuracy([1, 2, 3])
    with pytest.raises(DataError, match="counts"):
        majority_vote_accuracy([[3, -1], [0, 2]])
    with pytest.raises(DataError, match="shape"):
        discrete_mutual_info(np.array([1, 2, 3]), np.array([[1], [2], [3]]))
    with pytest.raises(DataError, match="rows"):
        discrete_mutual_info(np.array([[1], [2]]), np.array([[1], [2], [3]]))
    with pytest.raises(DataError, match="shape"):
        discrete_entropy(np.array([1, 2, 3]))


def test_codes_too_wide_to_bin_say_so():
    with pytest.raises(DataError, match="too wide"):
        histogram_discretize(np.array([[-1e308], [1e308], [0.0]]))


def test_dci_refuses_a_classifier_it_cannot_use(split):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ConfigError, match="function of the seed"):
        dci(*split, classifier=GradientBoostingClassifier())
    with pytest.raises(ConfigError, match="function of the seed"):
        dci(*split, classifier=GradientBoostingClassifier)
    with pytest.raises(ConfigError, match="feature_importances_"):
        dci(*split, classifier=lambda seed: LogisticRegression(random_state=seed))


def test_factor_vae_settings_at_the_edges():
    source = SyntheticGroundTruth(SIZES)
    with pytest.raises(ConfigError, match="num_variance_estimate"):
        factor_vae_score(source, lambda x: np.asarray(x, dtype=float), num_variance_estimate=1)
    with pytest.raises(ConfigError, match="prune_threshold"):
        factor_vae_score(source, lambda x: np.asarray(x, dtype=float), prune_threshold=True)
    out = factor_vae_score(source, lambda x: np.asarray(x, dtype=float), prune_threshold=np.float32(0.05),
                           num_train=40, num_eval=20, num_variance_estimate=50, batch_size=8)
    assert out["eval_accuracy"] > 0.9


class _Counting(nn.Module):
    """The first ``width`` factors as the embedding; counts the observations it encodes."""

    def __init__(self, width):
        super().__init__()
        self.width, self.seen = width, 0
        self.unused = nn.Linear(1, 1)

    def forward(self, x):
        self.seen += len(x)
        return EncoderOutput(embedding=x.float()[:, :self.width])


@pytest.mark.parametrize("sizes, width, metric", [((3, 4, 3), 1, "mig"), ((3, 4, 3), 1, "sap"),
                                                  ((5,), 1, "modularity_explicitness")])
def test_a_metric_that_cannot_score_the_model_is_refused_before_any_work(sizes, width, metric):
    encoder = _Counting(width)
    model = create_model("AE", input_dim=[len(sizes)], latent_dim=width, encoder=encoder)
    with pytest.raises(ConfigError, match=f"{metric} needs at least"):
        evaluate(model, tasks="disentanglement", ground_truth=SyntheticGroundTruth(sizes),
                 disentanglement_metrics=("beta_vae", "factor_vae", metric), disentanglement_num_train=50,
                 disentanglement_num_test=20)
    assert encoder.seen <= 1, "metrics ran before the request was refused"


def test_factor_vae_needs_batches_of_two():
    with pytest.raises(ConfigError, match="disentanglement_batch_size"):
        EvaluationConfig(disentanglement_batch_size=1)
    config = EvaluationConfig(disentanglement_batch_size=1, disentanglement_metrics=("mig",))
    assert config.disentanglement_batch_size == 1  # MIG takes any batch size
