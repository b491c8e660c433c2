"""CometCallback: a Comet ``OfflineExperiment`` whose archive (the zip Comet writes) is opened and read back."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import zipfile

import pytest
from PIL import Image

from gaekit.errors import ConfigError
from gaekit.tracking import CometCallback

# comet_ml is imported by the tests only, after ``comet_env`` (importing it first would let it patch torch)
pytestmark = pytest.mark.skipif(importlib.util.find_spec("comet_ml") is None,
                                reason="comet_ml is installed by the dev extra; guard for partial installs")


@pytest.fixture(autouse=True)
def comet_env(monkeypatch, tmp_path):
    """Comet's settings for these tests only (the callback sets the first two when they are unset)."""
    monkeypatch.setenv("COMET_DISABLE_AUTO_LOGGING", "1")
    monkeypatch.setenv("COMET_ERROR_TRACKING_ENABLE", "false")
    monkeypatch.setenv("COMET_CONFIG", str(tmp_path / "no.comet.config"))


def read_archive(path):
    """``(experiment.json, [messages], {file name: bytes})`` of a Comet offline archive."""
    with zipfile.ZipFile(path) as zf:
        experiment = json.loads(zf.read("experiment.json"))
        messages = [json.loads(line) for line in zf.read("messages.json").decode().splitlines()]
        files = {name: zf.read(name) for name in zf.namelist()}
    return experiment, messages, files


def _payloads(messages, kind):
    return [m["payload"] for m in messages if m["type"] == kind]


def test_comet_archive_holds_params_metrics_images_and_the_final_model(train_run):
    callback = CometCallback(project_name="gaekit-test", tags=["test"])
    trainer = train_run([callback], images_every_n_epochs=1)
    assert not callback.detached
    assert callback.archive_path.parent == trainer.run_dir / "comet" and callback.archive_path.is_file()
    experiment, messages, files = read_archive(callback.archive_path)
    assert experiment["project_name"] == "gaekit-test" and experiment["tags"] == ["test"]
    others = {p["key"]: p["value"] for p in _payloads(messages, "log_other")}
    assert others["Name"] == trainer.run_dir.name and others["gaekit_status"] == "finished"
    params = {}
    for payload in _payloads(messages, "parameter_msg"):
        item = payload.get("param") or payload["params"]  # "params" for list values
        if item["source"] == "manual":
            params[item["paramName"]] = item["paramValue"]
    assert params["model.name"] == "VAE" and params["model.latent_dim"] == 3
    assert params["model.input_dim"] == [1, 8, 8] and params["trainer.batch_size"] == 16
    assert params["trainer.images_every_n_epochs"] == 1
    assert params["model.num_parameters"] == sum(p.numel() for p in trainer.model.parameters())
    metrics = {}
    for payload in _payloads(messages, "metric_msg"):
        metric = payload["metric"]
        metrics.setdefault(metric["metricName"], {})[metric["step"]] = metric["metricValue"]
    assert sorted(metrics["step/loss"]) == [2, 4, 6]
    for key in ("train_loss", "eval_loss", "train_kl"):
        assert metrics[f"epoch/{key}"] == pytest.approx({r["global_step"]: r[key] for r in trainer.state.history},
                                                        rel=1e-12)
    uploads = _payloads(messages, "file_upload")
    images = {(u["additional_params"]["figName"], u["additional_params"]["step"]): files[u["file_path"]]
              for u in uploads if u["upload_type"] == "visualization"}
    assert sorted(images) == [(f"images/{kind}", step) for kind in ("reconstructions", "samples") for step in (3, 6)]
    recon = Image.open(io.BytesIO(images[("images/reconstructions", 6)]))
    assert recon.format == "PNG" and recon.size == (16 * 10 + 2, 2 * 10 + 2)  # 16 eval inputs above their recons
    model_files = {u["additional_params"]["fileName"].rsplit("/", 1)[-1]: files[u["file_path"]] for u in uploads
                   if u["upload_type"] == "model-element" and u["additional_params"]["groupingName"] == "VAE"}
    assert set(model_files) >= {"config.json", "model.safetensors", "gaekit.json", "training_config.json"}
    assert model_files["config.json"] == (trainer.final_model_dir / "config.json").read_bytes()


def test_comet_backend_failure_detaches_and_training_finishes(train_run, monkeypatch):
    from comet_ml import OfflineExperiment

    def failing_log_metrics(self, *args, **kwargs):
        raise OSError("offline folder unwritable")

    monkeypatch.setattr(OfflineExperiment, "log_metrics", failing_log_metrics)
    callback = CometCallback(log_model=False)
    with pytest.warns(RuntimeWarning, match="Comet backend failed .*unwritable.*detached"):
        trainer = train_run([callback])
    assert callback.detached and trainer.state.epoch == 2
    _, messages, _ = read_archive(callback.archive_path)
    assert {p["key"]: p["value"] for p in _payloads(messages, "log_other")}["gaekit_status"] == "failed"


def test_comet_needs_a_folder_and_names_its_extra(train_run, monkeypatch):
    with pytest.raises(ConfigError, match="CometCallback needs offline_directory= or TrainerConfig.output_dir"):
        train_run([CometCallback()], output_dir=None)
    monkeypatch.setitem(sys.modules, "comet_ml", None)  # as if comet_ml were not installed
    with pytest.raises(ModuleNotFoundError, match=r'pip install "gaekit\[comet\]"'):
        CometCallback()
