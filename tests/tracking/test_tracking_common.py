"""Shared tracking behaviour: params flattening, missing extras, several callbacks in one run."""

from __future__ import annotations

import csv
import sys

import pytest

from gaekit.tracking import CSVLogger, MLflowCallback, TensorBoardCallback, WandbCallback, flatten_params


def test_flatten_params_joins_nested_keys_and_keeps_lists():
    nested = {"model": {"latent_dim": 16, "input_dim": [1, 28, 28], "extra": {}},
              "trainer": {"group_overrides": {"decoder": {"learning_rate": 0.1}}}}
    assert flatten_params(nested) == {"model.latent_dim": 16, "model.input_dim": [1, 28, 28], "model.extra": {},
                                      "trainer.group_overrides.decoder.learning_rate": 0.1}


@pytest.mark.parametrize(("build", "module", "extra"), [
    (MLflowCallback, "mlflow", "mlflow"),
    (WandbCallback, "wandb", "wandb"),
    (TensorBoardCallback, "tensorboard", "tensorboard"),
])
def test_a_missing_backend_names_its_extra(monkeypatch, build, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # as if the package were not installed
    with pytest.raises(ModuleNotFoundError, match=rf'pip install "gaekit\[{extra}\]"'):
        build()


def test_mlflow_tensorboard_and_csv_together(train_run, mlflow_store):
    pytest.importorskip("mlflow", reason="MLflow is installed by the dev extra")
    pytest.importorskip("tensorboard", reason="tensorboard is installed by the dev extra")
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    uri, root = mlflow_store
    callbacks = [MLflowCallback(tracking_uri=uri, experiment_name="combined", artifact_location=root.as_uri()),
                 TensorBoardCallback(images_every_n_epochs=None), CSVLogger()]
    trainer = train_run(callbacks)
    final_losses = [r["train_loss"] for r in trainer.state.history]
    mlflow_losses = [m.value for m in MlflowClient(uri).get_metric_history(callbacks[0].run_id, "epoch/train_loss")]
    acc = EventAccumulator(str(trainer.run_dir / "tensorboard"))
    acc.Reload()
    with open(trainer.run_dir / "metrics.csv", newline="") as fh:
        csv_losses = [float(r["epoch/train_loss"]) for r in csv.DictReader(fh) if r["epoch/train_loss"]]
    assert mlflow_losses == pytest.approx(final_losses, rel=1e-12)
    assert [e.value for e in acc.Scalars("epoch/train_loss")] == pytest.approx(final_losses, rel=1e-6)
    assert csv_losses == pytest.approx(final_losses, rel=1e-12)
    assert not any(cb.detached for cb in callbacks)
