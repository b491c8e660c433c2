"""The FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising", Section 4), with the protocol of
Locatello et al. 2019: batches of 64, 10,000 training and 5,000 evaluation votes, global variances from 10,000
samples, dimensions with a global standard deviation under 0.05 pruned, a majority-vote classifier.

One vote: draw a factor ``k`` uniformly and a batch of 64 factor rows that share one random value of ``k``;
among the active code dimensions, the one of smallest ``var_batch(z_d) / var_global(z_d)`` votes for ``k``.
The classifier maps each dimension to the factor it voted for most; the score is its accuracy on the
evaluation votes (chance: about ``1 / K``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from gaekit.config import check_count, check_seed
from gaekit.errors import ConfigError, DataError
from gaekit.metrics.disentanglement.ground_truth import (
    GroundTruthData,
    Representation,
    check_rng,
    encode,
    representation_samples,
)

__all__ = ["factor_vae_score", "factor_vae_votes", "majority_vote_accuracy"]


def factor_vae_votes(data: GroundTruthData, representation: Representation, num: int, batch_size: int,
                     rng: np.random.Generator, global_variances: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The ``(num_active, K)`` vote counts of ``num`` votes (see the module docstring)."""
    num, batch_size = check_count(num, "num"), check_count(batch_size, "batch_size")
    if batch_size < 2:
        raise ConfigError(f"batch_size={batch_size} is invalid: a batch variance needs at least 2 rows")
    rng = check_rng(rng, "factor_vae_votes")
    votes = np.zeros((int(active.sum()), data.num_factors), dtype=np.int64)
    for _ in range(num):
        k = int(rng.integers(data.num_factors))
        factors = data.sample_fixed_factor(k, batch_size, rng)
        codes = encode(representation, data.observe(factors), batch_size, "factor_vae_score")
        local = np.var(codes[:, active], axis=0, ddof=1)
        votes[int(np.argmin(local / global_variances[active])), k] += 1
    return votes


def majority_vote_accuracy(train_votes: Any, eval_votes: Any | None = None) -> float:
    """Accuracy of the majority-vote classifier of ``train_votes`` (dimensions x factors) on ``eval_votes``
    (default: on the training votes)."""
    train = np.asarray(train_votes)
    test = train if eval_votes is None else np.asarray(eval_votes)
    if train.ndim != 2 or train.size == 0 or test.shape != train.shape:
        raise DataError(f"vote tables of shapes {train.shape} and {test.shape}: expected two non-empty "
                        "(dimensions, factors) count tables of one shape")
    if not (np.isfinite(train).all() and np.isfinite(test).all()) or (train < 0).any() or (test < 0).any():
        raise DataError("vote tables must hold counts (finite numbers >= 0)")
    if test.sum() == 0:
        return 0.0
    return float(test[np.arange(train.shape[0]), train.argmax(1)].sum() / test.sum())


def factor_vae_score(data: GroundTruthData, representation: Representation, *, batch_size: int = 64,
                     num_train: int = 10000, num_eval: int = 5000, num_variance_estimate: int = 10000,
                     prune_threshold: float = 0.05, seed: int = 0) -> dict[str, Any]:
    """The FactorVAE score of ``representation`` on ``data``.

    Parameters
    ----------
    data : GroundTruthData
    representation : callable
        Observations to ``(n, D)`` codes.
    batch_size, num_train, num_eval, num_variance_estimate : int
    prune_threshold : float, default 0.05
        Dimensions whose global standard deviation is below it are collapsed and take no votes.
    seed : int

    Returns
    -------
    dict
        ``train_accuracy``, ``eval_accuracy`` (the score; both 0 when no dimension is active),
        ``num_active_dims`` and the settings.
    """
    if (isinstance(prune_threshold, (bool, np.bool_)) or not isinstance(prune_threshold, (numbers.Real))
            or not np.isfinite(prune_threshold) or prune_threshold < 0):
        raise ConfigError(f"prune_threshold={prune_threshold!r} is invalid: expected a finite number >= 0")
    num_variance_estimate = check_count(num_variance_estimate, "factor_vae_score: num_variance_estimate", minimum=2)
    rng = np.random.default_rng(check_seed(seed, "factor_vae_score: seed"))
    codes, _ = representation_samples(data, representation, num_variance_estimate, rng, batch_size)
    global_variances = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(global_variances) >= prune_threshold
    active &= global_variances > 0
    out: dict[str, Any] = {"num_active_dims": int(active.sum()), "batch_size": batch_size, "num_train": num_train,
                           "num_eval": num_eval, "num_variance_estimate": num_variance_estimate,
                           "prune_threshold": prune_threshold}
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, **out}
    train = factor_vae_votes(data, representation, num_train, batch_size, rng, global_variances, active)
    test = factor_vae_votes(data, representation, num_eval, batch_size, rng, global_variances, active)
    return {"train_accuracy": majority_vote_accuracy(train), "eval_accuracy": majority_vote_accuracy(train, test),
            **out}
