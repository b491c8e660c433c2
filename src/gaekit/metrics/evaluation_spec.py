"""What an evaluation is asked to do: the task names, :class:`EvaluationConfig`, :class:`EvaluationData`,
and the checks of a request (which tasks, which splits they need)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from gaekit.config import BaseConfig
from gaekit.errors import ConfigError, DataError

__all__ = ["DEFAULT_TASKS", "DISENTANGLEMENT_METRICS", "TASKS", "EvaluationConfig", "EvaluationData"]

TASKS = ("reconstruction", "generation", "classification", "clustering", "interpolation", "nll", "disentanglement")
# What ``tasks=None`` runs: every task but disentanglement, which needs a ground-truth factor source.
DEFAULT_TASKS = TASKS[:-1]
# The disentanglement metrics (gaekit.metrics.disentanglement.METRICS), in the order they run.
DISENTANGLEMENT_METRICS = ("beta_vae", "factor_vae", "mig", "sap", "dci", "modularity_explicitness")


@dataclass
class EvaluationConfig(BaseConfig):
    """Settings of :func:`evaluate` (defaults follow the paper where it gives them).

    Parameters
    ----------
    batch_size : int, default 500
        Images per batch for embedding, reconstruction, sampling and feature extraction.
    seed : int, default 0
        Seeds sampling, the classifier runs (``seed``), the k-means runs (``seed + run``) and the
        importance samples of the NLL.
    num_generated : int, optional
        Samples drawn per sampler for FID/IS; default: as many as test images.
    classification_runs : int, default 20
    classification_epochs : int, default 10
    classification_batch_size : int, default 256
    classification_lr : float, default 1e-2
        Adam's step size for the linear classifier (on standardised embeddings).
    classification_weight_decay : float, default 0.0
    clustering_runs : int, default 100
    interpolation_pairs : int, default 8
        Pairs of test images (image ``i`` to image ``pairs + i``), one grid row each.
    interpolation_steps : int, default 10
        Decoded points per path, both ends included.
    traversal_dims : int, default 8
        Latent dimensions traversed (the first ones), one grid row each.
    traversal_steps : int, default 10
    traversal_range : float, default 2.0
        Each traversed code moves by ``[-range, range]`` standard deviations of that dimension.
    num_importance_samples : int, default 100
        Importance samples per test image of the NLL (formerly ``nll_importance_samples``).
    nll_num_test : int, optional
        Test images used for the NLL; default all.
    nll_batch_size : int, default 100
    is_splits : int, default 10
        Parts the Inception Score is averaged over.
    disentanglement_metrics : tuple of str, default all
        The metrics of the disentanglement task, any of ``beta_vae, factor_vae, mig, sap, dci,
        modularity_explicitness``.
    disentanglement_num_train : int, default 10000
        Training samples of every disentanglement metric (points of the beta-VAE score, votes of the FactorVAE
        score and its variance estimate, samples of the others): Locatello et al. 2019's protocol.
    disentanglement_num_test : int, default 5000
        Evaluation samples (points, votes, test samples) of the metrics that hold some out (all but MIG).
    disentanglement_batch_size : int, default 64
        Observations per point of the beta-VAE and FactorVAE scores (the protocol's 64), and the encoding
        batch of the other metrics.
    """

    name: ClassVar[str] = "Evaluation"
    aliases: ClassVar[dict[str, str]] = {"nll_importance_samples": "num_importance_samples"}
    batch_size: int = 500
    seed: int = 0
    num_generated: int | None = None
    classification_runs: int = 20
    classification_epochs: int = 10
    classification_batch_size: int = 256
    classification_lr: float = 1e-2
    classification_weight_decay: float = 0.0
    clustering_runs: int = 100
    interpolation_pairs: int = 8
    interpolation_steps: int = 10
    traversal_dims: int = 8
    traversal_steps: int = 10
    traversal_range: float = 2.0
    num_importance_samples: int = 100
    nll_num_test: int | None = None
    nll_batch_size: int = 100
    is_splits: int = 10
    disentanglement_metrics: tuple[str, ...] = DISENTANGLEMENT_METRICS
    disentanglement_num_train: int = 10000
    disentanglement_num_test: int = 5000
    disentanglement_batch_size: int = 64

    def _check(self) -> None:
        super()._check()
        for name in ("batch_size", "classification_runs", "classification_epochs", "classification_batch_size",
                     "clustering_runs", "interpolation_pairs", "traversal_dims", "num_importance_samples",
                     "nll_batch_size", "is_splits", "disentanglement_batch_size"):
            self._require(name, getattr(self, name) >= 1, "a positive int")
        for name in ("interpolation_steps", "traversal_steps"):
            self._require(name, getattr(self, name) >= 2, "an int >= 2")
        for name in ("num_generated", "nll_num_test"):
            value = getattr(self, name)
            self._require(name, value is None or value >= 2, "an int >= 2 or None")
        self._require("seed", self.seed >= 0, "an int >= 0")
        for name in ("disentanglement_num_train", "disentanglement_num_test"):
            self._require(name, getattr(self, name) >= 2, "an int >= 2")
        chosen = self.disentanglement_metrics
        self._require("disentanglement_metrics", bool(chosen) and len(set(chosen)) == len(chosen)
                      and set(chosen) <= set(DISENTANGLEMENT_METRICS),
                      f"a non-empty selection, without repeats, of {', '.join(DISENTANGLEMENT_METRICS)}")
        self._require("disentanglement_batch_size", "factor_vae" not in chosen or self.disentanglement_batch_size >= 2,
                      "an int >= 2 with factor_vae (its votes compare variances within a batch)")
        self._require_positive("classification_lr", "traversal_range")
        self._require_positive("classification_weight_decay", allow_zero=True)


@dataclass
class EvaluationData:
    """The three splits an evaluation uses (any type ``gaekit.data.as_dataset`` accepts).

    ``train`` is embedded for the classifier, the k-means runs and fitted samplers; ``validation``
    selects the classifier's epoch (and is given to samplers as evaluation data); ``test`` is the
    reference of every reported number. Classification and clustering need labels.
    """

    train: Any = None
    validation: Any = None
    test: Any = None

    @classmethod
    def of(cls, data: Any) -> EvaluationData:
        """Accept an ``EvaluationData``, a ``(train, validation, test)`` sequence, a dict with those keys, or None
        (no splits: enough for the disentanglement task)."""
        if isinstance(data, cls):
            return data
        if data is None:
            return cls()
        if isinstance(data, dict):
            unknown = sorted(set(data) - {"train", "validation", "test"})
            if unknown:
                raise DataError(f"data has unknown keys {unknown}; expected 'train', 'validation', 'test'")
            return cls(**data)
        if isinstance(data, (tuple, list)) and len(data) == 3:
            return cls(*data)
        raise DataError(
            f"data must be an EvaluationData, a (train, validation, test) tuple or a dict with those keys; "
            f"got {type(data).__name__}"
        )


def normalise_tasks(tasks: str | Sequence[str] | None) -> list[str]:
    """The requested tasks in ``TASKS`` order (None: ``DEFAULT_TASKS``); ``ConfigError`` for unknown names or
    none."""
    if tasks is None:
        return list(DEFAULT_TASKS)
    if isinstance(tasks, str):
        tasks = [t for t in (s.strip() for s in tasks.split(",")) if t]
    if not isinstance(tasks, (list, tuple, set, frozenset)) or not all(isinstance(t, str) for t in tasks):
        raise ConfigError(f"tasks={tasks!r} is invalid: expected a comma-separated str or a list of task names "
                          f"({', '.join(TASKS)})")
    tasks = [t.lower() for t in tasks]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ConfigError(f"tasks={tasks!r} is invalid: expected a non-empty selection of {', '.join(TASKS)}")
    return [t for t in TASKS if t in tasks]


def check_splits(tasks: list[str], data: EvaluationData) -> None:
    """Raise ``DataError`` naming the task when a split it needs is missing."""
    need: dict[str, list[str]] = {"test": [], "train": [], "validation": []}
    for task in tasks:
        if task in ("reconstruction", "generation", "interpolation", "nll"):
            need["test"].append(task)
    if "classification" in tasks:
        for split in ("train", "validation", "test"):
            need[split].append("classification")
    if "clustering" in tasks:
        need["train"].append("clustering")
    for split, users in need.items():
        if users and getattr(data, split) is None:
            raise DataError(f"the {split} split is missing; the task(s) {', '.join(users)} need it")

