"""MLflowCallback against a real local MLflow store (SQLite in a temp dir), read back with MlflowClient."""

from __future__ import annotations

import uuid

import pytest

mlflow = pytest.importorskip("mlflow", reason="MLflow is installed by the dev extra; guard for partial installs")

from mlflow.tracking import MlflowClient  # noqa: E402

from gaekit.tracking import MLflowCallback  # noqa: E402


def _callback(store, **kw):
    uri, root = store
    name = f"exp-{uuid.uuid4().hex[:8]}"
    return MLflowCallback(tracking_uri=uri, experiment_name=name, artifact_location=(root / name).as_uri(),
                          **kw)


def test_mlflow_logs_params_metrics_and_the_final_model(train_run, mlflow_store):
    callback = _callback(mlflow_store, tags={"purpose": "test"})
    trainer = train_run([callback])
    client = MlflowClient(tracking_uri=mlflow_store[0])
    run = client.get_run(callback.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["purpose"] == "test"
    assert run.info.run_name == trainer.run_dir.name
    params = run.data.params
    assert params["model.name"] == "VAE" and params["model.latent_dim"] == "3"
    assert params["trainer.num_epochs"] == "2" and params["model.input_dim"] == "[1, 8, 8]"
    assert int(params["model.num_parameters"]) == sum(p.numel() for p in trainer.model.parameters())
    for key in ("train_loss", "eval_loss", "train_kl"):
        logged = client.get_metric_history(callback.run_id, f"epoch/{key}")
        assert [m.step for m in logged] == [r["global_step"] for r in trainer.state.history]
        assert [m.value for m in logged] == pytest.approx([r[key] for r in trainer.state.history], rel=1e-12)
    step_loss = client.get_metric_history(callback.run_id, "step/loss")
    assert [m.step for m in step_loss] == [2, 4, 6]
    artifacts = {f.path for f in client.list_artifacts(callback.run_id, "final_model")}
    assert {"final_model/config.json", "final_model/model.safetensors", "final_model/gaekit.json",
            "final_model/training_config.json"} <= artifacts


def test_mlflow_backend_failure_detaches_and_training_finishes(train_run, mlflow_store, monkeypatch):
    callback = _callback(mlflow_store)
    real_log_batch = MlflowClient.log_batch

    def log_batch(self, run_id, metrics=(), params=(), tags=(), **kw):
        if metrics:
            raise ConnectionError("tracking server went away")
        return real_log_batch(self, run_id, metrics=metrics, params=params, tags=tags, **kw)

    monkeypatch.setattr(MlflowClient, "log_batch", log_batch)
    with pytest.warns(RuntimeWarning, match="MLflow backend failed .*went away.*detached"):
        trainer = train_run([callback])
    assert callback.detached and trainer.state.epoch == 2
    assert (trainer.final_model_dir / "model.safetensors").is_file()
    run = MlflowClient(tracking_uri=mlflow_store[0]).get_run(callback.run_id)
    assert run.info.status == "FAILED" and run.data.params["model.name"] == "VAE"


def test_mlflow_run_is_closed_as_failed_when_training_stops_on_an_error(train_run, mlflow_store):
    from gaekit.trainers import TrainerCallback

    class Crash(TrainerCallback):
        def on_epoch_end(self, trainer, record):
            raise KeyboardInterrupt

    callback = _callback(mlflow_store)
    with pytest.raises(KeyboardInterrupt):
        train_run([callback, Crash()])
    run = MlflowClient(tracking_uri=mlflow_store[0]).get_run(callback.run_id)
    assert run.info.status == "FAILED" and not callback.detached
    assert [m.step for m in MlflowClient(tracking_uri=mlflow_store[0]).get_metric_history(callback.run_id,
                                                                                        "step/loss")] == [2]
