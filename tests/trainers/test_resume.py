"""Checkpoints and exact resume: a run stopped at any step and resumed ends bit-identical (CPU)."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest
import torch
from conftest import fail_at_training_step, tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    fail_at_training_step(model, 14, "simulated crash in the middle of a step")
    trainer = Trainer(model, _config(tmp_path), *data)
    with pytest.raises(RuntimeError, match="simulated crash"):
        trainer.train()
    assert trainer.state.global_step == 13
    resumed = Trainer.from_checkpoint(trainer.run_dir / "checkpoint_interrupted", *data)
    resumed.train()
    assert _same_weights(resumed.model, ref_model)


def test_resume_from_periodic_checkpoints(data, reference, tmp_path):
    ref_model, _ = reference
    trainer = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(tmp_path, checkpoint_every_n_epochs=1,
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
    trainer = Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=1, checkpoint_every_n_epochs=1), *data)
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
    trainer = Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=1, checkpoint_every_n_epochs=1), *data)
    trainer.train()
    folder = trainer.run_dir / "checkpoint_epoch_1"
    fresh = Trainer(tiny_model("VAE"), _config(tmp_path), *data)
    state_file = folder / "state.safetensors"
    original = state_file.read_bytes()
    state_file.write_bytes(original[:-10])
    with pytest.raises(CheckpointError, match="checksum|truncated"):
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


# -- divergence, validation, optimizer/config mismatches, data source ------------------------------
def _edit_state(folder, edit, keep_checksum=False):
    """Edit ``trainer_state.json`` by hand; unless ``keep_checksum``, also fix the recorded state checksum."""
    path = folder / "trainer_state.json"
    meta = json.loads(path.read_text())
    edit(meta)
    if not keep_checksum and isinstance(meta.get("sha256"), dict):
        meta["sha256"]["state"] = checkpoint_module.state_checksum(meta["state"])
    path.write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory):
    """A 2-epoch run with a checkpoint per epoch, written with a data source."""
    trainer = Trainer(tiny_model("VAE"), _config(tmp_path_factory.mktemp("finished"), num_epochs=2,
                                                 checkpoint_every_n_epochs=1),
                      *data, data_source={"dataset": "digits", "data_dir": None})
    trainer.train()
    return trainer


@pytest.fixture
def checkpoint(finished, tmp_path):
    """A private copy of the epoch-1 checkpoint, in a run folder of its own."""
    import shutil

    folder = tmp_path / "run" / "checkpoint_epoch_1"
    shutil.copytree(finished.run_dir / "checkpoint_epoch_1", folder)
    return folder


def test_divergence_leaves_a_loadable_best_model(data, tmp_path):
    from dataclasses import replace

    from gaekit.errors import NonFiniteLossError
    from gaekit.models import AutoModel

    model = tiny_model("VAE", reconstruction_loss="bce")
    original_forward, calls = model.forward, {"n": 0}

    def diverging_forward(batch, ctx=None):
        calls["n"] += model.training
        out = original_forward(batch, ctx)
        return replace(out, loss=out.loss * float("nan")) if calls["n"] >= 25 else out  # in epoch 3

    model.forward = diverging_forward
    trainer = Trainer(model, _config(tmp_path), *data)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss .* best weights \(epoch 2.*best_model") as info:
        trainer.train()
    folder = trainer.run_dir / "best_model"
    assert str(folder) in str(info.value)
    loaded = AutoModel.load_from_folder(folder)
    best = trainer.best_state
    assert loaded.state_dict().keys() == best.keys()
    assert all(torch.equal(v, best[k]) for k, v in loaded.state_dict().items())
    # diverging before any epoch ended: no best weights, so no best_model folder
    calls["n"] = 0
    early = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(tmp_path), *data)
    early.model.forward = lambda batch, ctx=None: replace(original_forward(batch, ctx), loss=torch.tensor(float("inf")))
    with pytest.raises(NonFiniteLossError, match="non-finite") as info:
        early.train()
    assert "best_model" not in str(info.value) and not (early.run_dir / "best_model").exists()


def test_a_hand_edited_trainer_state_is_detected(data, checkpoint, tmp_path):
    _edit_state(checkpoint, lambda m: m["state"]["trainer"].update(epoch=-5), keep_checksum=True)
    with pytest.raises(CheckpointError, match="trainer_state.json was modified since it was written"):
        Trainer(tiny_model("VAE"), _config(tmp_path), *data).load_checkpoint(checkpoint)
    with pytest.raises(CheckpointError, match="modified since it was written"):
        checkpoint_module.read_checkpoint_info(checkpoint)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s["trainer"].update(epoch=-5), r"trainer.epoch=-5 is invalid: expected an int >= 0"),
    (lambda s: s["trainer"].update(epoch=7), r"trainer.history=.* expected a list of 7"),
    (lambda s: s["trainer"].update(step_in_epoch=3), r"trainer.global_step=10 is invalid: expected 13"),
    (lambda s: s["trainer"].update(step_in_epoch=11, global_step=21), r"step_in_epoch=11 .* at most the 10 batches"),
    (lambda s: s["trainer"].update(best_epoch=4), r"best_epoch=4 is invalid: expected None or an epoch in 1..1"),
    (lambda s: s["trainer"].update(surprise=1), r"trainer=.*\(unknown: \['surprise'\]\)"),
    (lambda s: s["trainer"].pop("history"), r"missing: \['history'\]"),
    (lambda s: s["trainer"]["history"][0].update(epoch="one"), r"trainer.history\[0\].epoch='one'"),
    (lambda s: s.update(trainer=[1, 2]), r"trainer=\[1, 2\] is invalid: expected an object"),
    (lambda s: s.pop("rng"), r"missing: \['rng'\]"),
    (lambda s: s.update(epoch_sums={"loss": 3}), r"epoch_sums=.* expected an object of tensors"),
    (lambda s: s["rng"].update(torch={"__tensor__": "state#999"}), r"tensor 'state#999' is missing"),
    (lambda s: s.update(optimizer_classes={"model": 5}), r"optimizer_classes=.* a class name for each group"),
])
def test_every_field_of_the_state_is_validated(edit, message, data, checkpoint, tmp_path):
    _edit_state(checkpoint, lambda m: edit(m["state"]))
    with pytest.raises(CheckpointError, match=message) as info:
        Trainer(tiny_model("VAE"), _config(tmp_path), *data).load_checkpoint(checkpoint)
    assert "trainer_state.json" in str(info.value)


def test_a_malformed_checksum_record_is_a_checkpoint_error(data, checkpoint, tmp_path):
    fresh = Trainer(tiny_model("VAE"), _config(tmp_path), *data)
    _edit_state(checkpoint, lambda m: m.update(sha256=["not", "a", "dict"]))
    with pytest.raises(CheckpointError, match=r"sha256=\['not', 'a', 'dict'\] is invalid"):
        fresh.load_checkpoint(checkpoint)
    _edit_state(checkpoint, lambda m: m.update(sha256={"model.safetensors": "x"}))
    with pytest.raises(CheckpointError, match="sha256=.* is invalid"):
        fresh.load_checkpoint(checkpoint)


def test_resuming_with_another_optimizer_is_refused_naming_both(data, checkpoint, tmp_path):
    from gaekit.errors import ConfigError

    sgd = _config(tmp_path, optimizer="SGD", optimizer_params={"momentum": 0.9})
    with pytest.raises(CheckpointError, match=r"group 'model' was trained with optimizer Adam.* gives SGD"):
        Trainer(tiny_model("VAE"), sgd, *data).load_checkpoint(checkpoint)
    with pytest.raises((CheckpointError, ConfigError), match=r"optimizer \(checkpoint 'Adam', given 'SGD'\)"):
        Trainer.from_checkpoint(checkpoint, *data, training_config=sgd)
    step = _config(tmp_path, scheduler="StepLR", scheduler_params={"step_size": 1})
    with pytest.raises(CheckpointError, match=r"scheduler ReduceLROnPlateau.* gives StepLR"):
        Trainer(tiny_model("VAE"), step, *data).load_checkpoint(checkpoint)


@pytest.mark.parametrize(("file", "content", "message"), [
    ("config.json", [1, 2], r"config.json holds a JSON list"),
    ("training_config.json", [1, 2], r"training_config.json holds a JSON list"),
    ("config.json", {"name": "NoSuchModel", "input_dim": [1, 8, 8], "latent_dim": 3}, r"config.json: .*NoSuchModel"),
    ("training_config.json", {"num_epochs": "many"}, r"training_config.json: .*num_epochs"),
    ("config.json", None, r"config.json is missing"),
])
def test_from_checkpoint_with_a_bad_config_file_names_it(file, content, message, data, checkpoint):
    if content is None:
        (checkpoint / file).unlink()
    else:
        (checkpoint / file).write_text(json.dumps(content))
    with pytest.raises(CheckpointError, match=message):
        Trainer.from_checkpoint(checkpoint, *data)


def test_data_source_is_recorded_and_read_without_a_model(data, finished, checkpoint, tmp_path):
    from gaekit.errors import ConfigError
    from gaekit.trainers import read_checkpoint_info

    info = read_checkpoint_info(checkpoint)
    assert info == {"model_name": "VAE", "epoch": 1, "step_in_epoch": 0, "global_step": 10, "num_epochs": 2,
                    "data_source": {"dataset": "digits", "data_dir": None}, "run_dir": str(checkpoint.parent)}
    resumed = Trainer.from_checkpoint(checkpoint, *data)
    assert resumed.data_source == {"dataset": "digits", "data_dir": None}
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint_info(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="data_source="):
        Trainer(tiny_model("VAE"), _config(tmp_path), *data, data_source={"dataset": object()})


def test_resume_with_more_epochs_is_exact_and_other_changes_are_refused(data, finished, checkpoint, tmp_path):
    from gaekit.errors import ConfigError

    longer = Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=3), *data)
    longer.train()
    resumed = Trainer.from_checkpoint(checkpoint, *data, overrides={"num_epochs": 3, "show_progress": False})
    resumed.train()
    assert _same_weights(resumed.model, longer.model) and resumed.state.history == longer.state.history
    config = finished.config.replace(num_epochs=3, log_every_n_steps=5)
    again = Trainer.from_checkpoint(checkpoint, *data, training_config=config)
    assert again.config.num_epochs == 3
    with pytest.raises(ConfigError, match=r"learning_rate \(checkpoint 0.001, given 0.01\)"):
        Trainer.from_checkpoint(checkpoint, *data, overrides={"learning_rate": 0.01})
    with pytest.raises(ConfigError, match=r"batch_size .*; seed "):
        Trainer.from_checkpoint(checkpoint, *data, training_config=finished.config.replace(batch_size=8, seed=1))


def test_from_checkpoint_leaves_the_callers_global_rngs_as_they_were(data, checkpoint):
    """Loading builds the model (its initial weights are drawn, then replaced) and reads the checkpoint's RNG
    states, but a seeded script around it sees its own streams go on undisturbed."""
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    Trainer.from_checkpoint(checkpoint, *data)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1]) and random.getstate() == states[2]


def _draw_from_every_global_rng(torch_draws, numpy_draws, python_draws):
    """What other code might do between two calls: draw from torch's, NumPy's and Python's global RNGs."""
    torch.randn(torch_draws)
    np.random.rand(numpy_draws)
    for _ in range(python_draws):
        random.random()


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                                    HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(["after from_checkpoint", "between train() calls", "after save_checkpoint"]),
       draws=st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)),
       epochs_first=st.integers(1, 2))
def test_draws_of_other_code_between_calls_leave_the_run_unchanged(where, draws, epochs_first, data, reference,
                                                                  tmp_path_factory):
    """The trainer keeps its own RNG stream while no ``train()`` runs: whatever is drawn from the global RNGs
    after ``from_checkpoint``, between two ``train()`` calls or after ``save_checkpoint``, the run ends
    bit-identical to the uninterrupted one."""
    ref_model, ref_trainer = reference
    folder = tmp_path_factory.mktemp("draws")
    first = Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(folder, num_epochs=epochs_first), *data)
    first.train()
    if where == "between train() calls":
        _draw_from_every_global_rng(*draws)
        first.config.num_epochs = 3
        first.train()
        finished = first
    else:
        checkpoint = first.save_checkpoint("checkpoint_paused")
        if where == "after save_checkpoint":
            _draw_from_every_global_rng(*draws)
        finished = Trainer.from_checkpoint(checkpoint, *data, overrides={"num_epochs": 3})
        _draw_from_every_global_rng(*draws)
        finished.train()
    assert finished.state.history == ref_trainer.state.history, where
    assert _same_weights(finished.model, ref_model), where
