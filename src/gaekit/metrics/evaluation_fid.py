"""Tasks 1 and 2 of the Pythae benchmark (arXiv:2206.08309, Section 4.2): reconstruction (per-pixel MSE and
the FID of the test reconstructions) and generation (FID and Inception Score of a sampler's samples)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gaekit.errors import ConfigError, DataError
from gaekit.metrics.evaluation_run import EvaluationRun, batches, chunks, concat_features, progress_bar
from gaekit.metrics.scores import fid_from_features, inception_score


def reconstruction(run: EvaluationRun) -> None:
    """Per-pixel MSE of the test reconstructions and their FID against the test images; a grid of both."""
    sse, count, n = 0.0, 0, 0
    real, fake = [], []
    shown: tuple[Tensor, Tensor] | None = None
    with progress_bar(run.show, len(run.data.test), "reconstructing test images") as bar:
        for batch in batches(run.data.test, run.cfg.batch_size, run.model.device):
            rec = run.model.reconstruct(batch.data)
            sse += float(((rec - batch.data).double() ** 2).sum())
            count += batch.data.numel()
            n += len(batch)
            if run.extractor is not None:
                fake.append(run.extractor(rec))
                if run.real is None:
                    real.append(run.extractor(batch.data))
            if shown is None:
                shown = (batch.data[:32].cpu(), rec[:32].cpu())
            bar.update(len(batch))
    out: dict[str, Any] = {"mse": sse / count, "num_test": n}
    if run.extractor is not None:
        if run.real is None:
            run.real = concat_features(real)
        out[run.extractor.fid_key] = fid_from_features(concat_features(fake)[0], run.real[0])
    # rows of 8 test images, each followed by a row of their reconstructions
    rows = [part[i:i + 8] for i in range(0, len(shown[0]), 8) for part in shown]
    run.save_grid("reconstructions", torch.cat(rows), "reconstructions.png", nrow=8)
    run.result.reconstruction = out


def generation(run: EvaluationRun) -> None:
    """FID and IS of each sampler's samples (fitted on the train split when needed) against the test images."""
    cfg = run.cfg
    real_feats, real_logits = run.real_features()
    num = cfg.num_generated or len(run.data.test)
    results: dict[str, dict[str, Any]] = {}
    for spec in run.samplers:
        sampler = _resolve_sampler(run.model, spec)
        name = type(sampler).__name__
        key, i = name, 2
        while key in results:
            key, i = f"{name}_{i}", i + 1
        if sampler.needs_fit and not sampler.is_fitted:
            if run.data.train is None:
                raise DataError(f"{name} must be fitted on training data; pass data with a train split")
            sampler.fit(run.data.train, run.data.validation, batch_size=cfg.batch_size)
        samples = sampler.sample(num, batch_size=cfg.batch_size, seed=cfg.seed)
        # the sampler's own fit time, also when it was fitted before evaluate (None: loaded fitted)
        fit_seconds = None if sampler.fit_seconds is None else round(sampler.fit_seconds, 3)
        entry: dict[str, Any] = {"num_samples": num, "sampler_config": sampler.sampler_config.to_dict(),
                                 "fit_seconds": fit_seconds}
        with progress_bar(run.show, num, f"features of {name} samples") as bar:
            feats, logits = run.extractor.extract(chunks(samples, cfg.batch_size), bar.update)
        entry[run.extractor.fid_key] = fid_from_features(feats, real_feats)
        if logits is not None:
            splits = min(cfg.is_splits, len(logits))
            entry[run.extractor.is_key], entry[f"{run.extractor.is_key}_std"] = inception_score(logits, splits)
        run.save_grid(f"samples_{key}", samples[:100], f"samples_{key}.png", nrow=10)
        results[key] = entry
    if real_logits is not None:
        splits = min(cfg.is_splits, len(real_logits))
        mean, std = inception_score(real_logits, splits)
        run.result.reference = {run.extractor.is_key: mean, f"{run.extractor.is_key}_std": std,
                                "num_test": len(real_logits)}
    run.result.generation = results


def _resolve_sampler(model: Any, spec: Any) -> Any:
    """A sampler of ``model`` from one ``sampler=`` item of evaluate: a sampler, a sampler config or a name."""
    from gaekit.samplers import SAMPLER_ALIASES, BaseSampler, BaseSamplerConfig, resolve_sampler, sampler_for_config

    if isinstance(spec, BaseSampler):
        if spec.model is not model:
            raise ConfigError("the sampler given to evaluate was built for another model; build it with this model")
        return spec
    if isinstance(spec, BaseSamplerConfig):
        return sampler_for_config(spec)(model, spec)
    if isinstance(spec, str):
        name = spec.strip()
        alias = name.lower()  # aliases in any case ("GMM"), class names as registered
        return resolve_sampler(alias if alias in SAMPLER_ALIASES else name, "sampler")(model, None)
    raise ConfigError(
        f"sampler={spec!r} is invalid: expected a sampler name or alias (normal, gmm, ...), a sampler config "
        "or a sampler instance"
    )
