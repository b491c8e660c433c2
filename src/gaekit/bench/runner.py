"""One run of a study: train (checkpointed, resumable, with the paper's instability protocol), fit the
samplers, evaluate on the validation and test splits, and write everything into the run's folder.

Resumability: the trainer writes a checkpoint every epoch (older ones are deleted as each new one
lands), so killing the process loses at most the current epoch; a rerun continues training from the
newest checkpoint. Once training finished, the best model is kept in ``model/``, the history in
``training/history.json`` and the checkpoints are deleted; an interrupted evaluation is simply redone.

Instability protocol (Chadebec et al. 2022, arXiv:2206.08309, Appendix C): a run whose loss becomes
non-finite is retrained from scratch with the starting learning rate divided by 10, at most
``StudySpec.max_lr_retries`` times; every attempt is recorded in ``run.json``, and a run that still
diverges (or raises another error) is marked failed with the error, and the study goes on.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from gaekit.bench import layout
from gaekit.bench.runs import RunRecord, RunSpec, now, run_dir, run_lock
from gaekit.bench.spec import VALIDATION_TASKS, StudySpec
from gaekit.errors import CheckpointError, ConfigError, NonFiniteLossError, TrainingError
from gaekit.serialization import write_json
from gaekit.trainers.callbacks import KeepNewestCheckpoint

_DATA: dict[tuple, Any] = {}  # per-process cache of loaded splits


def load_split(dataset: str, split: str, limit: int | None, data_dir: str | None, subset: str = "first"):
    """A dataset split, cut to ``limit`` images (its first ones, or for ``subset="random"`` a seeded draw kept in
    the split's order; see ``DataSpec``); cached per process."""
    key = (dataset, split, limit, data_dir, subset)
    if key not in _DATA:
        import numpy as np

        from gaekit.data import load_dataset

        data = load_dataset(dataset, split, root=data_dir)
        if limit is not None and len(data) > limit:
            rows = slice(0, limit) if subset == "first" else \
                np.sort(np.random.default_rng(0).choice(len(data), size=limit, replace=False))
            data = data.subset(rows)
        _DATA[key] = data
    return _DATA[key]


def build_model(spec: StudySpec, run: RunSpec, input_dim: tuple[int, ...]):
    """The run's model: its config fields with the run's latent size and network (and the study's options for
    that network), built by ``gaekit.create_model``."""
    from gaekit.models import create_model

    return create_model(run.model_name, **{**run.config, "input_dim": list(input_dim), "latent_dim": run.latent_dim,
                                           "network": run.network,
                                           "network_options": spec.network_options.get(run.network, {})})


def _checkpoint_step(folder: Path) -> int:
    from gaekit.trainers import read_checkpoint_info

    try:
        return read_checkpoint_info(folder)["global_step"]
    except CheckpointError:
        return -1  # incomplete: never chosen


def latest_checkpoint(training_dir: Path) -> Path | None:
    """The newest complete checkpoint under ``training_dir`` (by global step), if any."""
    found = [(s, p) for p in training_dir.glob("*/checkpoint_*") if p.is_dir() and (s := _checkpoint_step(p)) >= 0]
    return max(found)[1] if found else None


class _Progress(KeepNewestCheckpoint):
    """After each epoch's checkpoint: keeps only that newest checkpoint and records the attempt's epoch and
    seconds in ``run.json`` (so the recorded epoch always has a checkpoint to resume from)."""

    def __init__(self, record: RunRecord, path: Path):
        self.record, self.path = record, path
        self.start = time.perf_counter()
        self.base = record.attempts[-1].get("seconds", 0.0)

    def on_save(self, trainer, path: Path) -> None:
        if not path.name.startswith("checkpoint_epoch_"):
            return
        super().on_save(trainer, path)
        attempt = self.record.attempts[-1]
        attempt["epoch"] = trainer.state.epoch
        attempt["seconds"] = round(self.base + time.perf_counter() - self.start, 3)
        self.record.write(self.path)


def _train(spec: StudySpec, run: RunSpec, record: RunRecord, folder: Path, train, val):
    """Train until finished or failed; return the trained model or None (record says why)."""
    from gaekit.trainers import Trainer, set_seed

    protocol = spec.training.for_dataset(run.dataset)
    training_dir = folder / layout.TRAINING_DIR
    path = folder / layout.RUN_FILE
    while True:
        diverged = sum(a["outcome"] == "non_finite" for a in record.attempts)
        lr = protocol.learning_rate / 10 ** diverged
        resuming = bool(record.attempts) and record.attempts[-1]["outcome"] == "running"
        checkpoint = latest_checkpoint(training_dir) if resuming else None
        if not resuming:
            record.attempts.append({"learning_rate": lr, "outcome": "running", "epoch": 0, "seconds": 0.0,
                                    "message": None, "resumed_from_epochs": []})
        attempt = record.attempts[-1]
        callback = _Progress(record, path)
        if checkpoint is not None:
            trainer = Trainer.from_checkpoint(checkpoint, train, val, callbacks=[callback])
            attempt["resumed_from_epochs"].append(trainer.state.epoch)
        else:
            shutil.rmtree(training_dir, ignore_errors=True)
            set_seed(run.train_seed)
            model = build_model(spec, run, train.sample_shape)
            config = protocol.trainer_config(run.dataset, lr, run.train_seed, str(training_dir))
            trainer = Trainer(model, config, train, val, callbacks=[callback])
        record.write(path)
        try:
            trainer.train()
        except TrainingError as err:
            non_finite = isinstance(err, NonFiniteLossError)
            attempt.update(outcome="non_finite" if non_finite else "error", message=str(err),
                           epoch=trainer.state.epoch)
            shutil.rmtree(training_dir, ignore_errors=True)
            if non_finite and diverged + 1 <= spec.max_lr_retries:
                record.write(path)
                continue
            record.status = layout.FAILED
            record.error = (f"loss still non-finite after {diverged} learning-rate division(s) by 10 "
                            f"(max_lr_retries={spec.max_lr_retries}): {err}" if non_finite else str(err))
            return None
        attempt.update(outcome="finished", epoch=trainer.state.epoch)
        model_dir = folder / layout.MODEL_DIR
        shutil.rmtree(model_dir, ignore_errors=True)
        shutil.move(str(trainer.final_model_dir), str(model_dir))
        record.learning_rate = attempt["learning_rate"]
        record.num_epochs = trainer.state.epoch
        record.train_seconds = attempt["seconds"]
        record.num_parameters = sum(p.numel() for p in trainer.model.parameters())
        record.write(path)
        # keep the history, drop the checkpoints
        write_json(training_dir / "history.json", trainer.state.history)
        shutil.rmtree(trainer.run_dir, ignore_errors=True)
        return trainer.model


def _relative(obj: Any, root: str) -> Any:
    """Paths under ``root`` made relative to it, anywhere in a JSON tree."""
    if isinstance(obj, dict):
        return {k: _relative(v, root) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative(v, root) for v in obj]
    if isinstance(obj, str) and obj.startswith(root + "/"):
        return obj[len(root) + 1:]
    return obj


def _samplers(spec: StudySpec, run: RunSpec, model, train, val, notes: dict[str, str]) -> list:
    """The run's samplers, fitted once on the training split (used for both evaluations)."""
    from gaekit.samplers import sampler_for_config

    samplers = []
    batch_size = spec.evaluation_config().batch_size
    for alias in spec.samplers_for(run.model):
        config = spec.sampler_config(alias)
        try:
            sampler = sampler_for_config(config)(model, config)
        except ConfigError as err:  # a sampler that does not suit this model (e.g. vamp for a non-VAMP model)
            notes[f"sampler {alias}"] = f"skipped: {err}"
            continue
        sampler.fit(train, val, batch_size=batch_size)
        samplers.append(sampler)
    return samplers


def _evaluate(spec: StudySpec, run: RunSpec, record: RunRecord, folder: Path, model, splits: dict,
              data_dir: str | None) -> None:
    from gaekit.metrics import EvaluationData, evaluate

    start = time.perf_counter()
    tasks = list(spec.tasks)
    samplers = _samplers(spec, run, model, splits["train"], splits["validation"], record.notes) \
        if "generation" in tasks else []
    if "generation" in tasks and not samplers:
        tasks.remove("generation")
        record.notes["generation"] = "skipped: no sampler of the study suits this model"
    plan = {"validation": ([t for t in tasks if t in VALIDATION_TASKS],
                           EvaluationData(train=splits["train"], validation=None, test=splits["validation"])),
            "test": (tasks, EvaluationData(**splits))}
    for split, (split_tasks, data) in plan.items():
        if not split_tasks:
            continue
        result = evaluate(model, data, tasks=split_tasks, sampler=samplers, extractor=spec.extractor,
                          config=spec.evaluation_config(), output_dir=folder / layout.IMAGES_DIR / split,
                          dataset=run.dataset, data_dir=data_dir)
        out = folder / layout.metrics_file(split)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, {"schema_version": layout.SCHEMA_VERSION, "split": split,
                         "result": _relative(result.to_dict(), str(folder))})
    record.eval_seconds = round(time.perf_counter() - start, 3)


def headline(folder: Path) -> dict[str, float]:
    """A few test metrics of a finished run, for its status line."""
    path = folder / layout.metrics_file("test")
    if not path.is_file():
        return {}
    result = json.loads(path.read_text())["result"]
    out: dict[str, float] = {}
    if result.get("reconstruction"):
        out["mse"] = result["reconstruction"]["mse"]
    for sampler, values in (result.get("generation") or {}).items():
        fid = next((v for k, v in values.items() if k.startswith("fid") and isinstance(v, float)), None)
        if fid is not None:
            out[f"fid[{sampler.replace('Sampler', '')}]"] = fid
    if result.get("classification"):
        out["acc"] = result["classification"]["test_accuracy_mean"]
    scores = (result.get("disentanglement") or {}).get("scores") or {}
    out.update({k: scores[k] for k in ("beta_vae", "factor_vae", "mig", "dci_disentanglement") if k in scores})
    return out


def run_one(study_dir: str | Path, spec: StudySpec | dict, run: RunSpec | dict,
            data_dir: str | None = None) -> dict[str, Any]:
    """Do (or finish) one run; return ``{"run_id", "status", "train_seconds", "headline", "skipped"}``.

    ``spec`` and ``run`` may be given as dicts (``to_dict()``), as worker processes receive them.
    A finished or failed run is skipped; a run locked by another live process is reported as
    ``"locked"`` and left alone.
    """
    from gaekit.models import AutoModel

    spec = spec if isinstance(spec, StudySpec) else StudySpec.from_dict(spec)
    run = run if isinstance(run, RunSpec) else RunSpec(**run)
    folder = run_dir(Path(study_dir), run)
    path = folder / layout.RUN_FILE
    with run_lock(folder) as held:
        if not held:
            return {"run_id": run.run_id, "status": "locked", "skipped": True}
        record = RunRecord.read(path) or RunRecord.new(run)
        if record.done:
            return {"run_id": run.run_id, "status": record.status, "skipped": True,
                    "train_seconds": record.train_seconds, "headline": headline(folder)}
        record.status = layout.RUNNING
        record.started_at = record.started_at or now()
        record.write(path)
        try:
            splits = {s: load_split(run.dataset, s, spec.data.limit(s), data_dir, spec.data.subset)
                      for s in layout.SPLITS + ("train",)}
            splits = {k: splits[k] for k in ("train", "validation", "test")}
            if record.learning_rate is not None and (folder / layout.MODEL_DIR).is_dir():
                model = AutoModel.load_from_folder(folder / layout.MODEL_DIR)  # trained: redo the evaluation only
            else:
                model = _train(spec, run, record, folder, splits["train"], splits["validation"])
            if model is not None:
                _evaluate(spec, run, record, folder, model, splits, data_dir)
                record.status = layout.FINISHED
        except Exception as err:  # noqa: BLE001 - one broken run must not stop the study
            record.status = layout.FAILED
            record.error = f"{type(err).__name__}: {err}"
            record.notes["traceback"] = traceback.format_exc(limit=8)
        record.finished_at = now()
        record.write(path)
    return {"run_id": run.run_id, "status": record.status, "skipped": False, "train_seconds": record.train_seconds,
            "headline": headline(folder), "error": record.error}
