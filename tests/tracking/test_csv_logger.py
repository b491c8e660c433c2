"""CSVLogger: metrics.csv rows match the trainer's history, params.json, resume, failures, errors."""

from __future__ import annotations

import csv
import json

import pytest

from gaekit.errors import ConfigError
from gaekit.tracking import CSVLogger
from gaekit.trainers import Trainer


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_logger_writes_step_and_epoch_metrics_and_params(train_run):
    trainer = train_run([CSVLogger()])
    rows = _rows(trainer.run_dir / "metrics.csv")
    step_rows = [r for r in rows if r["step/loss"]]
    epoch_rows = [r for r in rows if r["epoch/train_loss"]]
    assert [int(r["step"]) for r in step_rows] == [2, 4, 6]  # log_every_n_steps=2 over 6 steps
    assert {"step/recon_loss", "step/kl"} <= set(rows[0])
    assert len(epoch_rows) == 2
    for row, record in zip(epoch_rows, trainer.state.history):
        assert int(row["step"]) == record["global_step"]
        assert float(row["epoch/epoch"]) == record["epoch"]
        for key in ("train_loss", "eval_loss", "lr_model"):
            assert float(row[f"epoch/{key}"]) == pytest.approx(record[key], rel=1e-12)
    params = json.loads((trainer.run_dir / "params.json").read_text())
    assert params["model.name"] == "VAE" and params["model.latent_dim"] == 3
    assert params["trainer.batch_size"] == 16 and params["model.input_dim"] == [1, 8, 8]


def test_csv_logger_resumed_run_keeps_rows_up_to_the_checkpoint(train_run, tmp_path):
    full = train_run([CSVLogger(log_dir=tmp_path / "full")], checkpoint_every_n_epochs=1)
    resumed = Trainer.from_checkpoint(full.run_dir / "checkpoint_epoch_1", train_data=full.train_dataset,
                                      eval_data=full.eval_dataset, callbacks=[CSVLogger(log_dir=tmp_path / "full")])
    assert resumed.state.epoch == 1
    resumed.config.num_epochs = 3
    resumed.train()
    steps = [int(r["step"]) for r in _rows(tmp_path / "full" / "metrics.csv")]
    # rows after the checkpoint (step 3) from the first run were dropped and logged again by the resumed run
    assert steps == [2, 3, 4, 6, 6, 8, 9]


def test_csv_logger_without_a_folder_is_a_config_error(train_run):
    with pytest.raises(ConfigError, match="log_dir"):
        train_run([CSVLogger()], output_dir=None)
    with pytest.raises(ConfigError, match="log_every_n_steps=0"):
        CSVLogger(log_every_n_steps=0)


def test_csv_logger_write_failure_detaches_and_training_finishes(train_run, monkeypatch):
    logger = CSVLogger()
    calls = []

    def failing_writerow(self, row):
        calls.append(row)
        raise OSError("disk full")

    monkeypatch.setattr(csv.DictWriter, "writerow", failing_writerow)
    with pytest.warns(RuntimeWarning, match="CSV backend failed .*disk full.*detached"):
        trainer = train_run([logger])
    assert logger.detached and len(calls) == 1
    assert trainer.state.epoch == 2 and (trainer.final_model_dir / "model.safetensors").is_file()
