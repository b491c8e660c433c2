"""Run-list expansion, shards, run records and the per-run lock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gaekit.bench import layout
from gaekit.bench.executors import run_study
from gaekit.bench.presets import paper, smoke
from gaekit.bench.runs import RunRecord, expand, parse_shard, run_lock, shard
from gaekit.errors import ConfigError


def test_expansion_order_and_ids_are_stable_and_unique():
    runs = expand(paper())
    ids = [r.run_id for r in runs]
    assert len(set(ids)) == len(ids) == 1140
    assert ids[0] == "mnist-convnet-VAE-c01-d16-s0" and ids[-1] == "celeba-resnet-RAE-GP-c10-d64-s0"
    assert [r.run_id for r in expand(paper())] == ids  # deterministic
    beta = next(r for r in runs if r.model == "beta-VAE" and r.config_index == 3)
    # the grid's value, with the paper's code's decoder scale that the preset sets for every model
    assert beta.config == {"decoder_variance": 0.5, "beta": 0.1} and beta.source == "Table 12"
    assert beta.model_name == "BetaVAE"
    # repeated configurations (AE/VAE) are trained with different seeds
    ae = [r for r in runs if r.model == "AE" and r.dataset == "mnist" and r.network == "convnet"]
    assert len({r.train_seed for r in ae}) == len(ae) == 10


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_run_list(count):
    runs = expand(paper())
    parts = [shard(runs, i, count) for i in range(1, count + 1)]
    assert sorted(r.run_id for p in parts for r in p) == sorted(r.run_id for r in runs)
    assert sum(len(p) for p in parts) == len(runs)
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1  # round-robin: balanced


@pytest.mark.parametrize("text", ["0/2", "3/2", "1-2", "a/b", "", "1/0"])
def test_bad_shard_strings_are_refused(text):
    with pytest.raises(ConfigError, match="expected i/n with 1 <= i <= n"):
        parse_shard(text)


def test_two_shards_into_one_folder_give_the_unsharded_run_set(tmp_path):
    spec = smoke()
    first = run_study(spec, tmp_path, shard_text="1/2", show_progress=False, echo=lambda s: None)
    second = run_study(spec, tmp_path, shard_text="2/2", show_progress=False, echo=lambda s: None)
    assert {r["run_id"] for r in first}.isdisjoint({r["run_id"] for r in second})
    folders = sorted(p.name for p in (tmp_path / layout.RUNS_DIR).iterdir())
    assert folders == sorted(r.run_id for r in expand(spec))
    assert all(RunRecord.read(tmp_path / "runs" / f / layout.RUN_FILE).status == layout.FINISHED for f in folders)
    # the unsharded study finds everything done
    again = run_study(spec, tmp_path, show_progress=False, echo=lambda s: None)
    assert all(r["skipped"] for r in again) and len(again) == len(folders)


def test_a_study_folder_holds_one_spec(tmp_path):
    spec = smoke()
    run_study(spec.replace(tasks=["reconstruction"], models=spec.models[:1]), tmp_path, show_progress=False,
              echo=lambda s: None)
    with pytest.raises(ConfigError, match="different spec"):
        run_study(spec, tmp_path, show_progress=False, echo=lambda s: None)


def test_a_study_folder_started_before_the_field_renames_continues(tmp_path):
    """``tests/data_files/study_v1/study.json`` was written by the release before the renames (``number_samples``,
    ``n_components``, ...): the same preset now spells its fields anew, and the folder still holds its spec."""
    import json
    import shutil

    from gaekit.bench.executors import prepare_study
    from gaekit.bench.presets import cpu_quick

    saved = Path(__file__).resolve().parents[1] / "data_files" / "study_v1" / "study.json"
    assert "number_samples" in saved.read_text()
    shutil.copy(saved, tmp_path / layout.STUDY_FILE)
    prepare_study(cpu_quick(), tmp_path)
    assert (tmp_path / layout.STUDY_FILE).read_bytes() == saved.read_bytes()
    old = json.loads(saved.read_text())["spec"]
    old["models"][0]["configs"] = [{"reconstruction_loss": "bce"}]  # another grid is still another spec
    (tmp_path / layout.STUDY_FILE).write_text(json.dumps({"spec_hash": "0" * 16, "spec": old}))
    with pytest.raises(ConfigError, match="different spec"):
        prepare_study(cpu_quick(), tmp_path)


def test_run_record_round_trip(tmp_path):
    run = expand(smoke())[1]
    record = RunRecord.new(run)
    record.attempts.append({"learning_rate": 1e-3, "outcome": "finished"})
    record.write(tmp_path / "run.json")
    again = RunRecord.read(tmp_path / "run.json")
    assert again == record and again.run_id == run.run_id and again.schema_version == layout.SCHEMA_VERSION
    assert RunRecord.read(tmp_path / "missing.json") is None


def test_lock_excludes_a_live_holder_and_takes_over_a_dead_ones(tmp_path):
    with run_lock(tmp_path) as held:
        assert held
        with run_lock(tmp_path) as again:
            assert not again  # held by this (live) process
    assert not (tmp_path / ".lock").exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".lock").write_text(f"{socket.gethostname()} {int(dead.stdout)}")
    with run_lock(tmp_path) as held:
        assert held and (tmp_path / ".lock").read_text().split()[1] == str(os.getpid())
    (tmp_path / ".lock").write_text(f"another-host-{socket.gethostname()} 1")
    with run_lock(tmp_path) as held:
        assert not held  # another machine's process: cannot be checked, so respected
