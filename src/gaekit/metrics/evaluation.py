"""The five evaluation tasks of the Pythae benchmark, for any trained gaekit model.

Chadebec et al. 2022, "Pythae: Unifying Generative Autoencoders in Python" (arXiv:2206.08309),
Section 4.2:

1. **reconstruction**: per-pixel mean squared error on the test set (Table 1's unit) and the FID
   of the test reconstructions against the test images;
2. **generation**: FID and Inception Score of samples from a sampler (the prior ``N(0, I)``, a GMM
   fitted on the training embeddings, ...) against the test images;
3. **classification**: a single linear layer on the latent embeddings, 20 runs, selected on the
   validation accuracy, mean test accuracy reported;
4. **clustering**: k-means with as many clusters as classes, 100 runs on the training embeddings,
   each cluster labelled with its most frequent class, mean accuracy reported;
5. **interpolation**: decoded linear paths between the codes of test images (Appendix B), plus
   a latent traversal, written as PNG grids;

plus the importance-sampled negative log-likelihood of the test set for models that have
``log_likelihood`` (variational models), and the ``disentanglement`` metrics (beta-VAE, FactorVAE, MIG, SAP,
DCI, Modularity and Explicitness; :mod:`gaekit.metrics.evaluation_disentanglement`) on data with known
ground-truth factors (dSprites and its variants, or any ``GroundTruthData``).

Only the public model API is used (``embed``, ``reconstruct``, ``decode``, ``interpolate``,
``log_likelihood``) and samplers from :mod:`gaekit.samplers`; everything runs in batches without
gradients, on the model's device.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gaekit.errors import ConfigError
from gaekit.metrics.evaluation_disentanglement import check_metrics_apply, disentanglement, resolve_ground_truth
from gaekit.metrics.evaluation_fid import generation, reconstruction
from gaekit.metrics.evaluation_latent import classification, clustering, interpolation, nll
from gaekit.metrics.evaluation_result import EvaluationResult
from gaekit.metrics.evaluation_run import EvaluationRun, progress_bar
from gaekit.metrics.evaluation_spec import (
    DEFAULT_TASKS,
    TASKS,
    EvaluationConfig,
    EvaluationData,
    check_splits,
    normalise_tasks,
)
from gaekit.metrics.extractors import FeatureExtractor
from gaekit.metrics.resolve import resolve_extractor
from gaekit.serialization import ensure_output_folder

__all__ = ["evaluate"]

# What runs each task (the tasks are defined in gaekit.metrics.evaluation_spec.TASKS, in this order).
TASK_FUNCTIONS: dict[str, Callable[[EvaluationRun], None]] = {
    "reconstruction": reconstruction, "generation": generation, "classification": classification,
    "clustering": clustering, "interpolation": interpolation, "nll": nll, "disentanglement": disentanglement,
}
assert tuple(TASK_FUNCTIONS) == TASKS


def evaluate(model: Any, data: Any = None, tasks: str | Sequence[str] | None = None, sampler: Any = "normal",
             extractor: Any = "auto", *, config: EvaluationConfig | None = None,
             output_dir: str | Path | None = None, dataset: str | None = None, cache_dir: str | Path | None = None,
             data_dir: str | Path | None = None, inception_weights: str | Path | None = None, download: bool = True,
             show_progress: bool = False, ground_truth: Any = None, **settings: Any) -> EvaluationResult:
    """Run the Pythae benchmark tasks (arXiv:2206.08309, Section 4.2) on a trained model.

    Parameters
    ----------
    model : BaseAE
        Any trained gaekit model.
    data : EvaluationData, (train, validation, test) or dict
        The splits (arrays, tensors, gaekit or torch datasets); see :class:`EvaluationData`.
    tasks : str or sequence of str, optional
        Any of ``reconstruction, generation, classification, clustering, interpolation, nll,
        disentanglement`` (a list or a comma-separated string); default all but ``disentanglement``, which
        runs when asked for (or when ``ground_truth`` is given). ``nll`` is skipped, with a note, for models
        without ``log_likelihood``. ``disentanglement`` needs no split: its metrics draw observations from
        the ground-truth source.
    sampler : str, sampler config, sampler, or a list of them, default "normal"
        For the generation task: a name or alias (``"normal"``, ``"gmm"``, ``"vamp"``, any registered
        sampler), a sampler config, or a sampler (fitted or not). Samplers that need fitting and
        are not fitted are fitted on ``data.train`` (with ``data.validation`` as evaluation data).
    extractor : "auto", "none", str, FeatureExtractor or nn.Module, default "auto"
        FID/IS feature extractor; see :func:`gaekit.metrics.resolve.resolve_extractor`.
    config : EvaluationConfig, optional
        Settings; ``**settings`` override its fields (e.g. ``classification_runs=5``).
    output_dir : str or Path, optional
        Where ``metrics.json`` and the PNG grids (reconstructions, samples, interpolation,
        traversal) are written; without it nothing is written.
    dataset : str, optional
        The dataset's name ("mnist", ...): recorded, and used by ``extractor="auto"``.
    cache_dir, data_dir, inception_weights, download
        Passed to the extractor: gaekit cache root, dataset folder (domain classifiers),
        Inception weights file, whether the Inception weights may be downloaded.
    show_progress : bool, default False
        tqdm progress bars.
    ground_truth : GroundTruthData, optional
        The factor source of the disentanglement task (e.g. ``DSpritesGroundTruth.cached()``); default: the
        source of ``dataset`` (``"dsprites"``, ``"color-dsprites"``, ``"noisy-dsprites"``, read from
        ``data_dir``). Its observations must have the model's input shape.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    ConfigError
        Unknown tasks, samplers, extractors or settings.
    DataError
        A split a task needs is missing, has the wrong shape, or lacks labels.
    """
    if tasks is None and ground_truth is not None:
        tasks = [*DEFAULT_TASKS, "disentanglement"]
    task_list, cfg, samplers = _request(model, tasks, config, settings, sampler)
    source = resolve_ground_truth(ground_truth, dataset, model, data_dir) if "disentanglement" in task_list else None
    if source is not None:
        check_metrics_apply(source, model, cfg)
    split_data = _checked_data(data, model, task_list)
    out_dir = None if output_dir is None else ensure_output_folder(output_dir, "evaluate output_dir")
    result = EvaluationResult(model=model.model_config.name, latent_dim=model.latent_dim, tasks=task_list,
                              dataset=dataset, settings=cfg.to_dict())
    feature_ex = _feature_extractor(extractor, model, task_list, result, dataset=dataset, cache_dir=cache_dir,
                                    data_dir=data_dir, weights=inception_weights, download=download,
                                    show_progress=show_progress)
    result.tasks = _runnable(task_list, model, feature_ex, result)
    run = EvaluationRun(model, split_data, cfg, feature_ex, out_dir, show_progress, result, samplers)
    run.ground_truth = source
    _run_tasks(run)
    if out_dir is not None:
        result.files["metrics"] = str(out_dir / "metrics.json")
        result.to_json(out_dir / "metrics.json")
    return result


def _request(model: Any, tasks: Any, config: EvaluationConfig | None, settings: dict[str, Any],
             sampler: Any) -> tuple[list[str], EvaluationConfig, list[Any]]:
    """The checked tasks, settings and samplers of an :func:`evaluate` call."""
    from gaekit.models.base import BaseAE

    if not isinstance(model, BaseAE):
        raise ConfigError(f"evaluate needs a gaekit model (a BaseAE); got {type(model).__name__}")
    task_list = normalise_tasks(tasks)
    cfg = config if config is not None else EvaluationConfig()
    if not isinstance(cfg, EvaluationConfig):
        raise ConfigError(f"config must be an EvaluationConfig; got {type(cfg).__name__}")
    if settings:
        cfg = cfg.replace(**settings)
    samplers = list(sampler) if isinstance(sampler, (list, tuple)) else [sampler]
    if "generation" in task_list and not samplers:
        raise ConfigError("the generation task needs at least one sampler")
    return task_list, cfg, samplers


def _checked_data(data: Any, model: Any, task_list: list[str]) -> EvaluationData:
    """The splits as gaekit datasets, each checked against the model's input shape, none missing for a task."""
    from gaekit.data import as_dataset, validate_data

    split_data = EvaluationData.of(data)
    wrapped = {}
    for split in ("train", "validation", "test"):
        value = getattr(split_data, split)
        if value is not None:
            value = as_dataset(value)
            validate_data(value, model.input_dim, unit_range=False, name=f"{split} data")
        wrapped[split] = value
    split_data = EvaluationData(**wrapped)
    check_splits(task_list, split_data)
    return split_data


def _feature_extractor(extractor: Any, model: Any, task_list: list[str], result: EvaluationResult,
                       **options: Any) -> FeatureExtractor | None:
    """The FID/IS extractor when a task needs one, on the model's device, recorded in ``result``."""
    if "reconstruction" not in task_list and "generation" not in task_list:
        return None
    start = time.perf_counter()
    feature_ex = resolve_extractor(extractor, input_shape=tuple(model.input_dim), **options)
    result.timings["extractor"] = round(time.perf_counter() - start, 3)
    if feature_ex is not None:
        feature_ex.to(model.device)
        result.extractor = {"name": feature_ex.name, "fid_key": feature_ex.fid_key, "is_key": feature_ex.is_key,
                            "description": feature_ex.description}
    else:
        result.notes["extractor"] = "no feature extractor: FID and IS not computed"
    return feature_ex


def _runnable(task_list: list[str], model: Any, feature_ex: FeatureExtractor | None,
              result: EvaluationResult) -> list[str]:
    """``task_list`` without the tasks that cannot run here, each skip noted in ``result``."""
    if "generation" in task_list and feature_ex is None:
        task_list = [t for t in task_list if t != "generation"]
        result.notes["generation"] = "skipped: generation is scored by FID/IS, which need a feature extractor"
    if "nll" in task_list and not callable(getattr(model, "log_likelihood", None)):
        task_list = [t for t in task_list if t != "nll"]
        result.notes["nll"] = f"skipped: {type(model).__name__} has no log_likelihood (not a variational model)"
    return task_list


def _run_tasks(run: EvaluationRun) -> None:
    """Run ``run.result.tasks`` in order, timing each."""
    result = run.result
    with progress_bar(run.show, len(result.tasks), "evaluation") as bar:
        for task in result.tasks:
            bar.set_postfix_str(task)
            start = time.perf_counter()
            TASK_FUNCTIONS[task](run)
            result.timings[task] = round(time.perf_counter() - start, 3)
            bar.update(1)
