"""The beta-VAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", Section 3), with the protocol of Locatello et al. 2019: batches of 64 pairs, 10,000
training and 5,000 evaluation points, a logistic regression (one-vs-rest, liblinear, ``C=1``: scikit-learn's
defaults when the study ran).

One point: draw a factor ``k`` uniformly; draw 64 pairs of factor rows that share factor ``k`` (its value drawn
per pair) and differ at random elsewhere; the point is the mean over the pairs of ``|z(x1) - z(x2)|`` and its
label is ``k``. The score is the classifier's accuracy on the evaluation points (chance: ``1 / K``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from gaekit.config import check_count, check_seed
from gaekit.metrics.disentanglement._arrays import protocol_logistic, sklearn_seed
from gaekit.metrics.disentanglement.ground_truth import GroundTruthData, Representation, check_rng, encode

__all__ = ["beta_vae_points", "beta_vae_score"]


def beta_vae_points(data: GroundTruthData, representation: Representation, num: int, batch_size: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``num`` beta-VAE score points: features ``(num, D)`` and factor labels ``(num,)``."""
    num, batch_size = check_count(num, "num"), check_count(batch_size, "batch_size")
    rng = check_rng(rng, "beta_vae_points")
    features, labels = [], np.empty(num, dtype=np.int64)
    for n in range(num):
        k = int(rng.integers(data.num_factors))
        first, second = data.sample_pairs(k, batch_size, rng)
        codes = encode(representation, data.observe(np.concatenate([first, second])), 2 * batch_size,
                       "beta_vae_score")
        features.append(np.mean(np.abs(codes[:batch_size] - codes[batch_size:]), axis=0))
        labels[n] = k
    return np.stack(features), labels


def beta_vae_score(data: GroundTruthData, representation: Representation, *, batch_size: int = 64,
                   num_train: int = 10000, num_eval: int = 5000, seed: int = 0,
                   classifier: Callable[[int], Any] | None = None) -> dict[str, Any]:
    """The beta-VAE score of ``representation`` on ``data``.

    Parameters
    ----------
    data : GroundTruthData
    representation : callable
        Observations to ``(n, D)`` codes.
    batch_size, num_train, num_eval : int
        Pairs a point, training points, evaluation points.
    seed : int
        Seeds every draw and the classifier.
    classifier : callable, optional
        ``classifier(seed)`` returns a scikit-learn classifier; default the protocol's one-vs-rest liblinear
        ``LogisticRegression(random_state=seed)``.

    Returns
    -------
    dict
        ``train_accuracy``, ``eval_accuracy`` (the score) and the settings.
    """
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(check_seed(seed, "beta_vae_score: seed"))
    x_train, y_train = beta_vae_points(data, representation, num_train, batch_size, rng)
    x_eval, y_eval = beta_vae_points(data, representation, num_eval, batch_size, rng)
    state = sklearn_seed(rng)
    model = (classifier or protocol_logistic)(state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return {"train_accuracy": float(np.mean(model.predict(x_train) == y_train)),
            "eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval)),
            "batch_size": batch_size, "num_train": num_train, "num_eval": num_eval}
