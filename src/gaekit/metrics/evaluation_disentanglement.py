"""The ``disentanglement`` task of :func:`~gaekit.metrics.evaluate`: the metrics of
:mod:`gaekit.metrics.disentanglement` on a ground-truth factor source, for the model's embedding.

The representation is the model's embedding (the posterior mean for variational models), as in Locatello et al.
2019 ("Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations", ICML,
Section 5). Every metric draws its own factors from one generator seeded with ``EvaluationConfig.seed``, so a
score is a pure function of the model, the source and the settings. The sample counts are the protocol's
(``disentanglement_num_train`` 10,000, ``disentanglement_num_test`` 5,000, batches of
``disentanglement_batch_size`` 64); smaller ones trade precision for time (DCI's gradient boosting at the
defaults takes about 14 minutes a model on 2 CPU cores).
"""

from __future__ import annotations

from typing import Any

from gaekit.errors import ConfigError
from gaekit.metrics.disentanglement import METRICS, GroundTruthData, model_representation
from gaekit.metrics.disentanglement.ground_truth import encode
from gaekit.metrics.evaluation_run import EvaluationRun, progress_bar

__all__ = ["HEADLINES", "check_metrics_apply", "disentanglement", "metric_counts", "resolve_ground_truth"]

# What each metric needs of the representation's codes and of the source's factors (at least this many).
_NEEDS: dict[str, tuple[int, int]] = {"mig": (2, 1), "sap": (2, 1), "modularity_explicitness": (1, 2)}

# The headline number(s) of each metric's result, as ``(flat name, key of the metric's result)``.
HEADLINES: dict[str, tuple[tuple[str, str], ...]] = {
    "beta_vae": (("beta_vae", "eval_accuracy"),),
    "factor_vae": (("factor_vae", "eval_accuracy"),),
    "mig": (("mig", "discrete_mig"),),
    "sap": (("sap", "sap_score"),),
    "dci": (("dci_disentanglement", "disentanglement"), ("dci_completeness", "completeness"),
            ("dci_informativeness", "informativeness_test")),
    "modularity_explicitness": (("modularity", "modularity_score"), ("explicitness", "explicitness_score_test")),
}
assert tuple(HEADLINES) == tuple(METRICS)


def resolve_ground_truth(ground_truth: Any, dataset: str | None, model: Any, data_dir: Any = None) -> GroundTruthData:
    """The task's factor source: ``ground_truth`` itself, else the source of ``dataset`` (``"dsprites"``,
    ``"color-dsprites"``, ``"noisy-dsprites"``), checked to observe what ``model`` takes.

    Raises
    ------
    ConfigError
        Neither is given, ``dataset`` has no known factors, or ``ground_truth`` is not a source.
    DataError
        The source's observations do not have the model's input shape.
    """
    if ground_truth is not None:
        if not isinstance(ground_truth, GroundTruthData):
            raise ConfigError(f"ground_truth must be a gaekit.metrics.disentanglement.GroundTruthData (e.g. "
                              f"DSpritesGroundTruth()); got {type(ground_truth).__name__}")
        source = ground_truth
    elif dataset is None:
        raise ConfigError("the disentanglement task needs the data's ground-truth factors: pass ground_truth= "
                          "(a GroundTruthData, e.g. DSpritesGroundTruth.cached()) or dataset='dsprites' "
                          "(or 'color-dsprites', 'noisy-dsprites')")
    else:
        from gaekit.metrics.disentanglement import ground_truth_for_dataset

        source = ground_truth_for_dataset(dataset, root=data_dir)
    _check_shape(source, model)
    return source


def _check_shape(source: GroundTruthData, model: Any) -> None:
    """``DataError`` unless the source's observations have the model's input shape."""
    import numpy as np
    import torch

    from gaekit.errors import DataError

    obs = source.observe(np.zeros((1, source.num_factors), dtype=np.int64))
    try:
        arr = obs if isinstance(obs, torch.Tensor) else np.asarray(obs)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim < 1 or (isinstance(arr, np.ndarray) and arr.dtype.kind not in "biuf"):
        raise DataError(f"the ground-truth source {type(source).__name__}.observe returned {type(obs).__name__}; "
                        "expected an array (numpy, torch or nested lists of numbers) of shape (n, *input_dim)")
    shape = tuple(arr.shape[1:])
    if shape != tuple(model.input_dim):
        raise DataError(f"the ground-truth source {type(source).__name__} gives observations of shape {shape}, but "
                        f"the model takes input_dim={tuple(model.input_dim)}; evaluate a model trained on that data")


def check_metrics_apply(source: GroundTruthData, model: Any, cfg: Any) -> None:
    """``ConfigError`` before any metric runs when a chosen metric cannot score ``model`` on ``source``: MIG and
    SAP compare the two most informative codes (two codes at least); Modularity compares the factors a code
    informs about (two factors at least). The codes' width is read off one encoded observation."""
    import numpy as np

    _, observation = source.sample(1, np.random.default_rng(0))
    codes = encode(model_representation(model), observation, 1, "the disentanglement task").shape[1]
    for name in cfg.disentanglement_metrics:
        min_codes, min_factors = _NEEDS.get(name, (1, 1))
        if codes < min_codes or source.num_factors < min_factors:
            raise ConfigError(
                f"disentanglement_metrics: {name} needs at least {min_codes} code dimension(s) and {min_factors} "
                f"factor(s); {model.model_config.name} gives {codes} code dimension(s) and "
                f"{type(source).__name__} has {source.num_factors} factor(s). Leave {name} out of "
                "disentanglement_metrics")


def metric_counts(metric: str, num_train: int, num_test: int) -> dict[str, int]:
    """The sample-count keywords of ``metric`` (a name of ``METRICS``) from the task's two counts: ``num_train``
    for training samples and the FactorVAE variances, ``num_test`` for test samples and evaluation points. The
    keywords are the same in disentanglement_lib's metric functions."""
    counts = {"num_train": num_train}
    if metric in ("beta_vae", "factor_vae"):
        counts["num_eval"] = num_test
    if metric == "factor_vae":
        counts["num_variance_estimate"] = num_train
    if metric in ("sap", "dci", "modularity_explicitness"):
        counts["num_test"] = num_test
    return counts


def _settings(cfg: Any, metric: str) -> dict[str, Any]:
    """The metric's keyword arguments from the evaluation settings (the same counts for every metric)."""
    return {"seed": cfg.seed, "batch_size": cfg.disentanglement_batch_size,
            **metric_counts(metric, cfg.disentanglement_num_train, cfg.disentanglement_num_test)}


def disentanglement(run: EvaluationRun) -> None:
    """Every metric of ``disentanglement_metrics`` on ``run.ground_truth``; ``result.disentanglement`` holds each
    metric's whole result, its headline numbers and the seconds it took."""
    import time

    source = run.ground_truth
    representation = model_representation(run.model)
    metrics: dict[str, Any] = {}
    scores: dict[str, float] = {}
    seconds: dict[str, float] = {}
    names = run.cfg.disentanglement_metrics
    with progress_bar(run.show, len(names), "disentanglement") as bar:
        for name in names:
            start = time.perf_counter()
            metrics[name] = METRICS[name](source, representation, **_settings(run.cfg, name))
            seconds[name] = round(time.perf_counter() - start, 3)
            scores.update({flat: float(metrics[name][key]) for flat, key in HEADLINES[name]})
            bar.update(1)
    run.result.disentanglement = {"ground_truth": type(source).__name__, "factor_names": list(source.factor_names),
                                  "factor_sizes": list(source.factor_sizes), "scores": scores, "metrics": metrics,
                                  "seconds": seconds}
