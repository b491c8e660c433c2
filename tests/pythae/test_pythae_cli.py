"""``gaekit train`` reads Pythae's config files: a model config saved by Pythae names the model, a trainer config
saved by Pythae gives the training (Pythae's field names and meanings)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pythae", reason="the pythae test extra (pythae==0.1.2) is not installed")

from pythae.models import BetaVAEConfig  # noqa: E402
from pythae.trainers import BaseTrainerConfig  # noqa: E402

from gaekit.cli import main  # noqa: E402


def test_train_from_pythae_config_files(tmp_path):
    BetaVAEConfig(latent_dim=3, beta=2.0, reconstruction_loss="bce").save_json(str(tmp_path), "model_config")
    BaseTrainerConfig(output_dir=str(tmp_path / "runs"), num_epochs=1, per_device_train_batch_size=50,
                      steps_saving=1, no_cuda=True).save_json(str(tmp_path), "training_config")
    assert main(["train", "--model-config", str(tmp_path / "model_config.json"), "--training-config",
                 str(tmp_path / "training_config.json"), "--no-progress"]) == 0
    (run,) = (tmp_path / "runs").glob("BetaVAE_training_*")
    config = json.loads((run / "final_model" / "config.json").read_text())
    assert (config["name"], config["latent_dim"], config["beta"], config["reconstruction_loss"]) == (
        "BetaVAE", 3, 2.0, "bce")
    training = json.loads((run / "final_model" / "training_config.json").read_text())
    assert (training["batch_size"], training["device"], training["checkpoint_every_n_epochs"]) == (50, "cpu", 1)
    assert (run / "checkpoint_epoch_1").is_dir()


def test_pythae_files_that_disagree_are_refused(tmp_path, capsys):
    BetaVAEConfig(latent_dim=3).save_json(str(tmp_path), "model_config")
    assert main(["train", "VAE", "--model-config", str(tmp_path / "model_config.json"), "--no-progress"]) != 0
    assert "this is a config for 'BetaVAE', not for 'VAE'" in capsys.readouterr().err
    BaseTrainerConfig(keep_best_on_train=True).save_json(str(tmp_path), "training_config")
    assert main(["train", "--training-config", str(tmp_path / "training_config.json"), "--no-progress"]) != 0
    assert "keep_best_on_train=True" in capsys.readouterr().err
