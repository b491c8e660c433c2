"""Synthetic study folders for the selection and report tests, written by hand following the bench
contract (run.json, metrics/<split>.json holding ``EvaluationResult.to_dict()``, tiny PNG grids)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gaekit.bench import layout
from gaekit.metrics import EvaluationResult

INCEPTION = {"name": "inception", "fid_key": "fid", "is_key": "is", "description": "test"}
SAMPLER_CLASSES = {"normal": "NormalSampler", "gmm": "GaussianMixtureSampler", "vamp": "VAMPSampler",
                   "maf": "MAFSampler", "two_stage": "TwoStageVAESampler"}


def png(path: Path, shade: int = 128) -> str:
    """A tiny grey PNG; returns its path relative to the run folder's ``images/<split>``."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (6, 4), color=shade).save(path)
    return path.name


def result(model: str = "VAE", mse: float | None = None, rec_fid: float | None = None,
           gen: dict[str, tuple[float, float]] | None = None, cls: tuple[float, float, float] | None = None,
           clu: tuple[float, float] | None = None, nll: float | None = None, extractor: dict | None = INCEPTION,
           files: dict[str, str] | None = None) -> dict[str, Any]:
    """An ``EvaluationResult.to_dict()``; ``gen`` maps sampler alias -> (FID, IS), ``cls`` is (validation
    accuracy, test accuracy, test std), ``clu`` is (accuracy, std), accuracies as fractions."""
    fid_key = (extractor or INCEPTION)["fid_key"]
    is_key = (extractor or INCEPTION)["is_key"]
    tasks = []
    out = EvaluationResult(model=model, latent_dim=16, tasks=tasks, extractor=extractor, files=files or {})
    if mse is not None:
        tasks.append("reconstruction")
        out.reconstruction = {"mse": mse, "num_test": 10, **({fid_key: rec_fid} if rec_fid is not None else {})}
    if gen:
        tasks.append("generation")
        out.generation = {SAMPLER_CLASSES.get(s, s): {fid_key: f, is_key: i, f"{is_key}_std": 0.01, "num_samples": 10,
                                                      "sampler_config": {}, "fit_seconds": 0.0}
                          for s, (f, i) in gen.items()}
    if cls:
        tasks.append("classification")
        out.classification = {"validation_accuracy_mean": cls[0], "validation_accuracy_std": 0.001,
                              "test_accuracy_mean": cls[1], "test_accuracy_std": cls[2], "runs": 20}
    if clu:
        tasks.append("clustering")
        out.clustering = {"accuracy_mean": clu[0], "accuracy_std": clu[1], "runs": 100}
    if nll is not None:
        tasks.append("nll")
        out.nll = {"nll": nll, "nll_std": 1.0, "num_test": 10, "importance_samples": 5, "unit": "nats"}
    return out.to_dict()


def write_run(study: Path, model: str = "VAE", config_index: int = 1, seed: int = 0, *, dataset: str = "mnist",
              network: str = "convnet", latent_dim: int = 16, status: str = layout.FINISHED,
              validation: dict | None = None, test: dict | None = None, config: dict | None = None,
              train_seconds: float | None = 10.0, attempts: list | None = None, error: str | None = None,
              images: tuple[str, ...] = ()) -> Path:
    """Write one run folder; ``images`` names sampler aliases (and/or "interpolation") to draw PNGs for,
    referenced from the test result's ``files`` with paths relative to the run folder."""
    rid = layout.run_id(dataset, network, model, config_index, latent_dim, seed)
    folder = study / layout.RUNS_DIR / rid
    folder.mkdir(parents=True, exist_ok=True)
    record = {"schema_version": layout.SCHEMA_VERSION, "run_id": rid, "dataset": dataset, "network": network,
              "model": model, "model_name": model, "config_index": config_index, "config": config or {},
              "source": None, "latent_dim": latent_dim, "seed": seed, "status": status,
              "attempts": attempts if attempts is not None else [
                  {"learning_rate": 1e-3, "outcome": "finished", "epoch": 1, "message": None, "seconds": 1.0}],
              "learning_rate": 1e-3, "num_epochs": 1, "train_seconds": train_seconds, "eval_seconds": 1.0,
              "num_parameters": 100, "started_at": None, "finished_at": None, "error": error}
    (folder / layout.RUN_FILE).write_text(json.dumps(record))
    if test is not None and images:
        files = {}
        for i, name in enumerate(images):
            key = "interpolation" if name == "interpolation" else f"samples_{SAMPLER_CLASSES.get(name, name)}"
            files[key] = f"{layout.IMAGES_DIR}/test/" + png(folder / layout.IMAGES_DIR / "test" / f"{key}.png",
                                                            shade=40 * i + config_index)
        test = {**test, "files": files}
    for split, res in (("validation", validation), ("test", test)):
        if res is not None:
            path = folder / layout.metrics_file(split)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"schema_version": 1, "split": split, "result": res}))
    return folder


def write_study(study: Path, spec: dict | None = None) -> Path:
    """``study.json`` as the runner writes it (the spec under ``"spec"``)."""
    study.mkdir(parents=True, exist_ok=True)
    (study / layout.STUDY_FILE).write_text(json.dumps({"schema_version": 1, "spec_hash": "abc",
                                                       "spec": spec or {"study": "synthetic"}}))
    return study
