"""TensorBoardCallback: event files read back with TensorBoard's EventAccumulator."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorboard", reason="tensorboard is installed by the dev extra; guard for partial installs")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from gaekit.tracking import TensorBoardCallback  # noqa: E402


def _events(folder):
    acc = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_tensorboard_writes_scalar_curves_params_and_image_grids(train_run):
    trainer = train_run([TensorBoardCallback(images_every_n_epochs=1, num_images=4)])
    acc = _events(trainer.run_dir / "tensorboard")
    for key in ("train_loss", "eval_loss", "train_recon_loss"):
        events = acc.Scalars(f"epoch/{key}")
        assert [e.step for e in events] == [r["global_step"] for r in trainer.state.history]
        assert [e.value for e in events] == pytest.approx([r[key] for r in trainer.state.history], rel=1e-6)
    assert [e.step for e in acc.Scalars("step/loss")] == [2, 4, 6]
    tags = acc.Tags()
    assert "params/text_summary" in tags["tensors"]
    for tag in ("images/samples", "images/reconstructions"):
        images = acc.Images(tag)
        assert [i.step for i in images] == [3, 6]
    # reconstructions: a 2 x 4 grid of 8x8 images with 2-pixel padding (originals above reconstructions)
    recon = acc.Images("images/reconstructions")[-1]
    assert (recon.height, recon.width) == (2 * 10 + 2, 4 * 10 + 2)


def test_tensorboard_image_interval_and_custom_dir(train_run, tmp_path):
    trainer = train_run([TensorBoardCallback(log_dir=tmp_path / "tb", images_every_n_epochs=2)], eval_data=False)
    acc = _events(tmp_path / "tb")
    assert [i.step for i in acc.Images("images/samples")] == [6]
    assert not (trainer.run_dir / "tensorboard").exists()


def test_tensorboard_backend_failure_detaches_and_training_finishes(train_run, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter

    def failing_add_scalar(self, *args, **kwargs):
        raise OSError("event file unwritable")

    monkeypatch.setattr(SummaryWriter, "add_scalar", failing_add_scalar)
    callback = TensorBoardCallback()
    with pytest.warns(RuntimeWarning, match="TensorBoard backend failed .*unwritable.*detached"):
        trainer = train_run([callback])
    assert callback.detached and trainer.state.epoch == 2
