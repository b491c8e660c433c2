"""The ``gaekit`` command: demo, train (and --resume), generate, and complete --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gaekit.cli import build_parser, main
from gaekit.models import MODELS


def test_demo_writes_the_figures_and_metrics_it_announces(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out), "--epochs", "3", "--quiet", "--num-samples", "16"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"VAE", "AE"}
    for entry in metrics["models"].values():
        assert 0 < entry["test_mse"] < 1
        for path in entry["figures"].values():
            assert path in printed
            with Image.open(path) as image:
                assert image.format == "PNG" and image.size[0] > 64
        assert (Path(entry["model_dir"]) / "model.safetensors").is_file()
    assert "test_nll" in metrics["models"]["VAE"]
    assert str(out / "metrics.json") in printed


def test_train_then_generate_then_resume(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "--model", "AE", "--epochs", "2", "--latent-dim", "4", "--output-dir", str(runs),
                 "--no-progress",
                 "--set", "reconstruction_loss=\"bce\""]) == 0
    (model_dir,) = runs.glob("AE_training_*/final_model")
    assert json.loads((model_dir / "config.json").read_text())["reconstruction_loss"] == "bce"
    assert main(["generate", str(model_dir), "--sampler", "gmm", "--num-samples", "12",
                 "--output-dir", str(tmp_path / "samples")]) == 0
    assert (tmp_path / "samples" / "samples.safetensors").is_file()
    assert (tmp_path / "samples" / "samples.png").is_file()

    training = tmp_path / "t.json"
    training.write_text(json.dumps({"num_epochs": 2, "checkpoint_every_n_epochs": 1, "show_progress": False,
                                    "output_dir": str(tmp_path / "runs2")}))
    assert main(["train", "VAE", "--training-config", str(training)]) == 0
    (checkpoint,) = (tmp_path / "runs2").glob("VAE_training_*/checkpoint_epoch_1")
    capsys.readouterr()
    assert main(["train", "--resume", str(checkpoint), "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().out


def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    assert main(["train", "NoSuchModel", "--output-dir", str(tmp_path)]) == 2
    assert "unknown model 'NoSuchModel'" in capsys.readouterr().err
    assert main(["train", "VAE", "--set", "latnt_dim=3", "--output-dir", str(tmp_path)]) == 2
    assert "accepted keys" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("command, options", [
    ("demo", ["--dataset", "--data-dir", "--output-dir", "--epochs", "--latent-dim", "--seed", "--quiet"]),
    ("train", ["--model", "BetaVAE", "--dataset", "--model-config", "--training-config", "--set", "--epochs",
               "--batch-size", "--lr", "--output-dir", "--resume"]),
    ("generate", ["--sampler", "--num-components", "--num-samples", "--output-dir", "--seed", "--dataset"]),
    ("evaluate", ["--tasks", "--sampler", "--config", "--out", "--dataset", "--data-dir", "--cache-dir"]),
])
def test_help_is_complete(command, options, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    for option in options:
        assert option in text


def test_python_dash_m_gaekit_runs():
    result = subprocess.run([sys.executable, "-m", "gaekit", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "demo" in result.stdout and "generate" in result.stdout


@pytest.mark.slow
def test_demo_on_full_mnist(tmp_path, mnist_dir):
    """The MNIST demo (5 epochs on 50k images, about 40 s on 2 cores) learns good models."""
    out = tmp_path / "demo"
    assert main(["demo", "--dataset", "mnist", "--data-dir", str(mnist_dir.parent), "--output-dir", str(out),
                 "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for entry in metrics["models"].values():
        assert entry["test_mse"] < 0.3 * metrics["mean_image_test_mse"]
    assert metrics["models"]["VAE"]["test_nll"] < 130


def test_generate_takes_any_registered_sampler_and_its_config(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "--model", "VAE", "--epochs", "1", "--output-dir", str(runs), "--no-progress"]) == 0
    (model_dir,) = runs.glob("VAE_training_*/final_model")
    config = tmp_path / "gmm.json"
    config.write_text(json.dumps({"num_components": 3, "covariance_type": "diag"}))
    out = tmp_path / "samples"
    assert main(["generate", str(model_dir), "--sampler", "GaussianMixtureSampler", "--sampler-config", str(config),
                 "--num-samples", "5", "--output-dir", str(out)]) == 0
    assert (out / "samples.safetensors").is_file()
    capsys.readouterr()
    assert main(["generate", str(model_dir), "--sampler", "nope"]) == 2
    assert "unknown sampler 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("name", MODELS.names())
def test_every_registered_model_trains_from_the_command_line(name, tmp_path):
    assert main(["train", "--model", name, "--epochs", "1", "--batch-size", "128", "--output-dir", str(tmp_path),
                 "--no-progress"]) == 0
    (model_dir,) = tmp_path.glob(f"{name}_training_*/final_model")
    assert json.loads((model_dir / "config.json").read_text())["name"] == name


def test_train_with_the_papers_resnet_then_resume_and_generate(tmp_path, mnist_dir):
    runs = tmp_path / "runs"
    training = tmp_path / "t.json"
    training.write_text(json.dumps({"num_epochs": 2, "checkpoint_every_n_epochs": 1, "show_progress": False,
                                    "batch_size": 200, "output_dir": str(runs)}))
    data = ["--dataset", "npz:" + str(_small_mnist_npz(tmp_path, mnist_dir))]
    assert main(["train", "--model", "VAE", "--net", "resnet", "--training-config", str(training), *data]) == 0
    (checkpoint,) = runs.glob("VAE_training_*/checkpoint_epoch_1")
    assert main(["train", "--resume", str(checkpoint), "--no-progress", *data]) == 0
    (model_dir,) = runs.glob("VAE_training_*/final_model")
    assert json.loads((model_dir / "config.json").read_text())["network"] == "resnet"
    assert main(["generate", str(model_dir), "--num-samples", "4", "--output-dir", str(tmp_path / "s")]) == 0


def _small_mnist_npz(tmp_path, mnist_dir):
    import numpy as np

    from gaekit.data import load_mnist

    train, val = load_mnist("train", root=mnist_dir), load_mnist("validation", root=mnist_dir)
    path = tmp_path / "mnist_small.npz"
    np.savez(path, train=train.data[:400].numpy(), validation=val.data[:100].numpy())
    return path


@pytest.mark.parametrize("sampler", ["maf", "iaf", "two_stage"])
def test_generate_with_the_fitted_flow_and_two_stage_samplers(sampler, tmp_path, trained_digits_vae):
    config = tmp_path / "sampler.json"
    fields = {"num_epochs": 2, "show_progress": False, "batch_size": 64}
    fields |= {"hidden_dims": [32, 32]} if sampler == "two_stage" else {"hidden_size": 16, "num_made_hidden_layers": 1}
    config.write_text(json.dumps(fields))
    out = tmp_path / "samples"
    assert main(["generate", str(trained_digits_vae), "--sampler", sampler, "--sampler-config", str(config),
                 "--num-samples", "6", "--output-dir", str(out)]) == 0
    from gaekit.serialization import load_tensors

    samples = load_tensors(out / "samples.safetensors")["samples"]
    assert samples.shape == (6, 1, 8, 8) and bool(samples.isfinite().all())


@pytest.fixture(scope="module")
def trained_digits_vae(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--model", "VAE", "--epochs", "2", "--output-dir", str(runs), "--no-progress"]) == 0
    (model_dir,) = runs.glob("VAE_training_*/final_model")
    return model_dir


@pytest.mark.parametrize("model, sampler", [("SVAE", "HypersphereUniformSampler"),
                                            ("PoincareVAE", "PoincareDiskSampler"), ("RHVAE", "RHVAESampler"),
                                            ("VQVAE", "PixelCNNSampler")])
def test_generate_with_the_model_specific_samplers(model, sampler, tmp_path):
    runs = tmp_path / "runs"
    assert main(["train", "--model", model, "--epochs", "1", "--output-dir", str(runs), "--no-progress"]) == 0
    (model_dir,) = runs.glob(f"{model}_training_*/final_model")
    config = tmp_path / "sampler.json"
    config.write_text(json.dumps({"num_epochs": 1, "show_progress": False} if sampler == "PixelCNNSampler"
                                 else {"num_mcmc_steps": 2, "num_leapfrog_steps": 2} if sampler == "RHVAESampler"
                                 else {}))
    out = tmp_path / "samples"
    assert main(["generate", str(model_dir), "--sampler", sampler, "--sampler-config", str(config),
                 "--num-samples", "5", "--output-dir", str(out)]) == 0
    from gaekit.serialization import load_tensors

    samples = load_tensors(out / "samples.safetensors")["samples"]
    assert samples.shape == (5, 1, 8, 8) and bool(samples.isfinite().all())
