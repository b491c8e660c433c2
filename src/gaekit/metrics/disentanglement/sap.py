"""Separated Attribute Predictability (Kumar, Sattigeri & Balakrishnan 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations", Section 3), with the protocol of Locatello et
al. 2019: 10,000 training and 5,000 test samples, discrete factors.

Score matrix ``S[i, k]``: for a discrete factor, the test accuracy of a linear SVM (``LinearSVC(C=0.01,
class_weight="balanced")``) predicting factor ``k`` from code ``i`` alone; for a continuous factor, the R^2 of
a linear fit (``cov(z_i, v_k)^2 / (var z_i var v_k)``, 0 for a constant code). ``SAP = mean_k`` of the gap
between the two largest entries of column ``k``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gaekit.errors import DataError
from gaekit.metrics.disentanglement._arrays import as_codes, check_pair, estimator_seed
from gaekit.metrics.disentanglement.ground_truth import GroundTruthData, Representation, train_test_samples

__all__ = ["compute_sap", "sap", "sap_from_scores", "sap_score_matrix"]


def sap_from_scores(score_matrix: Any) -> float:
    """SAP from a ``(D, K)`` score matrix (codes x factors): the mean over factors of the top-two gap."""
    s = as_codes(score_matrix, "score_matrix")
    if s.shape[0] < 2:
        raise DataError(f"score_matrix has shape {s.shape}; SAP needs at least two codes (rows)")
    top = np.sort(s, axis=0)[::-1]
    return float(np.mean(top[0] - top[1]))


def sap_score_matrix(train_codes: Any, train_factors: Any, test_codes: Any, test_factors: Any, *,
                     continuous_factors: bool = False, seed: int = 0) -> np.ndarray:
    """The ``(D, K)`` SAP score matrix (see the module docstring); ``seed`` seeds the SVMs."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    z, y = check_pair(train_codes, train_factors, "sap train", discrete=not continuous_factors)
    zt, yt = check_pair(test_codes, test_factors, "sap test", discrete=not continuous_factors)
    if zt.shape[1] != z.shape[1] or yt.shape[1] != y.shape[1]:
        raise DataError(f"sap: train {z.shape}/{y.shape} and test {zt.shape}/{yt.shape} codes/factors differ in width")
    seed = estimator_seed(seed, "sap: seed")
    scores = np.zeros((z.shape[1], y.shape[1]))
    for k in range(y.shape[1]):
        if np.unique(y[:, k]).size < 2:
            raise DataError(f"sap: factor {k} takes a single value in the training sample; every factor must vary")
        for i in range(z.shape[1]):
            if continuous_factors:
                var_z, var_y = z[:, i].var(), y[:, k].var()
                cov = np.mean((z[:, i] - z[:, i].mean()) * (y[:, k] - y[:, k].mean()))
                scores[i, k] = cov**2 / (var_z * var_y) if var_z > 1e-12 else 0.0
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                svm = LinearSVC(C=0.01, class_weight="balanced", random_state=seed).fit(z[:, i:i + 1], y[:, k])
            scores[i, k] = float(np.mean(svm.predict(zt[:, i:i + 1]) == yt[:, k]))
    return scores


def sap(train_codes: Any, train_factors: Any, test_codes: Any, test_factors: Any, *,
        continuous_factors: bool = False, seed: int = 0) -> dict[str, Any]:
    """SAP of codes against discrete factors (or continuous ones, real-valued, with ``continuous_factors``).

    Returns
    -------
    dict
        ``sap_score`` and ``score_matrix`` (``D x K``).
    """
    s = sap_score_matrix(train_codes, train_factors, test_codes, test_factors,
                         continuous_factors=continuous_factors, seed=seed)
    return {"sap_score": sap_from_scores(s), "score_matrix": s.tolist()}


def compute_sap(data: GroundTruthData, representation: Representation, *, num_train: int = 10000,
                num_test: int = 5000, continuous_factors: bool = False, seed: int = 0,
                batch_size: int = 64) -> dict[str, Any]:
    """SAP of ``representation`` on random samples of ``data`` (Locatello et al. 2019 defaults)."""
    (z, y), (zt, yt), _ = train_test_samples(data, representation, num_train, num_test, seed, batch_size)
    out = sap(z, y, zt, yt, continuous_factors=continuous_factors, seed=seed)
    return {**out, "num_train": num_train, "num_test": num_test}
