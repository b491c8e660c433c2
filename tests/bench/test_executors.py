"""Executors: local process pool, Ray (local single-node cluster), status lines and the CLI."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from gaekit.bench import layout
from gaekit.bench.executors import run_study, status_line
from gaekit.bench.presets import smoke
from gaekit.bench.runs import RunRecord, expand
from gaekit.errors import ConfigError


def _tiny():
    spec = smoke()
    return spec.replace(models=spec.models[:2], tasks=["reconstruction"])


def _all_finished(folder, spec) -> bool:
    return all(RunRecord.read(folder / layout.RUNS_DIR / r.run_id / layout.RUN_FILE).status == layout.FINISHED
               for r in expand(spec))


def test_status_line_names_run_outcome_time_and_metrics():
    line = status_line({"run_id": "r1", "status": "finished", "train_seconds": 3.25,
                        "headline": {"mse": 0.0123, "fid[Normal]": 40.5}})
    assert line == "r1 | finished | train 3.2s | mse 0.0123 | fid[Normal] 40.5"
    assert "error: boom" in status_line({"run_id": "r2", "status": "failed", "error": "boom"})


def test_bad_executor_and_workers_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="executor='slurm'"):
        run_study(_tiny(), tmp_path, executor="slurm")
    with pytest.raises(ConfigError, match="workers=0"):
        run_study(_tiny(), tmp_path, workers=0)


def test_ray_missing_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError, match=r"gaekit\[ray\]"):
        run_study(_tiny(), tmp_path, executor="ray", show_progress=False, echo=lambda s: None)


def test_local_worker_pool_runs_the_study(tmp_path):
    spec = _tiny()
    results = run_study(spec, tmp_path, workers=2, show_progress=False, echo=lambda s: None)
    assert sorted(r["run_id"] for r in results) == sorted(r.run_id for r in expand(spec))
    assert _all_finished(tmp_path, spec)


class _FakeRay:
    """The slice of Ray's API the executor uses, run in this process (the fast check of the Ray code path;
    the real single-node cluster is the slow test below)."""

    def __init__(self):
        self.calls = []

    def is_initialized(self):
        return False

    def init(self, **kwargs):
        self.calls.append(("init", kwargs))

    def shutdown(self):
        self.calls.append(("shutdown", {}))

    def remote(self, **options):
        ray = self

        class _Remote:
            def __init__(self, fn):
                self.fn = fn

            def remote(self, *args):
                ray.calls.append(("task", options))
                return self.fn(*args)

        return _Remote

    def wait(self, pending, num_returns):
        return pending[:num_returns], pending[num_returns:]

    def get(self, ref):
        return ref


def test_ray_code_path_one_task_per_run(tmp_path, monkeypatch):
    fake = _FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    spec = _tiny()
    results = run_study(spec, tmp_path, executor="ray", ray_address="ray://head:10001", show_progress=False,
                        echo=lambda s: None)
    n = len(expand(spec))
    assert [r["status"] for r in results] == [layout.FINISHED] * n and _all_finished(tmp_path, spec)
    assert fake.calls[0] == ("init", {"address": "ray://head:10001", "include_dashboard": False,
                                      "log_to_driver": False})
    assert [c for c in fake.calls if c[0] == "task"] == [("task", {"num_cpus": 1})] * n
    assert fake.calls[-1][0] == "shutdown"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray (extra 'ray') is not installed")
def test_ray_executor_runs_the_smoke_study(tmp_path):
    spec = smoke()
    results = run_study(spec, tmp_path, executor="ray", workers=1, show_progress=False, echo=lambda s: None)
    assert sorted(r["run_id"] for r in results) == sorted(r.run_id for r in expand(spec))
    assert all(r["status"] == layout.FINISHED for r in results) and _all_finished(tmp_path, spec)


def test_cli_runs_a_spec_and_a_shard(tmp_path, capsys):
    from gaekit.cli import main

    spec = _tiny()
    spec_file = tmp_path / "tiny.json"
    spec.to_json(spec_file)
    out = tmp_path / "study"
    assert main(["bench", str(spec_file), "--out", str(out), "--shard", "2/2", "--no-report", "--no-progress"]) == 0
    assert "1 finished, 0 failed of 1 runs in shard 2/2" in capsys.readouterr().out
    assert main(["bench", "run", str(spec_file), "--out", str(out), "--no-report", "--no-progress"]) == 0
    assert _all_finished(out, spec)
    assert main(["bench", "run", "--out", str(out), "--no-report"]) == 2  # neither SPEC nor --preset
    assert "exactly one of SPEC" in capsys.readouterr().err


def test_cli_smoke_preset_writes_the_report(tmp_path):
    from gaekit.cli import main

    assert main(["bench", "--preset", "smoke", "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / layout.REPORT_DIR / "report.html").is_file()


def test_a_shard_needs_only_the_extractors_of_its_own_datasets(tmp_path):
    # CIFAR-10 has no FID extractor on a machine without the Inception weights; a shard holding only
    # MNIST runs must still run (the extractors are built for the datasets of the runs to do)
    spec = _tiny().replace(datasets=["mnist", "cifar10"], latent_dims={"mnist": [4], "cifar10": [4]})
    runs = expand(spec)
    assert runs[0].dataset == "mnist" and {r.dataset for r in runs} == {"mnist", "cifar10"}
    results = run_study(spec, tmp_path, shard_text=f"1/{len(runs)}", show_progress=False, echo=lambda s: None)
    assert [(r["run_id"], r["status"]) for r in results] == [(runs[0].run_id, layout.FINISHED)]
