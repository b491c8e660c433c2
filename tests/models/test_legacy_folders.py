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


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"vae_custom"}))
def test_an_old_folder_saved_again_loads_again(name, tmp_path):
    model = AutoModel.load_from_folder(V1_DIR / name)
    model.save(tmp_path / "again")
    assert _same_outputs(AutoModel.load_from_folder(tmp_path / "again"), name)


def test_an_old_folder_with_a_hand_built_encoder_needs_it_again():
    from gaekit.nn import MLPEncoder

    with pytest.raises(CheckpointError, match="custom encoder"):
        AutoModel.load_from_folder(V1_DIR / "vae_custom")
    model = AutoModel.load_from_folder(V1_DIR / "vae_custom", encoder=MLPEncoder((1, 8, 8), 2, hidden_dims=(8,)))
    assert _same_outputs(model, "vae_custom")
