"""Checkpoints and exact resume: a run stopped at any step and resumed ends bit-identical (CPU)."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from conftest import tiny_model

from gaekit.errors import CheckpointError, UnsafeLoadError
from gaekit.pipelines import TrainingPipeline
from gaekit.serialization import PICKLE_SUFFIXES
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig
from gaekit.trainers import checkpoint as checkpoint_module


class StopAtStep(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, trainer, output):
        if trainer.state.global_step == self.step:
            raise KeyboardInterrupt(f"stopped at step {self.step}")


def _config(tmp_path, **kw):
    base = {"output_dir": str(tmp_path), "num_epochs": 3, "batch_size": 32, "learning_rate": 1e-3,
            "show_progress": False, "scheduler": "ReduceLROnPlateau",
            "scheduler_params": {"factor": 0.5, "patience": 0}}
    return TrainerConfig(**{**base, **kw})


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def data(digits):
    train, val, _ = digits
    return train.subset(slice(0, 300)), val.subset(slice(0, 64))  # 10 steps per epoch


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """The uninterrupted run."""
    model = tiny_model("VAE", reconstruction_loss="bce")
    trainer = Trainer(model, _config(tmp_path_factory.mktemp("ref")), *data)
    trainer.train()
    return model, trainer


@pytest.mark.parametrize("stop_step", [1, 7, 10, 23])  # first step, mid-epoch, end of epoch, later epoch
def test_interrupted_and_resumed_run_is_bit_identical(stop_step, data, reference, tmp_path):
    ref_model, ref_trainer = reference
    stopped = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(tmp_path), *data,
                      callbacks=[StopAtStep(stop_step)])
    with pytest.raises(KeyboardInterrupt):
        stopped.train()
    checkpoint = stopped.run_dir / "checkpoint_interrupted"
    assert checkpoint.is_dir()
    # a fresh model (other initial weights) and trainer: everything must come from the checkpoint
    resumed = Trainer(tiny_model("VAE", reconstruction_loss="bce", seed=99), _config(tmp_path), *data)
    resumed.resume(checkpoint)
    assert _same_weights(resumed.model, ref_model)
    assert resumed.state.history == ref_trainer.state.history
    assert resumed.state.best_epoch == ref_trainer.state.best_epoch


def test_exception_inside_a_step_resumes_from_before_that_step(data, reference, tmp_path):
    ref_model, _ = reference
    model = tiny_model("VAE", reconstruction_loss="bce")
    original_forward, calls = model.forward, {"n": 0}

    def failing_forward(batch, ctx=None):
        calls["n"] += model.training  # count training steps only, not evaluation batches
        out = original_forward(batch, ctx)  # consumes random numbers before failing
        if calls["n"] == 14:
            raise RuntimeError("simulated crash in the middle of a step")
        return out

    model.forward = failing_forward
    trainer = Trainer(model, _config(tmp_path), *data)
    with pytest.raises(RuntimeError, match="simulated crash"):
        trainer.train()
    assert trainer.state.global_step == 13
    resumed = Trainer.from_checkpoint(trainer.run_dir / "checkpoint_interrupted", *data)
    resumed.train()
    assert _same_weights(resumed.model, ref_model)


def test_resume_from_periodic_checkpoints(data, reference, tmp_path):
    ref_model, _ = reference
    trainer = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(tmp_path, steps_saving=1,
                                                                            checkpoint_every_n_steps=4), *data)
    trainer.train()
    names = sorted(p.name for p in trainer.run_dir.iterdir())
    assert {"checkpoint_epoch_1", "checkpoint_epoch_2", "checkpoint_step_4", "checkpoint_step_28",
            "final_model", "history.json"} <= set(names)
    for name in ("checkpoint_epoch_1", "checkpoint_step_4", "checkpoint_step_28"):
        resumed = Trainer.from_checkpoint(trainer.run_dir / name, *data)
        resumed.train()
        assert _same_weights(resumed.model, ref_model), name


def test_training_pipeline_resume_from(data, reference, tmp_path):
    ref_model, _ = reference
    stopped = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(tmp_path), *data,
                      callbacks=[StopAtStep(15)])
    with pytest.raises(KeyboardInterrupt):
        stopped.train()
    model = tiny_model("VAE", reconstruction_loss="bce")
    pipeline = TrainingPipeline(training_config=_config(tmp_path), model=model,
                                resume_from=stopped.run_dir / "checkpoint_interrupted")
    pipeline(train_data=data[0], eval_data=data[1])
    assert _same_weights(model, ref_model)


def test_checkpoint_holds_no_pickle_and_is_written_atomically(data, tmp_path, monkeypatch):
    trainer = Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=1, steps_saving=1), *data)
    trainer.train()
    folder = trainer.run_dir / "checkpoint_epoch_1"
    assert {p.suffix for p in folder.iterdir()} == {".json", ".safetensors"}
    assert not {p.suffix for p in folder.iterdir()} & PICKLE_SUFFIXES
    # a crash while writing leaves neither a partial checkpoint nor a temporary folder
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module, "save_tensors", broken)
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint("checkpoint_crash")
    assert not (trainer.run_dir / "checkpoint_crash").exists()
    assert not [p for p in trainer.run_dir.iterdir() if p.name.startswith(".")]


def test_tampered_or_unsafe_checkpoints_are_refused(data, tmp_path):
    trainer = Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=1, steps_saving=1), *data)
    trainer.train()
    folder = trainer.run_dir / "checkpoint_epoch_1"
    fresh = Trainer(tiny_model("VAE"), _config(tmp_path), *data)
    state_file = folder / "state.safetensors"
    original = state_file.read_bytes()
    state_file.write_bytes(original[:-10])
    with pytest.raises(CheckpointError, match="checksum"):
        fresh.load_checkpoint(folder)
    state_file.write_bytes(original)
    (folder / "optimizer.pkl").write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(UnsafeLoadError):
        fresh.load_checkpoint(folder)
    (folder / "optimizer.pkl").unlink()
    with pytest.raises(CheckpointError, match="'VAE' model, not of 'AE'"):
        Trainer(tiny_model("AE"), _config(tmp_path), *data).load_checkpoint(folder)
    meta = json.loads((folder / "trainer_state.json").read_text())
    del meta["state"]
    (folder / "trainer_state.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="incomplete"):
        fresh.load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="does not exist"):
        fresh.load_checkpoint(tmp_path / "nowhere")
