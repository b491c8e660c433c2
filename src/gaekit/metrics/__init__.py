"""Evaluation: the five tasks of the Pythae benchmark (Chadebec et al. 2022, arXiv:2206.08309,
Section 4.2) and the metrics behind them.

``evaluate(model, data, tasks=..., sampler=..., extractor=...)`` runs reconstruction (per-pixel MSE,
FID), generation (FID, IS), classification (linear probe), clustering (k-means) and interpolation
(PNG grids), plus the importance-sampled NLL of variational models, and returns an
:class:`EvaluationResult` that serialises to JSON. FID/IS use a pluggable feature extractor
(:data:`EXTRACTORS`: the FID Inception-v3, domain classifiers, or any ``nn.Module``).

Importing this package registers the extractors; scikit-learn and tqdm load only when used.
"""

from gaekit.metrics import disentanglement
from gaekit.metrics.classifier import (
    DomainClassifier,
    DomainClassifierConfig,
    DomainClassifierNet,
    domain_classifier,
    train_domain_classifier,
)
from gaekit.metrics.evaluation import evaluate
from gaekit.metrics.evaluation_result import EvaluationResult
from gaekit.metrics.evaluation_spec import DEFAULT_TASKS, TASKS, EvaluationConfig, EvaluationData
from gaekit.metrics.extractors import EXTRACTORS, ExtractorUnavailableError, FeatureExtractor, cache_dir
from gaekit.metrics.inception import (
    FIDInceptionV3,
    ensure_inception_weights,
    expected_state_shapes,
    find_inception_weights,
    load_fid_inception,
)
from gaekit.metrics.probes import kmeans_accuracy, linear_probe
from gaekit.metrics.resolve import resolve_extractor
from gaekit.metrics.scores import (
    cluster_accuracy,
    feature_statistics,
    fid_from_features,
    frechet_distance,
    inception_score,
)

__all__ = [
    "DEFAULT_TASKS", "EXTRACTORS", "TASKS", "DomainClassifier", "DomainClassifierConfig", "DomainClassifierNet",
    "EvaluationConfig", "EvaluationData", "EvaluationResult", "ExtractorUnavailableError", "FIDInceptionV3",
    "FeatureExtractor", "cache_dir", "cluster_accuracy", "domain_classifier", "ensure_inception_weights",
    "evaluate", "expected_state_shapes", "feature_statistics", "fid_from_features", "find_inception_weights",
    "frechet_distance", "inception_score", "kmeans_accuracy", "linear_probe", "load_fid_inception",
    "resolve_extractor", "train_domain_classifier",
    "disentanglement",  # the subpackage gaekit.metrics.disentanglement
]
