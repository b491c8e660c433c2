"""Metric maths: Fréchet distance against closed forms, Inception Score on constructed predictions,
clustering accuracy on a constructed clustering, and the latent probes on separable data."""

from __future__ import annotations

import numpy as np
import pytest

from gaekit.errors import ConfigError, DataError
from gaekit.metrics import (
    cluster_accuracy,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
    kmeans_accuracy,
    linear_probe,
)


def _random_cov(rng, d, rank=None):
    b = rng.normal(size=(d, rank or d))
    return b @ b.T


# ---------------------------------------------------------------------- Fréchet distance
def test_frechet_one_dimension_is_mean_gap_plus_std_gap():
    # N(m1, s1^2) vs N(m2, s2^2): d = (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(9.0 + 1.0, rel=1e-12)


def test_frechet_diagonal_covariances_closed_form():
    rng = np.random.default_rng(0)
    d = 16
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("rank", [None, 5])  # full rank, and a singular covariance (rank 5 of 40)
def test_frechet_scaled_covariance_closed_form(rank):
    # sigma2 = c^2 sigma1  =>  (sigma1 sigma2)^(1/2) = c sigma1  =>  d = |dmu|^2 + (1 - c)^2 Tr(sigma1)
    rng = np.random.default_rng(1)
    d, c = 40, 1.7
    sigma1 = _random_cov(rng, d, rank)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + (1 - c) ** 2 * np.trace(sigma1)
    assert frechet_distance(mu1, sigma1, mu2, c**2 * sigma1) == pytest.approx(expected, rel=1e-8)


def test_frechet_near_singular_covariances_are_stable():
    # two rank-3 covariances in 64 dimensions (+1e-12 I): the product is singular, the distance exact
    rng = np.random.default_rng(2)
    d = 64
    basis = np.linalg.qr(rng.normal(size=(d, 3)))[0]
    sigma1 = basis @ np.diag([4.0, 1.0, 0.25]) @ basis.T + 1e-12 * np.eye(d)
    sigma2 = basis @ np.diag([1.0, 9.0, 0.25]) @ basis.T + 1e-12 * np.eye(d)
    value = frechet_distance(np.zeros(d), sigma1, np.zeros(d), sigma2)
    # commuting in the shared basis: sum (sqrt(a_i) - sqrt(b_i))^2 = 1 + 4 + 0
    assert value == pytest.approx(5.0, abs=1e-5)
    assert frechet_distance(np.zeros(d), sigma1, np.zeros(d), sigma1) == pytest.approx(0.0, abs=1e-5)


def test_frechet_matches_scipy_sqrtm_on_general_covariances():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(3)
    d = 20
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    covmean = scipy_linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-8)  # symmetric


def test_fid_from_gaussian_samples_approaches_closed_form():
    rng = np.random.default_rng(4)
    d, n = 4, 40_000
    a = rng.normal(size=(n, d))
    b = 2.0 * rng.normal(size=(n, d)) + 1.0  # N(1, 4 I)
    expected = d * 1.0 + d * (1.0 - 2.0) ** 2
    assert fid_from_features(a, b) == pytest.approx(expected, rel=0.03)
    assert fid_from_features(a, a) == pytest.approx(0.0, abs=1e-9)
    mean, cov = feature_statistics(a)
    assert mean.shape == (d,) and cov.shape == (d, d)


def test_frechet_rejects_bad_inputs():
    with pytest.raises(DataError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(DataError, match="NaN"):
        frechet_distance(np.zeros(2), np.eye(2) * np.nan, np.zeros(2), np.eye(2))
    with pytest.raises(DataError, match="dimensions"):
        fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))


# ---------------------------------------------------------------------- Inception Score
def test_inception_score_uniform_predictions_is_one():
    mean, std = inception_score(np.zeros((100, 10)))
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 10, 250])
def test_inception_score_confident_balanced_is_k(k):
    n = 10 * k  # every one of the 10 splits holds each class once
    logits = np.zeros((n, k))
    logits[np.arange(n), np.arange(n) % k] = 60.0
    mean, std = inception_score(logits, splits=10)
    assert mean == pytest.approx(k, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6 * k)


def test_inception_score_from_probabilities_and_collapse():
    probs = np.zeros((50, 5))
    probs[:, 2] = 1.0  # confident but all one class: no diversity, score 1
    assert inception_score(probs, splits=5, from_logits=False)[0] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="splits"):
        inception_score(np.zeros((4, 3)), splits=5)
    with pytest.raises(DataError, match="sum to 1"):
        inception_score(np.full((4, 3), 0.5), splits=1, from_logits=False)


# ---------------------------------------------------------------------- clustering accuracy
def test_cluster_accuracy_majority_label():
    labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    clusters = [5, 5, 7, 7, 7, 7, 9, 9, 9]  # cluster 7 holds one 0 and three 1s
    assert cluster_accuracy(labels, clusters) == pytest.approx(8 / 9)
    assert cluster_accuracy(labels, [2, 2, 2, 0, 0, 0, 1, 1, 1]) == 1.0  # a relabelling is perfect
    assert cluster_accuracy(labels, [0] * 9) == pytest.approx(3 / 9)  # one cluster: the biggest class
    with pytest.raises(DataError):
        cluster_accuracy([0, 1], [0])


# ---------------------------------------------------------------------- probes
def _blobs(rng, n_per_class, k=4, d=6, spread=0.3):
    centres = rng.normal(size=(k, d)) * 4
    y = np.repeat(np.arange(k), n_per_class)
    return centres[y] + spread * rng.normal(size=(len(y), d)), y


def test_linear_probe_separable_embeddings_reach_full_accuracy():
    rng = np.random.default_rng(5)
    (xa, ya), (xb, yb), (xc, yc) = (_blobs(np.random.default_rng(5), n) for n in (300, 50, 100))
    out = linear_probe(xa, ya, xb, yb, xc, yc, runs=5, epochs=5, seed=0)
    assert out["test_accuracy_mean"] >= 0.99 and out["validation_accuracy_mean"] >= 0.99
    assert len(out["test_accuracies"]) == 5 and all(1 <= e <= 5 for e in out["best_epochs"])
    again = linear_probe(xa, ya, xb, yb, xc, yc, runs=5, epochs=5, seed=0)
    assert again["test_accuracies"] == out["test_accuracies"]  # seeded
    # random labels carry no signal: the probe stays near chance on test
    noise = linear_probe(xa, rng.integers(0, 4, len(ya)), xb, rng.integers(0, 4, len(yb)), xc,
                         rng.integers(0, 4, len(yc)), runs=3, epochs=3)
    assert noise["test_accuracy_mean"] < 0.45


def test_linear_probe_errors():
    x = np.zeros((10, 3))
    y = np.zeros(10, dtype=int)
    with pytest.raises(DataError, match="labels"):
        linear_probe(x, None, x, y, x, y)
    with pytest.raises(ConfigError, match="runs"):
        linear_probe(x, y, x, y, x, y, runs=0)


def test_kmeans_accuracy_on_separated_blobs():
    x, y = _blobs(np.random.default_rng(6), 200, k=3)
    xt, yt = _blobs(np.random.default_rng(6), 20, k=3)
    out = kmeans_accuracy(x, y, runs=4, seed=0, test_z=xt, test_y=yt)
    assert out["n_clusters"] == 3 and len(out["accuracies"]) == 4
    assert out["accuracy_mean"] > 0.9 and out["test_accuracy_mean"] > 0.9
    assert kmeans_accuracy(x, y, runs=4, seed=0)["accuracies"] == out["accuracies"]  # seeded
