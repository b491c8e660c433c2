"""``TrainerConfig.images_every_n_epochs``: the trainer's image grids in every tracker's real offline store."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlflow", reason="MLflow is installed by the dev extra")
pytest.importorskip("wandb", reason="wandb is installed by the dev extra")
pytest.importorskip("tensorboard", reason="tensorboard is installed by the dev extra")
if importlib.util.find_spec("comet_ml") is None:  # not imported here: CometCallback sets Comet's env first
    pytest.skip("comet_ml is installed by the dev extra", allow_module_level=True)

from PIL import Image  # noqa: E402
from tracking.test_wandb_callback import _run_records, offline  # noqa: E402, F401  (the W&B offline fixture)

from gaekit.tracking import CometCallback, MLflowCallback, TensorBoardCallback, WandbCallback, image_grids  # noqa: E402

KINDS = ("reconstructions", "samples")


def _png(data: bytes) -> np.ndarray:
    """A PNG's pixels as ``(H, W, C)`` uint8, like ``gaekit.images.make_grid`` (grey stored as RGB: C = 1)."""
    pixels = np.asarray(Image.open(io.BytesIO(data)))
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels[..., :3]
    grey = (pixels == pixels[..., :1]).all()
    return pixels[..., :1] if grey else pixels


def _tensorboard(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"images": 0})
    acc.Reload()
    return {kind: {e.step: _png(e.encoded_image_string) for e in acc.Images(f"images/{kind}")} for kind in KINDS}


def _mlflow(callback):
    client = callback.client
    found = {kind: {} for kind in KINDS}
    for item in client.list_artifacts(callback.run_id, "images"):
        name = item.path.rsplit("/", 1)[-1]  # "images~<kind>+step+<step>+timestamp+...(.png|+compressed.webp)"
        if name.endswith(".png") and "compressed" not in name:
            key, _, step = name.split("+")[:3]
            local = Path(client.download_artifacts(callback.run_id, item.path))
            found[key.split("~")[1]][int(step)] = _png(local.read_bytes())
    return found


def _wandb(trainer):
    found = {kind: {} for kind in KINDS}
    (run_folder,) = trainer.run_dir.glob("wandb/offline-run-*")
    for record in _run_records(trainer):
        if record.WhichOneof("record_type") == "history":
            row = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in record.history.item}
            for kind in KINDS:
                if f"images/{kind}/path" in row:
                    assert row[f"images/{kind}/_type"] == "image-file"
                    path = run_folder / "files" / row[f"images/{kind}/path"]
                    found[kind][row["_step"]] = _png(path.read_bytes())
    return found


def _comet(archive):
    found = {kind: {} for kind in KINDS}
    with zipfile.ZipFile(archive) as zf:
        for line in zf.read("messages.json").decode().splitlines():
            message = json.loads(line)
            payload = message["payload"]
            if message["type"] == "file_upload" and payload["upload_type"] == "visualization":
                params = payload["additional_params"]
                kind = params["figName"].removeprefix("images/")
                found[kind][params["step"]] = _png(zf.read(payload["file_path"]))
    return found


def test_every_tracker_logs_the_trainers_image_grids(train_run, mlflow_store, offline, monkeypatch):  # noqa: F811
    for var, value in (("COMET_DISABLE_AUTO_LOGGING", "1"), ("COMET_ERROR_TRACKING_ENABLE", "false"),
                       ("COMET_CONFIG", str(offline / "no.comet.config"))):
        monkeypatch.setenv(var, value)  # what CometCallback would set, for this test only
    uri, root = mlflow_store
    callbacks = [MLflowCallback(tracking_uri=uri, experiment_name="images", artifact_location=(root / "img").as_uri()),
                 WandbCallback(project="gaekit-test", log_model=False), TensorBoardCallback(images_every_n_epochs=1),
                 CometCallback(log_model=False)]
    # images every 2nd epoch: at the end of epoch 2 (global step 6) only; TensorBoard's own every-epoch
    # images give way to the trainer's interval
    trainer = train_run(callbacks, images_every_n_epochs=2)
    assert not any(cb.detached for cb in callbacks)
    assert trainer.state.best_epoch == 2  # so the model now holds the weights the images were made with
    expected = image_grids(trainer.prediction_images())
    stores = {"mlflow": _mlflow(callbacks[0]), "wandb": _wandb(trainer),
              "tensorboard": _tensorboard(trainer.run_dir / "tensorboard"), "comet": _comet(callbacks[3].archive_path)}
    for store, found in stores.items():
        for kind in KINDS:
            assert list(found[kind]) == [6], (store, kind)
            np.testing.assert_array_equal(found[kind][6], expected[kind], err_msg=f"{store} {kind}")
        # reconstructions: the 16 eval inputs (8x8, 2-pixel padding) in a row above their reconstructions
        assert found["reconstructions"][6].shape == (2 * 10 + 2, 16 * 10 + 2, 1)
        assert found["samples"][6].shape == (4 * 10 + 2, 4 * 10 + 2, 1)
