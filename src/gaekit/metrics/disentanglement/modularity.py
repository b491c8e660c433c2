"""Modularity and Explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings with the
F-Statistic Loss", Section 3), with the protocol of Locatello et al. 2019: 10,000 training and 5,000 test
samples, codes discretised into 20 bins for the mutual information.

- Modularity: with ``m_ik`` the mutual information of code ``i`` and factor ``k`` and ``theta_i = max_k m_ik``,
  ``delta_i = sum_{k != argmax} m_ik^2 / (theta_i^2 (K - 1))`` and modularity ``= mean_i (1 - delta_i)`` (a code
  with no information scores 0).
- Explicitness: per factor, a one-vs-rest logistic regression (liblinear, ``C=1``: scikit-learn's defaults when
  the study ran) on the standardised codes; the factor's score is the mean one-vs-rest ROC AUC of its classes,
  and explicitness the mean over factors (train and test).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gaekit.errors import DataError
from gaekit.metrics.disentanglement._arrays import (
    check_pair,
    discrete_mutual_info,
    estimator_seed,
    histogram_discretize,
    protocol_logistic,
    standardise,
)
from gaekit.metrics.disentanglement.ground_truth import GroundTruthData, Representation, train_test_samples

__all__ = ["compute_modularity_explicitness", "explicitness", "modularity", "modularity_from_mutual_info"]


def modularity_from_mutual_info(mutual_info: Any) -> float:
    """Modularity of a ``(D, K)`` mutual-information matrix (codes x factors, ``K >= 2``)."""
    m = np.asarray(mutual_info, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] == 0 or m.shape[1] < 2 or not np.isfinite(m).all() or (m < 0).any():
        raise DataError(f"mutual_info of shape {m.shape}: expected a (D, K) matrix of finite values >= 0, K >= 2")
    sq = m**2
    theta2 = sq.max(1)
    delta = np.divide(sq.sum(1) - theta2, theta2 * (m.shape[1] - 1), out=np.ones_like(theta2), where=theta2 > 0)
    return float(np.mean(np.where(theta2 > 0, 1.0 - delta, 0.0)))


def modularity(codes: Any, factors: Any, *, num_bins: int = 20) -> dict[str, Any]:
    """Modularity of ``(N, D)`` codes against ``(N, K)`` discrete factors: ``modularity_score`` and
    ``mutual_info``."""
    z, y = check_pair(codes, factors, "modularity")
    mi = discrete_mutual_info(histogram_discretize(z, num_bins), y)
    return {"modularity_score": modularity_from_mutual_info(mi), "mutual_info": mi.tolist(), "num_bins": num_bins}


def _mean_auc(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean one-vs-rest ROC AUC over the classes that occur, and not alone, in ``labels``."""
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(labels == c, proba[:, j]) for j, c in enumerate(classes)
            if 0 < np.sum(labels == c) < labels.size]
    return float(np.mean(aucs)) if aucs else 0.5


def explicitness(train_codes: Any, train_factors: Any, test_codes: Any, test_factors: Any, *,
                 seed: int = 0) -> dict[str, Any]:
    """Explicitness of codes against discrete factors (see the module docstring).

    A test class the classifier never saw, or one that makes up all or none of the test set, has no AUC and
    is left out of its factor's mean.

    Returns
    -------
    dict
        ``explicitness_score_train``/``_test`` and ``per_factor_test``.
    """
    from sklearn.exceptions import ConvergenceWarning

    z, y = check_pair(train_codes, train_factors, "explicitness train")
    zt, yt = check_pair(test_codes, test_factors, "explicitness test")
    if zt.shape[1] != z.shape[1] or yt.shape[1] != y.shape[1]:
        raise DataError(f"explicitness: train {z.shape}/{y.shape} and test {zt.shape}/{yt.shape} differ in width")
    seed = estimator_seed(seed, "explicitness: seed")
    z, zt = standardise(z, zt)
    train, test = [], []
    for k in range(y.shape[1]):
        if np.unique(y[:, k]).size < 2:
            raise DataError(f"explicitness: factor {k} takes a single value in the training sample")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = protocol_logistic(seed).fit(z, y[:, k])
        train.append(_mean_auc(y[:, k], clf.predict_proba(z), clf.classes_))
        test.append(_mean_auc(yt[:, k], clf.predict_proba(zt), clf.classes_))
    return {"explicitness_score_train": float(np.mean(train)), "explicitness_score_test": float(np.mean(test)),
            "per_factor_test": test}


def compute_modularity_explicitness(data: GroundTruthData, representation: Representation, *,
                                    num_train: int = 10000, num_test: int = 5000, num_bins: int = 20,
                                    seed: int = 0, batch_size: int = 64) -> dict[str, Any]:
    """Modularity (on the training samples) and explicitness of ``representation`` on random samples of
    ``data`` (Locatello et al. 2019 defaults)."""
    (z, y), (zt, yt), _ = train_test_samples(data, representation, num_train, num_test, seed, batch_size)
    return {**modularity(z, y, num_bins=num_bins), **explicitness(z, y, zt, yt, seed=seed),
            "num_train": num_train, "num_test": num_test}
