"""DCI: Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018, "A Framework for the
Quantitative Evaluation of Disentangled Representations", Section 2), with the protocol of Locatello et al.
2019: one gradient-boosted-trees classifier per factor (scikit-learn's ``GradientBoostingClassifier``
defaults), 10,000 training and 5,000 test samples.

The importance matrix ``R[i, k]`` is the (absolute) feature importance of code ``i`` in the classifier of
factor ``k``. With ``P_ik = R_ik / sum_k R_ik`` and ``H_K`` the entropy in base ``K``:

- disentanglement ``D = sum_i rho_i (1 - H_K(P_i.))``, ``rho_i = sum_k R_ik / sum R``;
- completeness ``C = sum_k rho_k (1 - H_D(R_.k / sum_i R_ik))``, ``rho_k = sum_i R_ik / sum R``;
- informativeness: the classifiers' mean accuracy (train and test).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gaekit.errors import ConfigError, DataError
from gaekit.metrics.disentanglement._arrays import check_pair, estimator_seed
from gaekit.metrics.disentanglement.ground_truth import GroundTruthData, Representation, train_test_samples

__all__ = ["compute_dci", "dci", "dci_from_importance"]


def _one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """``1 - H_base`` of every row of non-negative ``p`` (normalised per row; 0 for an all-zero row)."""
    if base < 2:
        return np.ones(p.shape[0])
    totals = p.sum(1, keepdims=True)
    q = np.divide(p, totals, out=np.zeros_like(p), where=totals > 0)
    logs = np.log(q, out=np.zeros_like(q), where=q > 0)
    out = 1.0 + np.sum(q * logs, axis=1) / np.log(base)
    return np.where(totals[:, 0] > 0, out, 0.0)


def dci_from_importance(importance: Any) -> dict[str, float]:
    """Disentanglement and completeness of a non-negative ``(D, K)`` importance matrix (codes x factors); both 0
    when every importance is 0.

    Raises
    ------
    DataError
        Not a 2-d matrix of finite non-negative numbers.
    """
    r = np.asarray(importance, dtype=np.float64)
    if r.ndim != 2 or r.size == 0 or not np.isfinite(r).all() or (r < 0).any():
        raise DataError(f"importance matrix of shape {r.shape}: expected a non-empty (D, K) matrix of finite "
                        "values >= 0")
    total = r.sum()
    if total == 0:
        return {"disentanglement": 0.0, "completeness": 0.0}
    d = float(np.sum(_one_minus_entropy(r, r.shape[1]) * r.sum(1) / total))
    c = float(np.sum(_one_minus_entropy(r.T, r.shape[0]) * r.sum(0) / total))
    return {"disentanglement": d, "completeness": c}


def _default_classifier(seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(random_state=seed)


def dci(train_codes: Any, train_factors: Any, test_codes: Any, test_factors: Any, *,
        classifier: Callable[[int], Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """DCI of codes against discrete factors.

    Parameters
    ----------
    train_codes, test_codes : array-like, shape (N, D)
    train_factors, test_factors : array-like of int, shape (N, K)
    classifier : callable, optional
        ``classifier(seed)`` returns a scikit-learn classifier with ``feature_importances_`` after ``fit``;
        default: ``GradientBoostingClassifier(random_state=seed)`` (the protocol).
    seed : int
        In [0, 2**63); the classifiers get it modulo 2**32 (scikit-learn's range).

    Returns
    -------
    dict
        ``disentanglement``, ``completeness``, ``informativeness_train``/``_test`` (mean accuracies),
        ``importance_matrix`` (``D x K``).
    """
    z, y = check_pair(train_codes, train_factors, "dci train")
    zt, yt = check_pair(test_codes, test_factors, "dci test")
    if zt.shape[1] != z.shape[1] or yt.shape[1] != y.shape[1]:
        raise DataError(f"dci: train {z.shape}/{y.shape} and test {zt.shape}/{yt.shape} codes/factors differ in width")
    seed = estimator_seed(seed, "dci: seed")
    if classifier is not None and (isinstance(classifier, type) or not callable(classifier)
                                   or hasattr(classifier, "fit")):
        raise ConfigError(f"dci: classifier={classifier!r} is invalid: expected a function of the seed returning a "
                          "new scikit-learn classifier, e.g. lambda seed: RandomForestClassifier(random_state=seed)")
    make = classifier or _default_classifier
    importance = np.zeros((z.shape[1], y.shape[1]))
    acc_train, acc_test = [], []
    for k in range(y.shape[1]):
        if np.unique(y[:, k]).size < 2:
            raise DataError(f"dci: factor {k} takes a single value in the training sample; every factor must vary")
        model = make(seed).fit(z, y[:, k])
        found = np.asarray(getattr(model, "feature_importances_", None), dtype=np.float64)
        if found.shape != (z.shape[1],):
            raise ConfigError(f"dci: the classifier {type(model).__name__} gives no feature_importances_ of one "
                              f"value per code ({z.shape[1]}) after fit; DCI needs one (e.g. tree ensembles)")
        importance[:, k] = np.abs(found)
        acc_train.append(float(np.mean(model.predict(z) == y[:, k])))
        acc_test.append(float(np.mean(model.predict(zt) == yt[:, k])))
    return {**dci_from_importance(importance), "informativeness_train": float(np.mean(acc_train)),
            "informativeness_test": float(np.mean(acc_test)), "importance_matrix": importance.tolist()}


def compute_dci(data: GroundTruthData, representation: Representation, *, num_train: int = 10000,
                num_test: int = 5000, classifier: Callable[[int], Any] | None = None, seed: int = 0,
                batch_size: int = 64) -> dict[str, Any]:
    """DCI of ``representation`` on random samples of ``data`` (Locatello et al. 2019 defaults)."""
    (z, y), (zt, yt), _ = train_test_samples(data, representation, num_train, num_test, seed, batch_size)
    return {**dci(z, y, zt, yt, classifier=classifier, seed=seed), "num_train": num_train, "num_test": num_test}
