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
``log_likelihood`` (variational models).

Only the public model API is used (``embed``, ``reconstruct``, ``decode``, ``interpolate``,
``log_likelihood``) and samplers from :mod:`gaekit.samplers`; everything runs in batches without
gradients, on the model's device.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from gaekit.config import BaseConfig
from gaekit.errors import ConfigError, DataError
from gaekit.images import display_scale, is_image_shape, save_image_grid
from gaekit.metrics.extractors import FeatureExtractor, resolve_extractor
from gaekit.metrics.probes import kmeans_accuracy, linear_probe
from gaekit.metrics.scores import fid_from_features, inception_score
from gaekit.serialization import ensure_output_folder

__all__ = ["TASKS", "EvaluationConfig", "EvaluationData", "EvaluationResult", "evaluate"]

TASKS = ("reconstruction", "generation", "classification", "clustering", "interpolation", "nll")


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
    nll_importance_samples : int, default 100
    nll_num_test : int, optional
        Test images used for the NLL; default all.
    nll_batch_size : int, default 100
    is_splits : int, default 10
        Parts the Inception Score is averaged over.
    """

    name: ClassVar[str] = "Evaluation"
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
    nll_importance_samples: int = 100
    nll_num_test: int | None = None
    nll_batch_size: int = 100
    is_splits: int = 10

    def _check(self) -> None:
        super()._check()
        for name in ("batch_size", "classification_runs", "classification_epochs", "classification_batch_size",
                     "clustering_runs", "interpolation_pairs", "traversal_dims", "nll_importance_samples",
                     "nll_batch_size", "is_splits"):
            self._require(name, getattr(self, name) >= 1, "a positive int")
        for name in ("interpolation_steps", "traversal_steps"):
            self._require(name, getattr(self, name) >= 2, "an int >= 2")
        for name in ("num_generated", "nll_num_test"):
            value = getattr(self, name)
            self._require(name, value is None or value >= 2, "an int >= 2 or None")
        self._require("seed", self.seed >= 0, "an int >= 0")
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
        """Accept an ``EvaluationData``, a ``(train, validation, test)`` sequence or a dict with those keys."""
        if isinstance(data, cls):
            return data
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


def _finite(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class EvaluationResult:
    """What :func:`evaluate` measured; every task field is None when the task was not run.

    Attributes
    ----------
    model : str
        The model's registry name.
    latent_dim : int
    tasks : list of str
        Tasks run, in order.
    dataset : str or None
    extractor : dict or None
        ``name``, ``fid_key``, ``is_key`` and ``description`` of the FID/IS feature extractor.
    settings : dict
        The :class:`EvaluationConfig` used.
    reconstruction : dict
        ``mse`` (per pixel), ``<fid_key>``, ``num_test``.
    generation : dict
        Per sampler name: ``<fid_key>``, ``<is_key>``, ``<is_key>_std`` (when the extractor has logits),
        ``num_samples``, ``sampler_config``, ``fit_seconds``.
    reference : dict
        ``<is_key>`` and ``<is_key>_std`` of the test images themselves (an upper reference for IS).
    classification : dict
        See :func:`gaekit.metrics.probes.linear_probe`.
    clustering : dict
        See :func:`gaekit.metrics.probes.kmeans_accuracy`.
    interpolation : dict
        Paths of the PNG grids and what they show.
    nll : dict
        ``nll`` (nats, mean over test images), ``nll_std``, ``num_test``, ``importance_samples``.
    timings : dict
        Seconds per task (and for building the extractor).
    notes : dict
        Why a requested task was skipped, and other remarks.
    files : dict
        Every file written.
    """

    model: str
    latent_dim: int
    tasks: list[str]
    dataset: str | None = None
    extractor: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    reconstruction: dict[str, Any] | None = None
    generation: dict[str, dict[str, Any]] | None = None
    reference: dict[str, Any] | None = None
    classification: dict[str, Any] | None = None
    clustering: dict[str, Any] | None = None
    interpolation: dict[str, Any] | None = None
    nll: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (non-finite numbers become None)."""
        return _finite(dataclasses.asdict(self))

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically); return the path."""
        from gaekit.serialization import write_json

        path = Path(path)
        ensure_output_folder(path.parent, f"the folder of {path.name}")
        write_json(path, self.to_dict())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown key(s) {unknown} for EvaluationResult; accepted: {sorted(names)}")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> EvaluationResult:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def metrics(self) -> dict[str, float]:
        """The headline numbers as one flat ``{"task/metric": value}`` dict."""
        out: dict[str, float] = {}
        if self.reconstruction:
            out.update({f"reconstruction/{k}": v for k, v in self.reconstruction.items()
                        if isinstance(v, float)})
        for sampler, values in (self.generation or {}).items():
            out.update({f"generation/{sampler}/{k}": v for k, v in values.items()
                        if k.startswith(("fid", "is")) and isinstance(v, float)})
        if self.classification:
            for k in ("test_accuracy_mean", "test_accuracy_std", "validation_accuracy_mean"):
                out[f"classification/{k}"] = self.classification[k]
        if self.clustering:
            for k in ("accuracy_mean", "accuracy_std", "test_accuracy_mean"):
                if k in self.clustering:
                    out[f"clustering/{k}"] = self.clustering[k]
        if self.nll:
            out["nll/nll"] = self.nll["nll"]
        return out

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"{self.model} (latent_dim={self.latent_dim})" + (f" on {self.dataset}" if self.dataset else "")]
        for key, value in self.metrics().items():
            lines.append(f"  {key:48s} {value:.4f}" if value is not None else f"  {key:48s} n/a")
        for key, note in self.notes.items():
            lines.append(f"  note ({key}): {note}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- helpers
def _normalise_tasks(tasks: str | Sequence[str] | None) -> list[str]:
    if tasks is None:
        return list(TASKS)
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


def _bar(show: bool, total: int | None, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not show, leave=False, dynamic_ncols=True)


def _batches(dataset: Any, batch_size: int, device: torch.device) -> Iterator[Any]:
    from gaekit.data import iterate_batches

    return iterate_batches(dataset, batch_size, shuffle=False, generator=None, device=device)


def _embed(model: Any, dataset: Any, batch_size: int, show: bool, desc: str) -> tuple[Tensor, Tensor | None]:
    zs, ys = [], []
    with _bar(show, len(dataset), desc) as bar:
        for batch in _batches(dataset, batch_size, model.device):
            zs.append(model.embed(batch.data).flatten(1).to("cpu", torch.float32))
            ys.append(None if batch.labels is None else batch.labels.to("cpu"))
            bar.update(len(batch))
    labels = None if any(y is None for y in ys) else torch.cat(ys)
    return torch.cat(zs), labels


def _first_images(dataset: Any, n: int, device: torch.device) -> Tensor:
    got, total = [], 0
    for batch in _batches(dataset, max(n, 1), device):
        got.append(batch.data)
        total += len(batch)
        if total >= n:
            break
    return torch.cat(got)[:n]


def _chunks(x: Tensor, size: int) -> Iterator[Tensor]:
    for i in range(0, len(x), size):
        yield x[i:i + size]


def _resolve_sampler(model: Any, spec: Any) -> Any:
    from gaekit.samplers import SAMPLERS, BaseSampler, BaseSamplerConfig, sampler_for_config

    if isinstance(spec, BaseSampler):
        if spec.model is not model:
            raise ConfigError("the sampler given to evaluate was built for another model; build it with this model")
        return spec
    if isinstance(spec, BaseSamplerConfig):
        return sampler_for_config(spec)(model, spec)
    if isinstance(spec, str):
        from gaekit.cli import SAMPLER_ALIASES

        name = SAMPLER_ALIASES.get(spec.strip().lower(), spec.strip())
        return SAMPLERS.get(name)(model, None)
    raise ConfigError(
        f"sampler={spec!r} is invalid: expected a sampler name or alias (normal, gmm, ...), a sampler config "
        "or a sampler instance"
    )


# ---------------------------------------------------------------------- the evaluation
class _Run:
    """State shared by the tasks of one :func:`evaluate` call."""

    def __init__(self, model: Any, data: EvaluationData, cfg: EvaluationConfig, extractor: FeatureExtractor | None,
                 output_dir: Path | None, show: bool, result: EvaluationResult):
        self.model, self.data, self.cfg, self.extractor = model, data, cfg, extractor
        self.output_dir, self.show, self.result = output_dir, show, result
        self._real: tuple[np.ndarray, np.ndarray | None] | None = None
        self._embeddings: dict[str, tuple[Tensor, Tensor | None]] = {}

    # shared, computed once
    def embeddings(self, split: str) -> tuple[Tensor, Tensor | None]:
        if split not in self._embeddings:
            self._embeddings[split] = _embed(self.model, getattr(self.data, split), self.cfg.batch_size, self.show,
                                             f"embedding {split}")
        return self._embeddings[split]

    def real_features(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self._real is None:
            with _bar(self.show, len(self.data.test), "features of test images") as bar:
                self._real = self.extractor.extract(
                    (b.data for b in _batches(self.data.test, self.cfg.batch_size, self.model.device)), bar.update)
        return self._real

    def save_grid(self, key: str, images: Tensor, filename: str, nrow: int) -> str | None:
        if self.output_dir is None or not is_image_shape(self.model.input_dim):
            return None
        path = save_image_grid(images, self.output_dir / filename, nrow=nrow, scale=display_scale(self.model.input_dim))
        self.result.files[key] = str(path)
        return str(path)

    # tasks
    def reconstruction(self) -> None:
        sse, count, n = 0.0, 0, 0
        real, fake = [], []
        shown: tuple[Tensor, Tensor] | None = None
        with _bar(self.show, len(self.data.test), "reconstructing test images") as bar:
            for batch in _batches(self.data.test, self.cfg.batch_size, self.model.device):
                rec = self.model.reconstruct(batch.data)
                sse += float(((rec - batch.data).double() ** 2).sum())
                count += batch.data.numel()
                n += len(batch)
                if self.extractor is not None:
                    fake.append(self.extractor(rec))
                    if self._real is None:
                        real.append(self.extractor(batch.data))
                if shown is None:
                    shown = (batch.data[:32].cpu(), rec[:32].cpu())
                bar.update(len(batch))
        out: dict[str, Any] = {"mse": sse / count, "num_test": n}
        if self.extractor is not None:
            if self._real is None:
                self._real = _concat(real)
            out[self.extractor.fid_key] = fid_from_features(_concat(fake)[0], self._real[0])
        # rows of 8 test images, each followed by a row of their reconstructions
        rows = [part[i:i + 8] for i in range(0, len(shown[0]), 8) for part in shown]
        self.save_grid("reconstructions", torch.cat(rows), "reconstructions.png", nrow=8)
        self.result.reconstruction = out

    def generation(self, samplers: list[Any]) -> None:
        cfg = self.cfg
        real_feats, real_logits = self.real_features()
        num = cfg.num_generated or len(self.data.test)
        results: dict[str, dict[str, Any]] = {}
        for spec in samplers:
            sampler = _resolve_sampler(self.model, spec)
            name = type(sampler).__name__
            key, i = name, 2
            while key in results:
                key, i = f"{name}_{i}", i + 1
            if sampler.needs_fit and not sampler.is_fitted:
                if self.data.train is None:
                    raise DataError(f"{name} must be fitted on training data; pass data with a train split")
                sampler.fit(self.data.train, self.data.validation, batch_size=cfg.batch_size)
            samples = sampler.sample(num, batch_size=cfg.batch_size, seed=cfg.seed)
            # the sampler's own fit time, also when it was fitted before evaluate (None: loaded fitted)
            fit_seconds = None if sampler.fit_seconds is None else round(sampler.fit_seconds, 3)
            entry: dict[str, Any] = {"num_samples": num, "sampler_config": sampler.sampler_config.to_dict(),
                                     "fit_seconds": fit_seconds}
            with _bar(self.show, num, f"features of {name} samples") as bar:
                feats, logits = self.extractor.extract(_chunks(samples, cfg.batch_size), bar.update)
            entry[self.extractor.fid_key] = fid_from_features(feats, real_feats)
            if logits is not None:
                splits = min(cfg.is_splits, len(logits))
                entry[self.extractor.is_key], entry[f"{self.extractor.is_key}_std"] = inception_score(logits, splits)
            self.save_grid(f"samples_{key}", samples[:100], f"samples_{key}.png", nrow=10)
            results[key] = entry
        if real_logits is not None:
            splits = min(cfg.is_splits, len(real_logits))
            mean, std = inception_score(real_logits, splits)
            self.result.reference = {self.extractor.is_key: mean, f"{self.extractor.is_key}_std": std,
                                     "num_test": len(real_logits)}
        self.result.generation = results

    def classification(self) -> None:
        cfg = self.cfg
        z = {s: self.embeddings(s) for s in ("train", "validation", "test")}
        with _bar(self.show, cfg.classification_epochs, "linear classifier") as bar:
            self.result.classification = linear_probe(
                *z["train"], *z["validation"], *z["test"], runs=cfg.classification_runs,
                epochs=cfg.classification_epochs, batch_size=cfg.classification_batch_size,
                learning_rate=cfg.classification_lr, weight_decay=cfg.classification_weight_decay, seed=cfg.seed,
                progress=bar.update)

    def clustering(self) -> None:
        z_train, y_train = self.embeddings("train")
        z_test = y_test = None
        if self.data.test is not None:
            z_test, y_test = self.embeddings("test")
        with _bar(self.show, self.cfg.clustering_runs, "k-means") as bar:
            self.result.clustering = kmeans_accuracy(z_train, y_train, runs=self.cfg.clustering_runs,
                                                     seed=self.cfg.seed, test_z=z_test, test_y=y_test,
                                                     progress=bar.update)

    def interpolation(self) -> None:
        from gaekit.models.base import inference_mode

        cfg, model = self.cfg, self.model
        pairs = min(cfg.interpolation_pairs, len(self.data.test) // 2)
        if pairs < 1:
            raise DataError("interpolation needs at least 2 test images")
        x = _first_images(self.data.test, 2 * pairs, model.device)
        path = model.interpolate(x[:pairs], x[pairs:2 * pairs], steps=cfg.interpolation_steps).cpu()
        rows = torch.cat([x[:pairs].cpu().unsqueeze(1), path, x[pairs:2 * pairs].cpu().unsqueeze(1)], dim=1)
        out: dict[str, Any] = {"pairs": pairs, "steps": cfg.interpolation_steps,
                               "layout": "one row per pair: start image, decoded path (both ends "
                                         "included), end image"}
        out["interpolation_png"] = self.save_grid("interpolation", rows.reshape(-1, *rows.shape[2:]),
                                                  "interpolation.png", nrow=cfg.interpolation_steps + 2)
        # traversal around the first image's code, in units of each dimension's spread over test images
        # (codes that are maps, as a VQ-VAE's with a convolutional encoder, are traversed flattened)
        spread_z = model.embed(_first_images(self.data.test, min(len(self.data.test), cfg.batch_size), model.device))
        code_shape, spread_z = spread_z.shape[1:], spread_z.flatten(1)
        std = spread_z.std(0) if len(spread_z) > 1 else torch.ones(spread_z.shape[1], device=spread_z.device)
        dims = min(cfg.traversal_dims, spread_z.shape[1])
        z0 = model.embed(x[:1]).flatten(1)[0]
        offsets = torch.linspace(-cfg.traversal_range, cfg.traversal_range, cfg.traversal_steps, device=z0.device)
        codes = z0.repeat(dims, cfg.traversal_steps, 1)
        for d in range(dims):
            codes[d, :, d] += offsets * std[d]
        with inference_mode(model):
            decoded = model.decode(codes.reshape(-1, *code_shape)).cpu()
        out.update(traversal_dims=dims, traversal_steps=cfg.traversal_steps, traversal_range=cfg.traversal_range,
                   traversal_layout="one row per latent dimension d (the first ones): the first pair's start "
                                    "code with z_d moved by -range..+range standard deviations")
        out["traversal_png"] = self.save_grid("traversal", decoded, "traversal.png", nrow=cfg.traversal_steps)
        if out["interpolation_png"] is None:
            why = "no output_dir given" if self.output_dir is None else "the data is not image-shaped"
            self.result.notes["interpolation"] = f"grids not written: {why}"
        self.result.interpolation = out

    def nll(self) -> None:
        cfg, model = self.cfg, self.model
        log_likelihood: Callable[..., Tensor] = model.log_likelihood
        takes_generator = "generator" in inspect.signature(log_likelihood).parameters
        generator = torch.Generator(device=model.device).manual_seed(cfg.seed)
        limit = min(cfg.nll_num_test or len(self.data.test), len(self.data.test))
        kwargs = {"generator": generator} if takes_generator else {}
        values, done = [], 0
        with _bar(self.show, limit, "importance-sampled NLL") as bar:
            for batch in _batches(self.data.test, cfg.nll_batch_size, model.device):
                x = batch.data[:limit - done]
                values.append(log_likelihood(x, n_importance_samples=cfg.nll_importance_samples, **kwargs)
                              .detach().to("cpu", torch.float64))
                done += len(x)
                bar.update(len(x))
                if done >= limit:
                    break
        ll = torch.cat(values)
        self.result.nll = {"nll": float(-ll.mean()), "nll_std": float(ll.std()) if len(ll) > 1 else 0.0,
                           "num_test": len(ll), "importance_samples": cfg.nll_importance_samples, "unit": "nats"}


def _concat(parts: list[tuple[Tensor, Tensor | None]]) -> tuple[np.ndarray, np.ndarray | None]:
    feats = torch.cat([p[0] for p in parts]).double().numpy()
    logits = None if any(p[1] is None for p in parts) else torch.cat([p[1] for p in parts]).double().numpy()
    return feats, logits


def _needs(tasks: list[str], data: EvaluationData) -> None:
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


def evaluate(model: Any, data: Any, tasks: str | Sequence[str] | None = None, sampler: Any = "normal",
             extractor: Any = "auto", *, config: EvaluationConfig | None = None,
             output_dir: str | Path | None = None, dataset: str | None = None, cache_dir: str | Path | None = None,
             data_dir: str | Path | None = None, inception_weights: str | Path | None = None, download: bool = True,
             show_progress: bool = False, **settings: Any) -> EvaluationResult:
    """Run the Pythae benchmark tasks (arXiv:2206.08309, Section 4.2) on a trained model.

    Parameters
    ----------
    model : BaseAE
        Any trained gaekit model.
    data : EvaluationData, (train, validation, test) or dict
        The splits (arrays, tensors, gaekit or torch datasets); see :class:`EvaluationData`.
    tasks : str or sequence of str, optional
        Any of ``reconstruction, generation, classification, clustering, interpolation, nll`` (a
        list or a comma-separated string); default all. ``nll`` is skipped, with a note, for models
        without ``log_likelihood``.
    sampler : str, sampler config, sampler, or a list of them, default "normal"
        For the generation task: a name or alias (``"normal"``, ``"gmm"``, ``"vamp"``, any registered
        sampler), a sampler config, or a sampler (fitted or not). Samplers that need fitting and
        are not fitted are fitted on ``data.train`` (with ``data.validation`` as evaluation data).
    extractor : "auto", "none", str, FeatureExtractor or nn.Module, default "auto"
        FID/IS feature extractor; see :func:`gaekit.metrics.extractors.resolve_extractor`.
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
    from gaekit.data import as_dataset, validate_data
    from gaekit.models.base import BaseAE

    if not isinstance(model, BaseAE):
        raise ConfigError(f"evaluate needs a gaekit model (a BaseAE); got {type(model).__name__}")
    task_list = _normalise_tasks(tasks)
    cfg = config if config is not None else EvaluationConfig()
    if not isinstance(cfg, EvaluationConfig):
        raise ConfigError(f"config must be an EvaluationConfig; got {type(cfg).__name__}")
    if settings:
        cfg = cfg.replace(**settings)
    samplers = list(sampler) if isinstance(sampler, (list, tuple)) else [sampler]
    if "generation" in task_list and not samplers:
        raise ConfigError("the generation task needs at least one sampler")
    split_data = EvaluationData.of(data)
    wrapped = {}
    for split in ("train", "validation", "test"):
        value = getattr(split_data, split)
        if value is not None:
            value = as_dataset(value)
            validate_data(value, model.input_dim, unit_range=False, name=f"{split} data")
        wrapped[split] = value
    split_data = EvaluationData(**wrapped)
    _needs(task_list, split_data)
    out_dir = None if output_dir is None else ensure_output_folder(output_dir, "evaluate output_dir")

    result = EvaluationResult(model=model.model_config.name, latent_dim=model.latent_dim, tasks=task_list,
                              dataset=dataset, settings=cfg.to_dict())
    feature_ex = None
    if "reconstruction" in task_list or "generation" in task_list:
        start = time.perf_counter()
        feature_ex = resolve_extractor(extractor, input_shape=tuple(model.input_dim), dataset=dataset,
                                       cache_dir=cache_dir, data_dir=data_dir, weights=inception_weights,
                                       download=download, show_progress=show_progress)
        result.timings["extractor"] = round(time.perf_counter() - start, 3)
        if feature_ex is not None:
            feature_ex.to(model.device)
            result.extractor = {"name": feature_ex.name, "fid_key": feature_ex.fid_key, "is_key": feature_ex.is_key,
                                "description": feature_ex.description}
        else:
            result.notes["extractor"] = "no feature extractor: FID and IS not computed"
    if "generation" in task_list and feature_ex is None:
        task_list = [t for t in task_list if t != "generation"]
        result.notes["generation"] = "skipped: generation is scored by FID/IS, which need a feature extractor"
    if "nll" in task_list and not callable(getattr(model, "log_likelihood", None)):
        task_list = [t for t in task_list if t != "nll"]
        result.notes["nll"] = f"skipped: {type(model).__name__} has no log_likelihood (not a variational model)"
    result.tasks = task_list

    run = _Run(model, split_data, cfg, feature_ex, out_dir, show_progress, result)
    with _bar(show_progress, len(task_list), "evaluation") as bar:
        for task in task_list:
            bar.set_postfix_str(task)
            start = time.perf_counter()
            if task == "generation":
                run.generation(samplers)
            else:
                getattr(run, task)()
            result.timings[task] = round(time.perf_counter() - start, 3)
            bar.update(1)
    if out_dir is not None:
        result.files["metrics"] = str(out_dir / "metrics.json")
        result.to_json(out_dir / "metrics.json")
    return result
