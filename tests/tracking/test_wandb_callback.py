"""WandbCallback in W&B offline mode: the run's ``.wandb`` file is read back record by record."""

from __future__ import annotations

import json
import time

import pytest

wandb = pytest.importorskip("wandb", reason="wandb is installed by the dev extra; guard for partial installs")

from wandb.proto import wandb_internal_pb2  # noqa: E402

from gaekit.tracking import WandbCallback  # noqa: E402

_BLOCK, _HEADER = 32768, 7  # the .wandb file: a 7-byte file header, then LevelDB-log records in 32 KiB blocks


def read_wandb_records(path):
    """Parse a ``.wandb`` run file into ``wandb_internal_pb2.Record`` messages (LevelDB log format)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, pending, records = _HEADER, b"", []
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # block trailer padding
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        if pos + _HEADER + length > len(data):  # a record still being written
            break
        pending += data[pos + _HEADER:pos + _HEADER + length]
        pos += _HEADER + length
        if kind in (1, 4):  # FULL or LAST fragment
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline, every folder it writes under tmp_path; no network is ever contacted."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    for var, sub in (("WANDB_DIR", "wandb_dir"), ("WANDB_CACHE_DIR", "cache"), ("WANDB_CONFIG_DIR", "config"),
                     ("WANDB_DATA_DIR", "data"), ("WANDB_ARTIFACT_DIR", "artifacts")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return tmp_path


def _run_records(trainer, timeout=30.0):
    """The run's records, once W&B's service process has written them up to the exit record."""
    (path,) = trainer.run_dir.glob("wandb/offline-run-*/run-*.wandb")
    deadline = time.monotonic() + timeout
    while True:  # run.finish() returns before the service process has flushed the file
        records = read_wandb_records(path)
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_wandb_offline_run_holds_config_metrics_and_model_artifact(train_run, offline):
    trainer = train_run([WandbCallback(project="gaekit-test", tags=["test"])])
    records = _run_records(trainer)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.project == "gaekit-test" and run.display_name == trainer.run_dir.name and list(run.tags) == ["test"]
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert config["model.name"] == "VAE" and config["model.latent_dim"] == 3
    assert config["trainer.batch_size"] == 16 and config["model.input_dim"] == [1, 8, 8]
    rows = {}
    for r in records:
        if r.WhichOneof("record_type") == "history":
            row = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in r.history.item}
            rows.setdefault(row["_step"], {}).update(row)
    assert [s for s in sorted(rows) if "step/loss" in rows[s]] == [2, 4, 6]
    for record in trainer.state.history:
        row = rows[record["global_step"]]
        assert row["epoch/train_loss"] == pytest.approx(record["train_loss"], rel=1e-12)
        assert row["epoch/eval_loss"] == pytest.approx(record["eval_loss"], rel=1e-12)
    (artifact,) = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    assert artifact.type == "model" and artifact.name.startswith("VAE-")
    assert {c.path for c in artifact.manifest.contents} >= {"config.json", "model.safetensors", "gaekit.json"}
    (exit_record,) = [r.exit for r in records if r.WhichOneof("record_type") == "exit"]
    assert exit_record.exit_code == 0


def test_wandb_backend_failure_detaches_and_training_finishes(train_run, offline, monkeypatch):
    from wandb.sdk.wandb_run import Run

    def failing_log(self, *args, **kwargs):
        raise ConnectionError("W&B is down")

    monkeypatch.setattr(Run, "log", failing_log)
    callback = WandbCallback()
    with pytest.warns(RuntimeWarning, match="W&B backend failed .*W&B is down.*detached"):
        trainer = train_run([callback])
    assert callback.detached and trainer.state.epoch == 2
    (exit_record,) = [r.exit for r in _run_records(trainer) if r.WhichOneof("record_type") == "exit"]
    assert exit_record.exit_code == 1
