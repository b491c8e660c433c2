"""The ``gaekit`` command never ignores a flag and never shows a traceback (gaekit issue 13).

Bad input is one line on stderr and exit 2; Ctrl-C is one line saying where the checkpoint went
and exit 130; ``--resume`` honours ``--epochs``, finds its own data and refuses the other flags.
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gaekit import cli
from gaekit.cli import main
from gaekit.data import find_data_dir, load_dataset
from gaekit.errors import DataError
from gaekit.models import VAE, VAEConfig

GAEKIT = str(Path(sys.executable).parent / "gaekit")


def fails(argv, capsys) -> str:
    """Run ``gaekit argv`` in-process; it must exit 2 with one line on stderr, which is returned."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (code, captured.out, err)
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    """A tiny image dataset of shape (1, 4, 4): train and validation arrays."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, train=rng.random((96, 1, 4, 4), dtype=np.float32),
             validation=rng.random((32, 1, 4, 4), dtype=np.float32))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, npz) -> Path:
    """A finished 2-epoch VAE run on ``npz`` with checkpoints after each epoch."""
    out = tmp_path_factory.mktemp("runs")
    config = out / "t.json"
    config.write_text(json.dumps({"num_epochs": 2, "checkpoint_every_n_epochs": 1, "show_progress": False,
                                  "batch_size": 32, "output_dir": str(out)}))
    assert main(["train", "VAE", "--dataset", f"npz:{npz}", "--training-config", str(config)]) == 0
    (run,) = out.glob("VAE_training_*")
    return run


@pytest.fixture
def run_copy(run_dir, tmp_path) -> Path:
    """A copy of ``run_dir`` that a test may train on."""
    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


@pytest.fixture(scope="module")
def model_28(tmp_path_factory) -> Path:
    """A saved (untrained) VAE for MNIST-shaped images."""
    return VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=2)).save(tmp_path_factory.mktemp("m") / "model")


# ---------------------------------------------------------------------- 1, 2: --resume
@pytest.mark.parametrize("flags", [["--lr", "0.1"], ["--batch-size", "8"], ["--seed", "3"], ["--latent-dim", "3"],
                                   ["--set", "latent_dim=3"], ["--net", "conv"], ["--reconstruction-loss", "mse"],
                                   ["--model", "AE"], ["VAE"], ["--model-config", "m.json"],
                                   ["--training-config", "t.json"], ["--output-dir", "elsewhere"]])
def test_resume_refuses_every_flag_that_would_change_the_run(flags, run_dir, capsys):
    before = (run_dir / "history.json").stat().st_mtime_ns
    err = fails(["train", "--resume", str(run_dir / "checkpoint_epoch_1"), *flags], capsys)
    flag = flags[0] if flags[0].startswith("--") else "MODEL"
    assert flag in err and "--resume" in err
    assert (run_dir / "history.json").stat().st_mtime_ns == before  # nothing trained


def test_resume_with_epochs_trains_on_and_a_finished_checkpoint_says_so(run_copy, capsys):
    finished = str(run_copy / "checkpoint_epoch_2")
    err = fails(["train", "--resume", finished, "--no-progress"], capsys)
    assert "finished epoch 2 of 2" in err and "--epochs" in err
    assert main(["train", "--resume", finished, "--epochs", "3", "--no-progress"]) == 0
    assert "training to 3 epochs" in capsys.readouterr().out
    history = json.loads((run_copy / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_resume_finds_the_data_it_was_trained_on(run_copy, npz, capsys):
    checkpoint = str(run_copy / "checkpoint_epoch_1")
    assert main(["train", "--resume", checkpoint, "--no-progress"]) == 0  # no --dataset: recorded
    assert f"npz:{npz}" in capsys.readouterr().out
    err = fails(["train", "--resume", checkpoint, "--dataset", "digits"], capsys)
    assert "digits" in err and str(npz) in err
    err = fails(["train", "--resume", checkpoint, "--no-eval"], capsys)
    assert "--no-eval" in err


def test_resume_without_a_recorded_dataset_names_the_one_that_fits(tmp_path, capsys):
    from gaekit.trainers import Trainer, TrainerConfig

    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=2))
    data = np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32)
    config = TrainerConfig(num_epochs=2, checkpoint_every_n_epochs=1, output_dir=str(tmp_path), show_progress=False)
    Trainer(model, config, data).train()  # the Python API: no data source recorded
    (checkpoint,) = tmp_path.glob("VAE_training_*/checkpoint_epoch_1")
    err = fails(["train", "--resume", str(checkpoint)], capsys)
    assert "(1, 28, 28)" in err and "(1, 8, 8)" in err and "--dataset mnist" in err


# ---------------------------------------------------------------------- 3: model and data shapes
@pytest.mark.parametrize("command", [["generate", "--sampler", "gmm", "--output-dir", "s"],
                                     ["evaluate", "--tasks", "reconstruction", "--out", "e"]])
def test_a_model_and_a_dataset_of_other_shapes_name_the_dataset_to_use(command, model_28, tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = fails([command[0], str(model_28), *command[1:]], capsys)
    assert "(1, 28, 28)" in err and "(1, 8, 8)" in err and "--dataset mnist" in err
    assert "set input_dim" not in err
    assert not (tmp_path / command[-1]).exists()


def test_a_shape_of_no_known_dataset_suggests_npz(tmp_path, capsys):
    model = VAE(VAEConfig(input_dim=(5,), latent_dim=2)).save(tmp_path / "model")
    err = fails(["generate", str(model), "--sampler", "gmm", "--output-dir", str(tmp_path / "s")], capsys)
    assert "(5,)" in err and "npz:PATH" in err


# ---------------------------------------------------------------------- 4: --data-dir
def test_an_explicit_data_folder_is_the_only_place_looked_at(tmp_path, monkeypatch):
    elsewhere = tmp_path / "env" / "mnist"
    elsewhere.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (elsewhere / stem).touch()
    monkeypatch.setenv("GAEKIT_DATA_DIR", str(elsewhere.parent))
    assert find_data_dir("mnist") == elsewhere  # found without a root...
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=str(empty)):  # ...but not when another folder is given
        find_data_dir("mnist", root=empty)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", "train", root=tmp_path / "does" / "not" / "exist")


def test_data_dir_that_does_not_hold_the_data_or_does_not_apply(tmp_path, capsys):
    missing = tmp_path / "does-not-exist"
    err = fails(["train", "--dataset", "mnist", "--data-dir", str(missing), "--output-dir", str(tmp_path)], capsys)
    assert str(missing) in err and "does not exist" in err
    err = fails(["train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path)], capsys)
    assert str(tmp_path) in err and "not found" in err
    err = fails(["demo", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "d")], capsys)
    assert "--data-dir" in err and "digits" in err


def test_npz_files_that_cannot_be_the_data_are_named(tmp_path):
    from gaekit.data import load_npz

    scalar, garbage, train_only = tmp_path / "scalar.npz", tmp_path / "garbage.npz", tmp_path / "train.npz"
    np.savez(scalar, data=np.array(3.0))
    garbage.write_bytes(b"not an archive")
    np.savez(train_only, train=np.zeros((4, 1, 2, 2), dtype=np.float32))
    with pytest.raises(DataError, match="scalar.npz"):
        load_npz(scalar)
    with pytest.raises(DataError, match="garbage.npz is not a .npz or .npy file"):
        load_dataset(f"npz:{garbage}")
    with pytest.raises(DataError, match="no 'validation' array"):  # was: the train array, silently
        load_dataset(f"npz:{train_only}", "validation")


def test_a_message_of_several_lines_is_printed_as_one(tmp_path, capsys, monkeypatch):
    for name in ("GAEKIT_DATA_DIR", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    try:
        find_data_dir("fashion-mnist")
        pytest.skip("Fashion-MNIST is installed on this machine")
    except DataError as error:
        assert "\n" in str(error)  # the places searched, one a line
    err = fails(["train", "--dataset", "fashion-mnist", "--output-dir", str(tmp_path)], capsys)
    assert "searched:" in err and str(tmp_path / "fashion-mnist") in err


# ---------------------------------------------------------------------- 5: output folders
@pytest.mark.parametrize("command", [["demo", "--output-dir"], ["train", "--output-dir"],
                                     ["generate", "MODEL", "--output-dir"], ["evaluate", "MODEL", "--out"],
                                     ["bench", "--preset", "smoke", "--out"]])
def test_an_output_folder_under_a_file_is_refused_before_any_work(command, model_28, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    argv = [str(model_28) if part == "MODEL" else part for part in command]
    err = fails([*argv, str(blocker / "out")], capsys)
    assert command[-1] in err and str(blocker) in err and "not a folder" in err


# ---------------------------------------------------------------------- 7: config files and values
@pytest.mark.parametrize("content", ["[1, 2]", "3", '"text"'])
@pytest.mark.parametrize("command, flag", [(["train"], "--model-config"), (["train"], "--training-config"),
                                           (["generate", "MODEL", "--sampler", "gmm"], "--sampler-config"),
                                           (["evaluate", "MODEL"], "--config")])
def test_a_config_file_that_is_not_a_json_object(command, flag, content, model_28, tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(content)
    argv = [str(model_28) if part == "MODEL" else part for part in command]
    err = fails([*argv, flag, str(path), "--output-dir" if command[0] != "evaluate" else "--out",
                 str(tmp_path / "out")], capsys)
    assert flag in err and str(path) in err and "JSON object" in err


@pytest.mark.parametrize("argv, expected", [
    (["train", "--set", "latent_dim"], "KEY=VALUE"),
    (["train", "--set", "=3"], "KEY=VALUE"),
    (["train", "--set", "latnt_dim=3"], "accepted keys"),
    (["train", "--set", "latent_dim=3", "--set", "latent_dim=4"], "disagree"),
    (["train", "--reconstruction-loss", "mse", "--set", "reconstruction_loss=\"bce\""], "disagree"),
    (["train", "--net", "convnet"], "convnet"),
    (["train", "--net", "conv", "--set", "network=\"mlp\""], "disagree"),  # the network, like any field: once
    (["train", "--set", "network_options={\"channels\": [4]}"], "channels"),  # options of another network
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "-2"], "--epochs"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--latent-dim", "0"], "--latent-dim"),
    (["generate", "MODEL", "--sampler", "nope"], "unknown sampler 'nope'"),
    (["generate", "MODEL", "--num-samples", "0"], "--num-samples"),
    (["generate", "MODEL", "--num-samples", "-5"], "--num-samples"),
    (["generate", "MODEL", "--sampler", "gmm", "--n-components", "0"], "--n-components"),
    (["generate", "MODEL", "--n-components", "3"], "--n-components"),
    (["generate", "MODEL", "--dataset", "mnist"], "--dataset"),
    (["evaluate", "MODEL", "--tasks", "reconstruction", "--sampler", "gmm"], "--sampler"),
    (["evaluate", "MODEL", "--tasks", "reconstruction", "--nll-samples", "5"], "--nll-samples"),
    (["evaluate", "MODEL", "--tasks", "clustering", "--extractor", "none"], "--extractor"),
    (["evaluate", "MODEL", "--extractor", "none", "--inception-weights", "w.pth"], "--inception-weights"),
    (["evaluate", "MODEL", "--batch-size", "0"], "--batch-size"),
    (["demo", "--num-samples", "0"], "--num-samples"),
])
def test_bad_values_are_one_line(argv, expected, model_28, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    err = fails([str(model_28) if part == "MODEL" else part for part in argv], capsys)
    assert expected in err


# ---------------------------------------------------------------------- 6, 8: real processes
def test_the_installed_command_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    result = subprocess.run([GAEKIT, "train", "--model-config", str(path), "--output-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "--model-config" in result.stderr


def test_ctrl_c_is_one_line_with_the_checkpoint_and_a_resume_command_that_works(tmp_path, capsys):
    runs = tmp_path / "runs"
    config = tmp_path / "t.json"
    config.write_text(json.dumps({"num_epochs": 4, "checkpoint_every_n_epochs": 1, "batch_size": 32,
                                  "show_progress": False, "output_dir": str(runs)}))
    process = subprocess.Popen([GAEKIT, "train", "VAE", "--training-config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(runs.glob("VAE_training_*/checkpoint_epoch_1")) and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)  # epoch 1 is done: the training loop is running
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert out == "" and err.strip().count("\n") == 0 and "Traceback" not in err
    (checkpoint,) = runs.glob("VAE_training_*/checkpoint_interrupted")
    assert str(checkpoint) in err
    command = shlex.split(err.split("resume with: ", 1)[1])
    assert command[:3] == ["gaekit", "train", "--resume"]
    assert main(command[1:]) == 0
    assert len(json.loads((checkpoint.parent / "history.json").read_text())) == 4
    assert (checkpoint.parent / "final_model").is_dir()


def test_ctrl_c_while_the_command_starts_is_one_line(monkeypatch, capsys):
    def interrupted_import():
        raise KeyboardInterrupt  # as when Ctrl-C lands while torch and the models are imported

    monkeypatch.setattr(cli, "build_parser", interrupted_import)
    assert cli.main(["train", "VAE"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted while starting" in err and "Traceback" not in err
