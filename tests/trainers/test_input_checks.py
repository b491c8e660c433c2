"""Inputs the trainer refuses before training: devices, optimizers, compile options, callbacks, data too small
for one batch, checkpoint names, seeds and output folders."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
import torch
from conftest import tiny_model

from gaekit import locks, serialization
from gaekit.errors import ConfigError, DataError
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig, check_output_dir, set_seed
from gaekit.trainers.setup import resolve_device


def _config(tmp_path=None, **kw):
    base = {"output_dir": None if tmp_path is None else str(tmp_path), "num_epochs": 1, "batch_size": 8,
            "learning_rate": 1e-3, "show_progress": False, "device": "cpu"}
    return TrainerConfig(**{**base, **kw})


def _x(n=16):
    return torch.rand(n, 1, 8, 8)


@pytest.mark.parametrize("device", ["cuda:abc", "cuda:-1", "cpu:0", "mps:0", "meta", "tpu", "", "cuda:0:1"])
def test_a_malformed_device_is_refused_by_the_config(device):
    with pytest.raises(ConfigError, match="TrainerConfig.device"):
        _config(device=device)


def test_an_unavailable_device_is_refused_when_the_trainer_is_built():
    if not torch.backends.mps.is_available():
        with pytest.raises(ConfigError, match="mps.*MPS .* not available"):
            Trainer(tiny_model("AE"), _config(device="mps"), _x())
    with pytest.raises(ConfigError, match="cuda:99"):
        resolve_device("cuda:99")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(("optimizer", "why"), [("LBFGS", "closure"), ("SparseAdam", "sparse gradients")])
def test_optimizers_that_cannot_work_in_the_trainer_are_refused_by_the_config(optimizer, why):
    with pytest.raises(ConfigError, match=f"{optimizer}.*{why}"):
        _config(optimizer=optimizer)
    with pytest.raises(ConfigError, match=optimizer):
        _config(group_overrides={"model": {"optimizer": optimizer}})
    with pytest.raises(ConfigError) as err:
        _config(optimizer="NoSuchOptimizer")
    assert optimizer not in str(err.value) and "Adam" in str(err.value)


@pytest.mark.parametrize(("options", "message"), [
    ({"mode": "bogus"}, "mode='bogus'"),
    ({"backend": "no_such_backend"}, "backend='no_such_backend'"),
    ({"backend": 3}, "backend=3"),
    ({"mode": "max-autotune", "options": {"epilogue_fusion": True}}, "either 'mode' or 'options'"),
    ({"fullgraf": True}, "fullgraf"),
])
def test_bad_compile_options_are_refused_without_compiling(options, message, monkeypatch):
    @functools.wraps(torch.compile)  # the same signature, for the keyword check
    def no_compile(*args, **kwargs):
        raise AssertionError("torch.compile was called")

    monkeypatch.setattr(torch, "compile", no_compile)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        _config(compile=True, compile_options=options)


@pytest.mark.parametrize("options", [{"mode": "reduce-overhead"}, {"mode": "max-autotune-no-cudagraphs"},
                                     {"backend": "eager"}, {"backend": "aot_eager", "fullgraph": True},
                                     {"backend": lambda gm, inputs: gm}, {}])
def test_valid_compile_options_are_accepted(options):
    assert _config(compile=True, compile_options=options).compile


def test_a_callback_that_is_not_a_trainer_callback_is_refused_naming_its_type():
    class Logger:  # has hooks of its own, but is not a TrainerCallback
        def on_step_end(self, trainer, output):
            pass

    for callbacks, where in [([TrainerCallback(), Logger()], "callbacks[1] is a .*Logger"),
                             ([object()], "callbacks[0] is a object"), (TrainerCallback(), "a list")]:
        with pytest.raises(ConfigError, match=where.replace("[", r"\[").replace("]", r"\]")):
            Trainer(tiny_model("AE"), _config(), _x(), callbacks=callbacks)
    assert len(Trainer(tiny_model("AE"), _config(), _x(), callbacks=(TrainerCallback(),)).callbacks) == 1


def test_drop_last_with_fewer_samples_than_one_batch_is_refused():
    with pytest.raises(DataError, match="batch_size=32.*drop_last=True"):
        Trainer(tiny_model("AE"), _config(batch_size=32, drop_last=True), _x(16))
    trainer = Trainer(tiny_model("AE"), _config(batch_size=16, drop_last=True), _x(16))  # exactly one batch
    trainer.train()
    assert trainer.state.global_step == 1


@pytest.mark.parametrize("name", ["../../escaped", "sub/ckpt", "..", ".", "", ".hidden", "a\\b", 5])
def test_a_checkpoint_name_must_be_a_plain_folder_name(name, tmp_path):
    trainer = Trainer(tiny_model("AE"), _config(tmp_path / "nest" / "out"), _x())
    trainer.train()
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(ConfigError, match="plain folder name"):
        trainer.save_checkpoint(name)
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert trainer.save_checkpoint("checkpoint_mine") == trainer.run_dir / "checkpoint_mine"


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, "3", True, None])
def test_set_seed_refuses_what_is_not_a_seed(seed):
    with pytest.raises(ConfigError, match="set_seed: seed"):
        set_seed(seed)


def test_set_seed_accepts_numpy_ints():
    set_seed(np.int64(5))
    first = torch.rand(3)
    set_seed(5)
    assert torch.equal(first, torch.rand(3))


def test_check_output_dir_names_what_was_given(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=r"--output-dir .*a_file above it is a file, not a folder"):
        check_output_dir(blocker / "runs", "--output-dir")
    with pytest.raises(ConfigError, match="TrainerConfig.output_dir"):
        Trainer(tiny_model("AE"), _config(blocker / "runs"), _x())
    check_output_dir(tmp_path / "new" / "deeper", "--out")  # creatable: accepted, nothing made
    assert not (tmp_path / "new").exists()


def test_one_pid_check_for_locks_and_atomic_saves():
    assert serialization.atomic.pid_alive is locks.pid_alive
    assert locks.pid_alive(os.getpid())
    assert not locks.pid_alive(0) and not locks.pid_alive(-3)
    assert locks.pid_alive(2**70)  # too large to check: treated as alive (never taken over)
