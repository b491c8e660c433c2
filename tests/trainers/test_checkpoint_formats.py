"""Checkpoint formats and reads: a checkpoint of the previous release resumes exactly, newer formats are
refused, a save killed between its renames is recovered, optimizer state of another shape is refused."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from gaekit.errors import CheckpointError
from gaekit.locks import pid_alive
from gaekit.serialization import FORMAT_VERSION
from gaekit.trainers import Trainer, TrainerConfig, read_checkpoint_info
from gaekit.trainers import checkpoint as ckpt

V1_DIR = Path(__file__).resolve().parents[1] / "data_files" / "checkpoint_v1"


def _v1_recipe():
    """The recipe (model, data, config) the committed format 1 checkpoint was written with."""
    spec = importlib.util.spec_from_file_location("make_checkpoint_v1", V1_DIR / "make_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _meta(folder: Path) -> dict:
    return json.loads((folder / ckpt.STATE_FILE).read_text())


@pytest.fixture(scope="module")
def recipe():
    return _v1_recipe()


def _model_from_its_recipe(recipe):
    """The recipe's VAE written as a config (its MLP width in ``network_options``), as this release saves it;
    the same weights as the ``create_network`` modules the old release was given."""
    from gaekit import create_model

    torch.manual_seed(0)
    model = create_model("VAE", input_dim=(1, 8, 8), latent_dim=3, reconstruction_loss="bce",
                         network_options={"hidden_dims": [16]})
    assert _same_state(model.state_dict(), recipe.model().state_dict())
    return model


@pytest.fixture(scope="module")
def reference(recipe, tmp_path_factory):
    """The uninterrupted run of the current code from the same start as the format 1 checkpoint."""
    out = tmp_path_factory.mktemp("reference")
    trainer = Trainer(_model_from_its_recipe(recipe), TrainerConfig(**recipe.settings(str(out))), *recipe.data())
    trainer.train()
    return trainer


@pytest.fixture
def v1_checkpoint(tmp_path):
    """A copy of the committed checkpoint (resuming writes into its run folder)."""
    return Path(shutil.copytree(V1_DIR / "checkpoint_epoch_1", tmp_path / "run" / "checkpoint_epoch_1"))


def test_the_committed_checkpoint_is_format_1(v1_checkpoint):
    meta = _meta(v1_checkpoint)
    assert ckpt.FORMAT_KEY not in meta and ckpt.STATE_KEY not in meta["sha256"]
    assert not set(ckpt._ADDED_IN_FORMAT_2) & set(meta["state"])
    assert sum(f.stat().st_size for f in v1_checkpoint.iterdir()) < 200_000


def test_a_format_1_checkpoint_resumes_bit_identically(recipe, reference, v1_checkpoint):
    """An epoch-end checkpoint of format 1 stored the data-order state the next epoch draws from, so resuming it
    ends exactly where the uninterrupted run of this code does."""
    info = read_checkpoint_info(v1_checkpoint)
    assert (info["epoch"], info["step_in_epoch"], info["data_source"]) == (1, 0, None)
    resumed = Trainer.from_checkpoint(v1_checkpoint, *recipe.data())
    assert {type(o).__name__ for o in resumed.optimizers.values()} == {"Adam"}
    assert {type(s).__name__ for s in resumed.schedulers.values()} == {"StepLR"}
    resumed.train()
    assert resumed.state.history == reference.state.history
    assert _same_state(resumed.model.state_dict(), reference.model.state_dict())
    assert _same_state(resumed.best_state, reference.best_state)
    # what it writes now is format 2
    meta = _meta(resumed.run_dir / "checkpoint_epoch_2")
    assert meta[ckpt.FORMAT_KEY] == ckpt.CHECKPOINT_FORMAT and ckpt.STATE_KEY in meta["sha256"]


def test_format_1_weights_are_still_verified(recipe, v1_checkpoint):
    path = v1_checkpoint / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.safetensors"):
        Trainer.from_checkpoint(v1_checkpoint, *recipe.data())


def test_a_format_2_state_without_its_marker_and_checksum_is_refused(recipe, reference, tmp_path):
    """Deleting the marker and the state checksum does not turn an edited format 2 checkpoint into format 1."""
    folder = Path(shutil.copytree(reference.run_dir / "checkpoint_epoch_1", tmp_path / "run" / "ckpt"))
    meta = _meta(folder)
    del meta[ckpt.FORMAT_KEY], meta["sha256"][ckpt.STATE_KEY]
    meta["state"]["trainer"]["epochs_since_best"] = 0
    (folder / ckpt.STATE_FILE).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=ckpt.FORMAT_KEY):
        Trainer.from_checkpoint(folder, *recipe.data())


@pytest.mark.parametrize(("key", "value", "message"), [
    ("format_version", FORMAT_VERSION + 1, "newer gaekit"),
    ("format_version", "1", "format_version"),
    (ckpt.FORMAT_KEY, ckpt.CHECKPOINT_FORMAT + 1, "newer gaekit"),
    (ckpt.FORMAT_KEY, 0, ckpt.FORMAT_KEY),
])
def test_a_newer_or_malformed_format_is_refused(key, value, message, recipe, reference, tmp_path):
    folder = Path(shutil.copytree(reference.run_dir / "checkpoint_epoch_1", tmp_path / "run" / "ckpt"))
    meta = _meta(folder)
    meta[key] = value
    (folder / ckpt.STATE_FILE).write_text(json.dumps(meta))
    for read in (read_checkpoint_info, lambda f: Trainer.from_checkpoint(f, *recipe.data())):
        with pytest.raises(CheckpointError, match=message):
            read(folder)


def _dead_pid() -> int:
    pid = os.getpid() + 100_000
    while pid_alive(pid):
        pid += 1
    return pid


def test_a_checkpoint_whose_save_was_killed_between_its_renames_is_restored(recipe, reference, tmp_path):
    """A kill after ``NAME -> .NAME.old-PID`` and before ``tmp -> NAME``: resuming NAME restores the old one."""
    run = tmp_path / "run"
    shutil.copytree(reference.run_dir / "checkpoint_epoch_1", run / ".checkpoint_epoch_1.old-1")
    old = run / f".checkpoint_epoch_1.old-{_dead_pid()}"
    (run / ".checkpoint_epoch_1.old-1").rename(old)
    resumed = Trainer.from_checkpoint(run / "checkpoint_epoch_1", *recipe.data())
    assert (run / "checkpoint_epoch_1").is_dir() and not old.exists()
    resumed.train()
    assert resumed.state.history == reference.state.history
    assert _same_state(resumed.model.state_dict(), reference.model.state_dict())


def test_read_checkpoint_info_restores_it_too(reference, tmp_path):
    run = tmp_path / "run"
    old = run / f".checkpoint_epoch_1.old-{_dead_pid()}"
    shutil.copytree(reference.run_dir / "checkpoint_epoch_1", old)
    assert read_checkpoint_info(run / "checkpoint_epoch_1")["epoch"] == 1
    assert not old.exists()


@pytest.mark.parametrize("shape", [(1,), (16, 65), ()])
def test_an_optimizer_moment_of_another_shape_is_refused_before_anything_changes(shape, recipe, reference,
                                                                                 tmp_path):
    from safetensors.torch import load_file, save_file

    from gaekit.serialization import sha256_file

    folder = Path(shutil.copytree(reference.run_dir / "checkpoint_epoch_1", tmp_path / "run" / "ckpt"))
    meta = _meta(folder)
    key = dict(meta["state"]["optimizers"]["model"]["state"]["__items__"])[0]["exp_avg"]["__tensor__"]
    tensors = load_file(str(folder / "state.safetensors"))
    tensors[key] = torch.zeros(shape)
    save_file(tensors, str(folder / "state.safetensors"))
    meta["sha256"]["state.safetensors"] = sha256_file(folder / "state.safetensors")
    (folder / ckpt.STATE_FILE).write_text(json.dumps(meta))
    trainer = Trainer(recipe.model(), TrainerConfig(**recipe.settings(str(tmp_path / "out"))), *recipe.data())
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"'exp_avg' of parameter group 'model', parameter 0 \(encoder\."):
        trainer.load_checkpoint(folder)
    assert _same_state(trainer.model.state_dict(), before) and trainer.state.global_step == 0


def test_adafactor_moments_in_their_factored_shape_are_accepted(tmp_path):
    """Adafactor keeps row and column moments, not the parameter's shape: they resume."""
    from conftest import tiny_model

    from gaekit.data import load_digits

    train = load_digits("train").subset(slice(0, 32))
    config = TrainerConfig(output_dir=str(tmp_path), num_epochs=1, batch_size=16, learning_rate=1e-3,
                           optimizer="Adafactor", checkpoint_every_n_epochs=1, show_progress=False, device="cpu")
    trainer = Trainer(tiny_model("AE"), config, train)
    trainer.train()
    resumed = Trainer.from_checkpoint(trainer.run_dir / "checkpoint_epoch_1", train, overrides={"num_epochs": 2})
    shapes = {k for s in resumed.optimizers["model"].state.values() for k in s}
    assert {"row_var", "col_var"} <= shapes
    resumed.train()
    assert resumed.state.epoch == 2


def test_every_usable_torch_optimizer_state_passes_the_shape_check():
    """The shape check knows every torch.optim optimizer's per-parameter state (fails when torch adds a kind)."""
    from gaekit.trainers.config import UNSUPPORTED_OPTIMIZERS

    names = [n for n, c in vars(torch.optim).items() if isinstance(c, type) and issubclass(c, torch.optim.Optimizer)
             and c is not torch.optim.Optimizer and n not in UNSUPPORTED_OPTIMIZERS]
    for name in names:
        cls = getattr(torch.optim, name)
        matrix, vector = torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(5))
        try:
            opt = cls([matrix, vector], lr=0.01)
        except ValueError:  # e.g. Muon takes 2-d parameters only
            opt = cls([matrix], lr=0.01)
        for p in (matrix, vector):
            p.grad = torch.randn_like(p)
        opt.step()
        ckpt.check_optimizer_shapes(opt.state_dict(), opt, "model", "test")


def test_a_format_1_interrupted_checkpoint_at_an_epoch_start_warns_about_the_data_order(recipe, tmp_path):
    """Format 1 stored the data-order state after the epoch's draw when interrupted in an epoch's first step."""
    folder = Path(shutil.copytree(V1_DIR / "checkpoint_epoch_1", tmp_path / "run" / "checkpoint_interrupted"))
    with pytest.warns(UserWarning, match="data order"):
        Trainer.from_checkpoint(folder, *recipe.data())
