"""Shared array helpers of the disentanglement metrics: input checks, histogram discretisation, discrete
mutual information and entropies (in nats), and standardisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from gaekit.config import check_count, check_seed
from gaekit.errors import DataError

__all__ = ["as_codes", "as_factors", "check_pair", "discrete_entropy", "discrete_mutual_info",
           "estimator_seed", "histogram_discretize", "protocol_logistic", "sklearn_seed",
           "standardise"]


def as_codes(codes: Any, name: str = "codes") -> np.ndarray:
    """``codes`` (a numpy array, a torch tensor or nested lists) as a finite float64 ``(N, D)`` array."""
    if hasattr(codes, "detach"):  # a torch tensor
        codes = codes.detach().cpu().double().numpy()
    try:
        arr = np.asarray(codes, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"{name} must be a numeric array shaped (N, D): {err}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"{name} has shape {arr.shape}; expected a non-empty (N, D) array (one row a sample)")
    if not np.isfinite(arr).all():
        raise DataError(f"{name} holds NaN or infinite values")
    return arr


def as_factors(factors: Any, name: str = "factors", discrete: bool = True) -> np.ndarray:
    """``factors`` as an int64 ``(N, K)`` array of discrete factor values (integers, e.g. value indices; booleans
    count as 0/1), or with ``discrete=False`` as a finite float64 array of continuous values."""
    if hasattr(factors, "detach"):
        factors = factors.detach().cpu().numpy()
    arr = np.asarray(factors)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"{name} has shape {arr.shape}; expected a non-empty (N, K) array (one row a sample)")
    if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
        raise DataError(f"{name} must hold finite numbers (got dtype {arr.dtype})")
    if not discrete:
        return arr.astype(np.float64)
    if not np.array_equal(arr, np.round(arr)):
        raise DataError(f"{name} must hold discrete values (integers such as value indices); these metrics "
                        "follow Locatello et al. 2019 and treat every factor as discrete")
    return arr.astype(np.int64)


def check_pair(codes: Any, factors: Any, where: str, discrete: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(codes, factors)`` with the same number of rows (factors as in ``as_factors``)."""
    z, y = as_codes(codes, f"{where} codes"), as_factors(factors, f"{where} factors", discrete)
    if z.shape[0] != y.shape[0]:
        raise DataError(f"{where}: {z.shape[0]} code rows but {y.shape[0]} factor rows; expected one row a sample")
    return z, y


def histogram_discretize(codes: Any, num_bins: int = 20) -> np.ndarray:
    """Each code dimension cut into ``num_bins`` equal-width bins between its min and max (bin ids 1..num_bins),
    as in Chen et al. 2018 / Locatello et al. 2019 (20 bins)."""
    z = as_codes(codes)
    num_bins = check_count(num_bins, "num_bins")
    out = np.empty(z.shape, dtype=np.int64)
    for j in range(z.shape[1]):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                edges = np.histogram_bin_edges(z[:, j], bins=num_bins)
        except ValueError:  # numpy: "Too many bins for data range" when max - min overflows
            raise DataError(f"code dimension {j} spans [{z[:, j].min():g}, {z[:, j].max():g}], too wide to cut into "
                            f"{num_bins} equal bins; rescale the codes") from None
        out[:, j] = np.digitize(z[:, j], edges[:-1])
    return out


def _contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai.ravel(), bi.ravel()), 1.0)
    return table / table.sum()


def _mi(a: np.ndarray, b: np.ndarray) -> float:
    p = _contingency(a, b)
    if 1 in p.shape:  # a constant column carries no information: exactly 0, not a rounding residue that
        return 0.0    # Modularity would read as a code about one factor
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float(max(0.0, np.sum(p[nz] * np.log(p[nz] / (pa @ pb)[nz]))))


def _columns(values: Any, name: str) -> np.ndarray:
    """``values`` as a non-empty 2-d array (one row a sample), else ``DataError``."""
    arr = np.asarray(values)
    if arr.ndim != 2 or arr.size == 0:
        raise DataError(f"{name} has shape {arr.shape}; expected a non-empty (N, columns) array (one row a sample)")
    return arr


def discrete_mutual_info(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Empirical (plug-in) mutual information, in nats, between every discrete code column and every factor
    column: a ``(D, K)`` matrix."""
    discrete_codes, factors = _columns(discrete_codes, "discrete_codes"), _columns(factors, "factors")
    if discrete_codes.shape[0] != factors.shape[0]:
        raise DataError(f"discrete_codes has {discrete_codes.shape[0]} rows but factors {factors.shape[0]}")
    return np.array([[_mi(discrete_codes[:, i], factors[:, j]) for j in range(factors.shape[1])]
                     for i in range(discrete_codes.shape[1])])


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """Empirical entropy, in nats, of every column: a ``(K,)`` vector."""
    factors = _columns(factors, "factors")
    out = []
    for j in range(factors.shape[1]):
        _, counts = np.unique(factors[:, j], return_counts=True)
        p = counts / counts.sum()
        out.append(float(-np.sum(p * np.log(p))))
    return np.array(out)


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays centred and scaled with the training mean and standard deviation (constant columns: scale 1)."""
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 1e-12, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def protocol_logistic(seed: int) -> Any:
    """The logistic regression of the beta-VAE score and Explicitness: scikit-learn's ``LogisticRegression()`` as
    disentanglement_lib ran it for Locatello et al. 2019 (the defaults before scikit-learn 0.22: liblinear,
    ``C=1``, one-vs-rest over the classes, probabilities normalised over the classes)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=seed))


def estimator_seed(seed: Any, where: str) -> int:
    """A metric's ``seed`` (any int in [0, 2**63), checked) as a scikit-learn ``random_state``, which must be below
    2**32: taken modulo 2**32, so seeds below it are passed unchanged."""
    return check_seed(seed, where) % 2**32


def sklearn_seed(rng: np.random.Generator) -> int:
    """An int seed for a scikit-learn estimator, drawn from ``rng``."""
    return int(rng.integers(2**31 - 1))
