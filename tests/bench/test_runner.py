"""One run end to end: files written, resume after SIGKILL, the instability (NaN) protocol, redone evaluation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaekit.bench import layout
from gaekit.bench.executors import run_study
from gaekit.bench.presets import smoke
from gaekit.bench.runs import RunRecord, expand
from gaekit.bench.spec import DataSpec, ModelSpec, TrainingSpec

RUN_KEYS = {"schema_version", "run_id", "dataset", "network", "model", "model_name", "config_index", "config",
            "source", "latent_dim", "seed", "status", "attempts", "learning_rate", "num_epochs", "train_seconds",
            "eval_seconds", "num_parameters", "started_at", "finished_at", "error"}


def _quiet(spec, folder, **kwargs):
    return run_study(spec, folder, show_progress=False, echo=lambda s: None, **kwargs)


def _record(folder: Path, run_id: str) -> RunRecord:
    return RunRecord.read(folder / layout.RUNS_DIR / run_id / layout.RUN_FILE)


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smoke")
    results = _quiet(smoke(), folder)
    return folder, results


def test_smoke_study_writes_the_contract_layout(smoke_study):
    folder, results = smoke_study
    assert [r["status"] for r in results] == [layout.FINISHED] * 4
    study = json.loads((folder / layout.STUDY_FILE).read_text())
    assert study["spec_hash"] == smoke().spec_hash() and study["spec"]["study"] == "smoke"
    for run in expand(smoke()):
        run_folder = folder / layout.RUNS_DIR / run.run_id
        data = json.loads((run_folder / layout.RUN_FILE).read_text())
        assert RUN_KEYS <= set(data)
        assert data["status"] == layout.FINISHED and data["config"] == run.config and data["error"] is None
        assert data["attempts"][-1]["outcome"] == "finished" and data["learning_rate"] == 1e-3
        assert (run_folder / layout.MODEL_DIR / "config.json").is_file()
        assert (run_folder / layout.TRAINING_DIR / "history.json").is_file()
        assert not list(run_folder.rglob("checkpoint_*"))  # checkpoints are deleted once training finished
        validation = json.loads((run_folder / layout.metrics_file("validation")).read_text())
        test = json.loads((run_folder / layout.metrics_file("test")).read_text())
        assert validation["split"] == "validation" and validation["schema_version"] == 1
        assert validation["result"]["tasks"] == ["reconstruction", "generation"]
        assert test["result"]["tasks"] == ["reconstruction", "generation", "classification", "clustering",
                                           "interpolation"]
        assert set(test["result"]["generation"]) == {"NormalSampler", "GaussianMixtureSampler"}
        assert "validation_accuracy_mean" in test["result"]["classification"]
        png = test["result"]["interpolation"]["interpolation_png"]
        assert not Path(png).is_absolute() and (run_folder / png).is_file()  # relative to the run folder


def test_rerun_skips_finished_runs(smoke_study):
    folder, _ = smoke_study
    before = {r.run_id: _record(folder, r.run_id).finished_at for r in expand(smoke())}
    again = _quiet(smoke(), folder)
    assert all(r["skipped"] for r in again)
    assert {r.run_id: _record(folder, r.run_id).finished_at for r in expand(smoke())} == before


def test_an_interrupted_evaluation_is_redone_without_retraining(tmp_path):
    spec = smoke().replace(models=smoke().models[:1])
    _quiet(spec, tmp_path)
    run_id = expand(spec)[0].run_id
    path = tmp_path / layout.RUNS_DIR / run_id / layout.RUN_FILE
    record = RunRecord.read(path)
    weights = (tmp_path / layout.RUNS_DIR / run_id / layout.MODEL_DIR / "model.safetensors").read_bytes()
    record.status = layout.RUNNING  # as if killed during the evaluation
    record.write(path)
    (tmp_path / layout.RUNS_DIR / run_id / layout.metrics_file("test")).unlink()
    _quiet(spec, tmp_path)
    again = RunRecord.read(path)
    assert again.status == layout.FINISHED and again.attempts == record.attempts
    assert (tmp_path / layout.RUNS_DIR / run_id / layout.metrics_file("test")).is_file()
    assert (tmp_path / layout.RUNS_DIR / run_id / layout.MODEL_DIR / "model.safetensors").read_bytes() == weights


def _diverging_spec(max_lr_retries: int):
    """A VAE trained with SGD at lr 10 (its loss becomes non-finite at once; lr 0.1 trains), then an AE."""
    spec = smoke()
    return spec.replace(models=[ModelSpec(label="VAE", model="VAE"), ModelSpec(label="AE", model="AE")],
                        training=TrainingSpec(num_epochs=1, learning_rate=10.0, batch_size=50, optimizer="SGD"),
                        tasks=["reconstruction"], max_lr_retries=max_lr_retries)


def test_non_finite_loss_is_retrained_with_lr_divided_by_10(tmp_path):
    spec = _diverging_spec(max_lr_retries=3)
    _quiet(spec, tmp_path)
    record = _record(tmp_path, expand(spec)[0].run_id)
    assert record.status == layout.FINISHED
    lrs = [a["learning_rate"] for a in record.attempts]
    assert lrs[0] == 10.0 and all(b == pytest.approx(a / 10) for a, b in zip(lrs, lrs[1:]))
    assert [a["outcome"] for a in record.attempts[:-1]] == ["non_finite"] * (len(lrs) - 1) and len(lrs) >= 2
    assert record.attempts[-1]["outcome"] == "finished" and record.learning_rate == lrs[-1]
    assert "non-finite loss" in record.attempts[0]["message"]


def test_retry_bound_marks_the_run_failed_and_the_study_goes_on(tmp_path):
    spec = _diverging_spec(max_lr_retries=1)
    results = _quiet(spec, tmp_path)
    assert [r["status"] for r in results] == [layout.FAILED, layout.FINISHED]
    record = _record(tmp_path, expand(spec)[0].run_id)
    assert [a["outcome"] for a in record.attempts] == ["non_finite", "non_finite"]
    assert [a["learning_rate"] for a in record.attempts] == pytest.approx([10.0, 1.0])
    assert "max_lr_retries=1" in record.error and record.finished_at is not None
    assert not (tmp_path / layout.RUNS_DIR / expand(spec)[0].run_id / layout.MODEL_DIR).exists()
    # a failed run is final: a rerun leaves it alone
    assert [r["skipped"] for r in _quiet(spec, tmp_path)] == [True, True]


def _resume_spec():
    spec = smoke()
    return spec.replace(models=[ModelSpec(label="AE", model="AE"), ModelSpec(label="VAE", model="VAE")],
                        network_options={"mlp": {"hidden_dims": [256]}},
                        training=TrainingSpec(num_epochs=8, learning_rate=1e-3, batch_size=50),
                        data=DataSpec(max_train=2000, max_validation=100, max_test=100), tasks=["reconstruction"])


def _cli(spec_file: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "gaekit", "bench", str(spec_file), "--out", str(out),
                             "--no-report", "--no-progress"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_sigkill_mid_study_then_rerun_resumes(tmp_path):
    spec = _resume_spec()
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec.to_dict()))
    out = tmp_path / "study"
    first, second = (r.run_id for r in expand(spec))
    proc = _cli(spec_file, out)
    deadline = time.monotonic() + 240
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = _record(out, first)
            running = _record(out, second)
        except Exception:  # a record being replaced right now
            done = running = None
        if done and done.status == layout.FINISHED and running and running.attempts \
                and running.attempts[-1]["epoch"] >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = running.attempts[-1]["epoch"]
            break
        time.sleep(0.02)
    proc.wait()
    assert killed_at is not None, f"the study ended before it could be killed mid-run: {proc.stdout.read()}"
    finished_before = _record(out, first).finished_at
    assert _record(out, second).status == layout.RUNNING
    rerun = _cli(spec_file, out)
    log = rerun.communicate(timeout=240)[0]
    assert rerun.returncode == 0, log
    assert _record(out, first).finished_at == finished_before  # not retrained
    record = _record(out, second)
    assert record.status == layout.FINISHED and len(record.attempts) == 1  # resumed, not restarted
    resumed = record.attempts[0]["resumed_from_epochs"]
    assert len(resumed) == 1 and killed_at <= resumed[0] <= killed_at + 1 and resumed[0] < 8
    history = json.loads((out / layout.RUNS_DIR / second / layout.TRAINING_DIR / "history.json").read_text())
    assert [h["epoch"] for h in history] == list(range(1, 9))  # every epoch exactly once
