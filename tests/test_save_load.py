"""Saved model folders: the format, custom networks, and refusal of pickles and tampered files."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from torch import nn

from gaekit.errors import CheckpointError, UnsafeLoadError
from gaekit.models import AE, VAE, AEConfig, AutoModel, VAEConfig
from gaekit.nn import EncoderOutput


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3))
    model.save(tmp_path / "vae")
    return model, tmp_path / "vae"


def test_folder_holds_exactly_the_documented_files(saved):
    _, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "gaekit.json", "model.safetensors"]
    meta = json.loads((folder / "gaekit.json").read_text())
    assert meta["model_name"] == "VAE" and meta["format_version"] == 1
    assert meta["torch_version"] == torch.__version__ and len(meta["sha256"]["model.safetensors"]) == 64


def test_nothing_is_unpickled_while_loading(saved, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    model, folder = saved
    x = torch.rand(2, 1, 8, 8)
    assert torch.equal(AutoModel.load_from_folder(folder).embed(x), model.embed(x))


@pytest.mark.parametrize("filename, payload", [
    ("extra.pkl", pickle.dumps({"a": 1})),
    ("weights.pt", None),  # written with torch.save below
    ("innocent.json.bak", pickle.dumps([1, 2, 3], protocol=4)),  # pickle content under another name
])
def test_a_folder_holding_a_pickle_is_refused(saved, filename, payload):
    _, folder = saved
    if payload is None:
        torch.save({"w": torch.zeros(2)}, folder / filename)
    else:
        (folder / filename).write_bytes(payload)
    with pytest.raises(UnsafeLoadError, match="pickle"):
        AutoModel.load_from_folder(folder)


def test_tampered_or_truncated_weights_are_refused(saved):
    _, folder = saved
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        AutoModel.load_from_folder(folder)
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError):
        AutoModel.load_from_folder(folder)


def test_truncated_file_without_a_recorded_checksum_is_still_refused(saved):
    _, folder = saved
    meta = json.loads((folder / "gaekit.json").read_text())
    meta.pop("sha256")
    (folder / "gaekit.json").write_text(json.dumps(meta))
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        AutoModel.load_from_folder(folder)


def test_missing_metadata_and_missing_folder(saved, tmp_path):
    _, folder = saved
    with pytest.raises(CheckpointError, match="does not exist"):
        AutoModel.load_from_folder(tmp_path / "nope")
    (folder / "gaekit.json").unlink()
    with pytest.raises(CheckpointError, match="not a gaekit model folder"):
        AutoModel.load_from_folder(folder)


def test_loading_with_the_wrong_class_says_which_class(saved):
    _, folder = saved
    with pytest.raises(CheckpointError, match="holds a 'VAE' model"):
        AE.load_from_folder(folder)


class TinyEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(64, 6)

    def forward(self, x):
        mean, log_var = self.net(x.flatten(1)).chunk(2, -1)
        return EncoderOutput(mean, log_var)


def test_custom_encoder_is_given_again_at_load(tmp_path):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), encoder=TinyEncoder())
    model.save(tmp_path / "custom")
    meta = json.loads((tmp_path / "custom" / "gaekit.json").read_text())
    assert meta["custom_encoder"].endswith("TinyEncoder") and meta["custom_decoder"] is None
    with pytest.raises(CheckpointError, match="encoder=") as err:
        AutoModel.load_from_folder(tmp_path / "custom")
    assert "TinyEncoder" in str(err.value)
    loaded = AutoModel.load_from_folder(tmp_path / "custom", encoder=TinyEncoder())
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(loaded.embed(x), model.embed(x))


def test_weights_of_another_architecture_are_refused(tmp_path):
    AE(AEConfig(input_dim=(1, 8, 8), latent_dim=3)).save(tmp_path / "ae")
    config = json.loads((tmp_path / "ae" / "config.json").read_text())
    config["latent_dim"] = 5
    (tmp_path / "ae" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="wrong shape"):
        AutoModel.load_from_folder(tmp_path / "ae")


def test_saving_writes_no_pickle_and_replaces_atomically(saved):
    model, folder = saved
    model.save(folder)  # overwrite in place
    for path in folder.iterdir():
        head = path.read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("net", ["conv", "convnet", "resnet"])
def test_registered_networks_are_rebuilt_at_load_without_user_code(net, tmp_path):
    from gaekit.nn import create_network

    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=4)
    torch.manual_seed(0)
    model = VAE(config, encoder=create_network(net, dataset="mnist", role="encoder", latent_dim=4, model=VAE),
                decoder=create_network(net, dataset="mnist", role="decoder", latent_dim=4, model=VAE))
    model.save(tmp_path / net)
    loaded = AutoModel.load_from_folder(tmp_path / net)
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))


class WithCritic(AE):
    """Test model with an extra network, like the adversarial models."""

    extra_networks = ("discriminator",)

    def default_discriminator(self):
        return nn.Linear(3, 1)


def test_extra_networks_are_built_saved_and_given_again(tmp_path):
    torch.manual_seed(0)
    model = WithCritic(AEConfig(input_dim=(1, 8, 8), latent_dim=3))
    assert isinstance(model.discriminator, nn.Linear) and not model.custom_networks
    model.save(tmp_path / "default")
    loaded = WithCritic.load_from_folder(tmp_path / "default")
    assert torch.equal(loaded.discriminator.weight, model.discriminator.weight)

    custom = WithCritic(AEConfig(input_dim=(1, 8, 8), latent_dim=3), discriminator=nn.Linear(3, 1, bias=False))
    custom.save(tmp_path / "custom")
    with pytest.raises(CheckpointError, match="discriminator="):
        WithCritic.load_from_folder(tmp_path / "custom")
    again = WithCritic.load_from_folder(tmp_path / "custom", discriminator=nn.Linear(3, 1, bias=False))
    assert torch.equal(again.discriminator.weight, custom.discriminator.weight)
    with pytest.raises(Exception, match="critic"):
        WithCritic(AEConfig(input_dim=(1, 8, 8)), critic=nn.Linear(3, 1))
