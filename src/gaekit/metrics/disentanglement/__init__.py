"""Disentanglement metrics, each from its paper with the protocol defaults of Locatello et al. 2019
("Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations", ICML):
the beta-VAE score, the FactorVAE score, MIG, SAP, DCI, Modularity and Explicitness.

Two interfaces: ``compute_*`` / ``*_score`` take a ground-truth source (:class:`GroundTruthData`, e.g.
:class:`DSpritesGroundTruth`) and a representation function (observations -> ``(n, D)`` codes, e.g.
:func:`model_representation`); the sample-only metrics also take precomputed ``(codes, factors)`` arrays
(:func:`mig`, :func:`sap`, :func:`dci`, :func:`modularity`, :func:`explicitness`). scikit-learn loads only when
a metric needs it. :data:`METRICS` names every data-source metric, each called as
``METRICS[name](data, representation, **settings)``. See ``docs/disentanglement.md``.
"""

from gaekit.metrics.disentanglement._arrays import discrete_entropy, discrete_mutual_info, histogram_discretize
from gaekit.metrics.disentanglement.beta_vae import beta_vae_score
from gaekit.metrics.disentanglement.dci import compute_dci, dci, dci_from_importance
from gaekit.metrics.disentanglement.factor_vae import factor_vae_score, majority_vote_accuracy
from gaekit.metrics.disentanglement.ground_truth import (
    GROUND_TRUTH_DATASETS,
    ColorDSpritesGroundTruth,
    DSpritesGroundTruth,
    GroundTruthData,
    NoisyDSpritesGroundTruth,
    SyntheticGroundTruth,
    ground_truth_for_dataset,
    model_representation,
    representation_samples,
)
from gaekit.metrics.disentanglement.mig import compute_mig, mig, mig_from_mutual_info
from gaekit.metrics.disentanglement.modularity import (
    compute_modularity_explicitness,
    explicitness,
    modularity,
    modularity_from_mutual_info,
)
from gaekit.metrics.disentanglement.sap import compute_sap, sap, sap_from_scores, sap_score_matrix

METRICS = {
    "beta_vae": beta_vae_score,
    "factor_vae": factor_vae_score,
    "mig": compute_mig,
    "sap": compute_sap,
    "dci": compute_dci,
    "modularity_explicitness": compute_modularity_explicitness,
}

__all__ = [
    "GROUND_TRUTH_DATASETS", "METRICS", "ColorDSpritesGroundTruth", "DSpritesGroundTruth", "GroundTruthData",
    "NoisyDSpritesGroundTruth", "SyntheticGroundTruth", "beta_vae_score", "compute_dci", "compute_mig",
    "compute_modularity_explicitness", "compute_sap", "dci", "dci_from_importance", "discrete_entropy",
    "discrete_mutual_info", "explicitness", "factor_vae_score", "ground_truth_for_dataset", "histogram_discretize",
    "majority_vote_accuracy", "mig", "mig_from_mutual_info", "model_representation", "modularity",
    "modularity_from_mutual_info", "representation_samples", "sap", "sap_from_scores", "sap_score_matrix",
]
