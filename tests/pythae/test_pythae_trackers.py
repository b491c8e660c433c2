"""Pythae's tracker callbacks (``setup(training_config, model_config=..., ...)``) log through gaekit.tracking."""

from __future__ import annotations

import os

import pytest
import torch

from gaekit.errors import ConfigError
from gaekit.pythae.models import VAE, VAEConfig
from gaekit.pythae.pipelines import TrainingPipeline
from gaekit.pythae.trainers import BaseTrainerConfig
from gaekit.pythae.trainers.training_callbacks import (
    CometCallback,
    MLFlowCallback,
    WandbCallback,
    as_trainer_callback,
)


def _configs():
    return BaseTrainerConfig(num_epochs=1), VAEConfig(input_dim=(1, 8, 8), latent_dim=2)


def _set_up(cls, *args, **kwargs):
    callback = cls()
    callback.setup(*args, **kwargs)
    return callback


def test_setup_arguments_are_the_gaekit_trackers_settings(monkeypatch):
    training_config, model_config = _configs()
    wandb_cb = _set_up(WandbCallback, training_config=training_config, model_config=model_config,
                       project_name="my_project", entity_name="me", mode="offline")
    assert wandb_cb.settings == {"project": "my_project", "entity": "me", "mode": "offline"}
    mlflow_cb = _set_up(MLFlowCallback, training_config, model_config=model_config, run_name="run-1",
                        tracking_uri="sqlite:///x.db")
    assert mlflow_cb.settings == {"run_name": "run-1", "tracking_uri": "sqlite:///x.db"}
    monkeypatch.delenv("COMET_API_KEY", raising=False)
    comet_cb = _set_up(CometCallback, training_config, model_config=model_config, api_key="k", project_name="p",
                       workspace="w", offline_run=True, offline_directory="/tmp/comet")
    assert comet_cb.settings == {"project_name": "p", "workspace": "w", "offline_directory": "/tmp/comet"}
    assert os.environ["COMET_API_KEY"] == "k"
    with pytest.raises(ConfigError, match="offline_run=False"):  # gaekit logs to Comet offline only: refused
        _set_up(CometCallback, training_config, offline_run=False)
    assert WandbCallback().settings == {}  # no setup: the tracker's defaults (project "pythae_experiment")


@pytest.mark.slow
def test_trackers_are_built_and_log_a_pythae_pipeline_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow puts the artifacts of a sqlite-tracked run under ./mlruns
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from gaekit.tracking import MLflowCallback
    from gaekit.tracking import WandbCallback as GaekitWandb

    pytest.importorskip("wandb", reason="the wandb extra is not installed")
    tracker = as_trainer_callback(WandbCallback())
    assert isinstance(tracker, GaekitWandb) and tracker.project == "pythae_experiment"
    training_config = BaseTrainerConfig(output_dir=str(tmp_path / "runs"), num_epochs=2,
                                        per_device_train_batch_size=10, no_cuda=True)
    model_config = VAEConfig(input_dim=(1, 8, 8), latent_dim=2)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    callback = _set_up(MLFlowCallback, training_config, model_config=model_config, run_name="pythae-run",
                       tracking_uri=uri)
    assert isinstance(as_trainer_callback(callback), MLflowCallback)
    pipeline = TrainingPipeline(training_config=training_config, model=VAE(model_config=model_config))
    pipeline(train_data=torch.rand(20, 1, 8, 8), eval_data=torch.rand(10, 1, 8, 8), callbacks=[callback])
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.run_name == "pythae-run"
    assert len(client.get_metric_history(run.info.run_id, "epoch/train_loss")) == 2
