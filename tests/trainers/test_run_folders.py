"""Run folders: unique under concurrent starts, locked while training, cleaned of killed writers' leftovers."""

from __future__ import annotations

import datetime
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import tiny_model

from gaekit import serialization
from gaekit.errors import ConfigError, TrainingError
from gaekit.locks import LOCK_FILE
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig
from gaekit.trainers import run_folder as run_folder_module


def _config(tmp_path, **kw):
    base = {"output_dir": str(tmp_path), "num_epochs": 1, "batch_size": 16, "learning_rate": 1e-3,
            "show_progress": False, "checkpoint_every_n_epochs": 1}
    return TrainerConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data(digits):
    return digits[0].subset(slice(0, 32)), digits[1].subset(slice(0, 16))


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_runs_started_in_the_same_second_get_their_own_folders(data, tmp_path, monkeypatch):
    class FrozenClock:  # every run sees the same time stamp
        class datetime:
            @staticmethod
            def now():
                return datetime.datetime(2026, 1, 2, 3, 4, 5)

    real_mkdir = pathlib.Path.mkdir

    def slow_mkdir(self, *args, **kwargs):  # a slow file system: both runs check before either creates
        if "_training_" in self.name:
            time.sleep(0.2)
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(run_folder_module, "datetime", FrozenClock)
    monkeypatch.setattr(pathlib.Path, "mkdir", slow_mkdir)
    trainers = [Trainer(tiny_model("VAE"), _config(tmp_path), *data) for _ in range(2)]
    start, errors = threading.Barrier(2), []

    def run(trainer):
        start.wait()
        try:
            trainer.train()
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(t,)) for t in trainers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    names = sorted(t.run_dir.name for t in trainers)
    assert names == ["VAE_training_2026-01-02_03-04-05", "VAE_training_2026-01-02_03-04-05_1"]
    assert all((t.run_dir / "final_model").is_dir() for t in trainers)


class Hold(TrainerCallback):
    """Keeps a training inside its first step until released."""

    def __init__(self):
        self.inside, self.release = threading.Event(), threading.Event()

    def on_step_end(self, trainer, output):
        self.inside.set()
        self.release.wait(30)


def test_a_second_trainer_on_a_run_folder_in_use_fails_at_once(data, tmp_path):
    first = Trainer(tiny_model("VAE"), _config(tmp_path, num_epochs=2), *data)
    first.train()
    checkpoint = first.run_dir / "checkpoint_epoch_1"
    hold = Hold()
    one = Trainer.from_checkpoint(checkpoint, *data, callbacks=[hold])
    thread = threading.Thread(target=one.train)
    thread.start()
    try:
        assert hold.inside.wait(30)
        two = Trainer.from_checkpoint(checkpoint, *data)
        with pytest.raises(TrainingError, match=rf"{first.run_dir.name} is in use .*process {os.getpid()}"):
            two.train()
    finally:
        hold.release.set()
        thread.join()
    assert not (first.run_dir / LOCK_FILE).exists()  # released when training ends
    assert one.state.epoch == 2


def test_a_lock_of_another_live_process_is_respected_and_a_dead_ones_taken_over(data, tmp_path):
    first = Trainer(tiny_model("VAE"), _config(tmp_path), *data)
    first.train()
    checkpoint, lock = first.run_dir / "checkpoint_epoch_1", first.run_dir / LOCK_FILE
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(f"{socket.gethostname()} {other.pid}")
        resumed = Trainer.from_checkpoint(checkpoint, *data, overrides={"num_epochs": 2})
        with pytest.raises(TrainingError, match=rf"process {other.pid} on host"):
            resumed.train()
        assert not (first.run_dir / "checkpoint_interrupted").exists()  # nothing written into a folder in use
    finally:
        other.kill()
        other.wait()
    resumed.train()  # its process is gone: the stale lock is taken over
    assert resumed.state.epoch == 2 and not lock.exists()


def test_leftovers_of_killed_writers_are_removed_on_the_next_run(data, tmp_path):
    first = Trainer(tiny_model("VAE"), _config(tmp_path), *data)
    first.train()
    run_dir, dead = first.run_dir, _dead_pid()
    leftovers = [run_dir / f".checkpoint_epoch_2.tmp-{dead}", run_dir / f".checkpoint_epoch_1.old-{dead}"]
    for path in leftovers:
        path.mkdir()
        (path / "model.safetensors").write_bytes(b"partial")
    (run_dir / f".history.json.tmp-{dead}").write_text("[")
    kept = [run_dir / f".checkpoint_epoch_7.old-{dead}",  # the previous version of a folder now missing
            run_dir / f".checkpoint_epoch_3.tmp-{os.getpid()}"]  # this process's own
    for path in kept:
        path.mkdir()
    resumed = Trainer.from_checkpoint(run_dir / "checkpoint_epoch_1", *data, overrides={"num_epochs": 2})
    resumed.train()
    hidden = sorted(p.name for p in run_dir.iterdir() if p.name.startswith("."))
    assert hidden == sorted(p.name for p in kept)


def test_an_impossible_output_dir_is_refused_when_the_trainer_is_built(data, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"TrainerConfig.output_dir .*a_file above it is a file, not a folder"):
        Trainer(tiny_model("VAE"), _config(blocker / "runs"), *data)
    monkeypatch.setattr(serialization.outputs.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match=r"TrainerConfig.output_dir .* is not writable"):
        Trainer(tiny_model("VAE"), _config(tmp_path / "new" / "runs"), *data)
    assert not (tmp_path / "new").exists()  # checked, nothing created
