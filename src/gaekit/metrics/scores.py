"""Metric maths: Fréchet distance, Inception Score and clustering accuracy (numpy, float64).

These are the scores behind the Pythae benchmark's tasks (Chadebec et al. 2022, "Pythae:
Unifying Generative Autoencoders in Python", arXiv:2206.08309, Section 4.2):

- the Fréchet Inception Distance (FID; Heusel et al. 2017, "GANs Trained by a Two Time-Scale
  Update Rule Converge to a Local Nash Equilibrium", arXiv:1706.08500, Eq. 6) is the Fréchet
  (2-Wasserstein) distance between two Gaussians fitted to feature vectors;
- the Inception Score (IS; Salimans et al. 2016, "Improved Techniques for Training GANs",
  arXiv:1606.03498, Section 4) is ``exp(E_x KL(p(y|x) || p(y)))``;
- clustering accuracy assigns each cluster its most frequent label (Section 4.2, Task 4).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gaekit.errors import ConfigError, DataError

__all__ = [
    "cluster_accuracy",
    "feature_statistics",
    "fid_from_features",
    "frechet_distance",
    "inception_score",
]


def _as_2d(features: Any, name: str) -> np.ndarray:
    if hasattr(features, "detach"):
        features = features.detach().to("cpu").double().numpy()
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (samples, features); got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise DataError(f"{name} has {arr.shape[0]} sample(s); at least 2 are needed for a covariance")
    if not np.isfinite(arr).all():
        raise DataError(f"{name} holds NaN or infinite values")
    return arr


def feature_statistics(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof=1``, as in the reference FID code) of ``(N, D)`` features, in float64."""
    arr = _as_2d(features, "features")
    return arr.mean(axis=0), np.cov(arr, rowvar=False).reshape(arr.shape[1], arr.shape[1])


def _denoise(eigenvalues: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with those below its rounding noise (``n * eps * max``) set to 0,
    so null directions contribute exactly nothing (rather than ``sqrt(noise)``)."""
    floor = max(float(eigenvalues.max(initial=0.0)), 0.0) * eigenvalues.size * np.finfo(np.float64).eps
    return np.where(eigenvalues > floor, eigenvalues, 0.0)


def _sqrt_psd(mat: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh(mat)
    return (v * np.sqrt(_denoise(w))) @ v.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})`` (Heusel et al. 2017,
    arXiv:1706.08500, Eq. 6). The trace of the matrix square root is computed without ever forming
    a non-symmetric product: ``sigma1 sigma2`` has the same eigenvalues as the symmetric positive
    semi-definite ``S = sigma1^{1/2} sigma2 sigma1^{1/2}``, so ``Tr (sigma1 sigma2)^{1/2}`` is the sum
    of the square roots of ``S``'s eigenvalues (``numpy.linalg.eigh``, float64). This is exact for
    singular and near-singular covariances (features confined to a subspace, fewer samples than
    dimensions), where ``scipy.linalg.sqrtm(sigma1 @ sigma2)`` needs an ``eps`` on the diagonal and
    returns complex values; eigenvalues below the rounding noise (``D * eps * largest``, negative
    ones included) are taken as 0.

    Parameters
    ----------
    mu1, mu2 : array-like, shape (D,)
    sigma1, sigma2 : array-like, shape (D, D)
        Symmetric positive semi-definite covariances (symmetrised before use).

    Returns
    -------
    float
        The squared Fréchet distance (what "FID" reports), >= 0.

    Raises
    ------
    DataError
        For mismatched shapes or non-finite values.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise DataError(
            f"frechet_distance: shapes do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, "
            f"sigma2 {sigma2.shape}; expected (D,) means and (D, D) covariances"
        )
    for name, a in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(a).all():
            raise DataError(f"frechet_distance: {name} holds NaN or infinite values")
    sigma1 = (sigma1 + sigma1.T) / 2
    sigma2 = (sigma2 + sigma2.T) / 2
    root1 = _sqrt_psd(sigma1)
    inner = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = float(np.sqrt(_denoise(eig)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def fid_from_features(features1: Any, features2: Any) -> float:
    """Fréchet distance between Gaussians fitted to two ``(N, D)`` feature arrays (the FID when the
    features are Inception-v3 pool features)."""
    a = _as_2d(features1, "features1")
    b = _as_2d(features2, "features2")
    if a.shape[1] != b.shape[1]:
        raise DataError(f"the two feature sets have {a.shape[1]} and {b.shape[1]} dimensions; they must match")
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def inception_score(logits: Any, splits: int = 10, from_logits: bool = True) -> tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) || p(y)))`` with its spread over splits.

    As in Salimans et al. 2016 (arXiv:1606.03498, Section 4) and their reference code, the samples
    are cut into ``splits`` contiguous parts; within each, ``p(y)`` is the mean of the ``p(y|x)``
    and the score is computed; the mean and standard deviation of the part scores are returned.
    Uniform predictions give 1; confident predictions spread evenly over ``k`` classes give ``k``.

    Parameters
    ----------
    logits : array-like, shape (N, K)
        Classifier outputs: logits (``from_logits=True``, soft-maxed in float64) or probabilities.
    splits : int, default 10
        Number of parts (at most ``N``).
    from_logits : bool, default True

    Returns
    -------
    (float, float)
        Mean and standard deviation of the score over the parts.
    """
    arr = _as_2d(logits, "logits")
    if isinstance(splits, bool) or not isinstance(splits, int) or not 1 <= splits <= arr.shape[0]:
        raise ConfigError(f"splits={splits!r} is invalid: expected an int in [1, {arr.shape[0]}] (the sample count)")
    if from_logits:
        shifted = arr - arr.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    else:
        if (arr < 0).any() or not np.allclose(arr.sum(axis=1), 1.0, atol=1e-4):
            raise DataError("probabilities must be non-negative and sum to 1 per row (or pass from_logits=True)")
        with np.errstate(divide="ignore"):
            log_p = np.log(arr)
    p = np.exp(log_p)
    scores = []
    for part in np.array_split(np.arange(arr.shape[0]), splits):
        p_y = p[part].mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(p[part] > 0, p[part] * (log_p[part] - np.log(p_y)), 0.0).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def cluster_accuracy(labels: Any, assignments: Any) -> float:
    """Accuracy of a clustering once each cluster is given its most frequent label.

    Pythae (arXiv:2206.08309, Section 4.2, Task 4): "to measure accuracy we assign the label of the
    most prevalent class to each cluster". Ties go to the smaller label.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        True class labels.
    assignments : array-like of int, shape (N,)
        Cluster index of each sample.

    Returns
    -------
    float
        Fraction of samples whose label is their cluster's majority label.
    """
    y = np.asarray(labels).reshape(-1)
    c = np.asarray(assignments).reshape(-1)
    if y.shape != c.shape or y.size == 0:
        raise DataError(f"labels ({y.shape}) and assignments ({c.shape}) must be non-empty and of one length")
    _, y_idx = np.unique(y, return_inverse=True)
    _, c_idx = np.unique(c, return_inverse=True)
    table = np.zeros((c_idx.max() + 1, y_idx.max() + 1), dtype=np.int64)
    np.add.at(table, (c_idx, y_idx), 1)
    return float(table.max(axis=1).sum() / y.size)


def majority_labels(labels: np.ndarray, assignments: np.ndarray, n_clusters: int) -> np.ndarray:
    """The most frequent label of each of ``n_clusters`` clusters (-1 for an empty cluster)."""
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    c = np.asarray(assignments).reshape(-1).astype(np.int64)
    table = np.zeros((n_clusters, int(y.max()) + 1), dtype=np.int64)
    np.add.at(table, (c, y), 1)
    out = table.argmax(axis=1)
    out[table.sum(axis=1) == 0] = -1
    return out
