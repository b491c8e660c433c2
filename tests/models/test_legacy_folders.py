"""Folders written by an earlier release (``tests/data_files/folders_v1``, made by its ``make_folders.py``) load
into the same model: each one's reconstruction of a fixed batch equals the one recorded when it was saved."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch

from gaekit.errors import CheckpointError
from gaekit.models import AutoModel

V1_DIR = Path(__file__).resolve().parents[1] / "data_files" / "folders_v1"
EXPECTED = json.loads((V1_DIR / "expected.json").read_text())


def _recipe():
    spec = importlib.util.spec_from_file_location("make_folders_v1", V1_DIR / "make_folders.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECIPE = _recipe()


def _same_outputs(model, name: str) -> bool:
    got = model.reconstruct(RECIPE.batch()).flatten()
    return torch.allclose(got, torch.tensor(EXPECTED[name]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"vae_custom"}))
def test_an_old_folder_loads_into_the_same_model(name, tmp_path):
    folder = Path(shutil.copytree(V1_DIR / name, tmp_path / name))
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    model = AutoModel.load_from_folder(folder)
    assert _same_outputs(model, name)
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before  # loading migrates in memory only


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"vae_custom", "vae_mixed"}))
def test_an_old_folder_saved_again_holds_its_network_in_the_config(name, tmp_path):
    model = AutoModel.load_from_folder(V1_DIR / name)
    assert not model.custom_networks
    model.save(tmp_path / "again")
    meta = json.loads((tmp_path / "again" / "gaekit.json").read_text())
    assert not any(key.endswith("_network") for key in meta)
    saved_config = json.loads((tmp_path / "again" / "config.json").read_text())
    old_meta = json.loads((V1_DIR / name / "gaekit.json").read_text())
    spec = old_meta.get("encoder_network") or old_meta.get("decoder_network") or {"name": "mlp"}
    assert saved_config["network"] == spec["name"]
    assert _same_outputs(AutoModel.load_from_folder(tmp_path / "again"), name)


def test_an_old_folder_whose_networks_no_config_describes_keeps_them_as_custom(tmp_path):
    """A conv encoder beside the default MLP decoder: no single ``network`` says that, so the config keeps the
    MLP and the encoder, rebuilt from its old spec, is custom from then on (pass it again after saving)."""
    from gaekit.nn import create_network

    model = AutoModel.load_from_folder(V1_DIR / "vae_mixed")
    assert model.model_config.network == "mlp" and model.custom_networks == {"encoder"}
    model.save(tmp_path / "again")
    with pytest.raises(CheckpointError, match="custom encoder"):
        AutoModel.load_from_folder(tmp_path / "again")
    encoder = create_network("conv", (1, 8, 8), "encoder", 2, kind="variational", channels=(4, 8))
    assert _same_outputs(AutoModel.load_from_folder(tmp_path / "again", encoder=encoder), "vae_mixed")


def test_an_old_folder_with_a_hand_built_encoder_needs_it_again():
    from gaekit.nn import MLPEncoder

    with pytest.raises(CheckpointError, match="custom encoder"):
        AutoModel.load_from_folder(V1_DIR / "vae_custom")
    model = AutoModel.load_from_folder(V1_DIR / "vae_custom", encoder=MLPEncoder((1, 8, 8), 2, hidden_dims=(8,)))
    assert _same_outputs(model, "vae_custom")


def test_the_config_recipe_builds_what_create_network_modules_built(tmp_path):
    """From the same seed, ``create_model`` with ``network="conv"`` builds the model that passing
    ``create_network`` modules built before: same weights, same outputs."""
    from gaekit import create_model

    torch.manual_seed(0)
    model = create_model("VAE", input_dim=(1, 8, 8), latent_dim=2, network="conv",
                         network_options={"channels": [4, 8]})
    assert not model.custom_networks
    assert _same_outputs(model, "vae_conv")


def test_an_old_checkpoint_resumes_into_the_run_the_config_recipe_gives(tmp_path):
    """A format 2 checkpoint (networks recorded as specs) resumes, with the specs migrated into the model config,
    into the run that the same state written in today's format gives: same history, same weights, bitwise. The
    uninterrupted run is not compared: the committed checkpoint was trained on another CPU, and Adam turns the
    last-bit differences of another CPU's kernels into differences of its step size after a few steps."""
    from gaekit import create_model
    from gaekit.trainers import Trainer

    old = Path(shutil.copytree(V1_DIR / "checkpoint_conv", tmp_path / "run" / "checkpoint_conv"))
    resumed = Trainer.from_checkpoint(old, *RECIPE.data())
    assert resumed.model.model_config.network == "conv"
    assert resumed.model.model_config.network_options == {"channels": [4, 8]}
    assert not resumed.model.custom_networks
    rebuilt = create_model("VAE", input_dim=(1, 8, 8), latent_dim=2, network="conv",
                           network_options={"channels": [4, 8]})
    rebuilt.load_state_dict(resumed.model.state_dict())
    assert torch.equal(rebuilt.reconstruct(RECIPE.batch()), resumed.model.reconstruct(RECIPE.batch()))

    recorded = json.loads((old / "trainer_state.json").read_text())["state"]["trainer"]["history"]
    today = Trainer.from_checkpoint(Trainer.from_checkpoint(old, *RECIPE.data()).save_checkpoint("checkpoint_today"),
                                    *RECIPE.data())
    resumed.train()
    today.train()
    assert resumed.state.history[:len(recorded)] == recorded
    assert len(resumed.state.history) > len(recorded)
    assert resumed.state.history == today.state.history
    got, want = resumed.model.state_dict(), today.model.state_dict()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got)
