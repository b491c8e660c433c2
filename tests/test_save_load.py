"""Saved model folders: the format, custom networks, and refusal of pickles and tampered files."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from torch import nn

from gaekit.errors import CheckpointError, ConfigError, UnsafeLoadError
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


def test_truncated_file_whose_checksum_was_updated_is_still_refused(saved):
    from gaekit.serialization import sha256_file

    _, folder = saved
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    meta = json.loads((folder / "gaekit.json").read_text())
    meta["sha256"]["model.safetensors"] = sha256_file(weights)
    (folder / "gaekit.json").write_text(json.dumps(meta))
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
def test_the_network_in_the_config_is_rebuilt_at_load_without_user_code(net, tmp_path):
    from gaekit import create_model

    torch.manual_seed(0)
    model = create_model("VAE", input_dim=(1, 28, 28), latent_dim=4, network=net)
    model.save(tmp_path / net)
    assert json.loads((tmp_path / net / "config.json").read_text())["network"] == net
    loaded = AutoModel.load_from_folder(tmp_path / net)
    assert type(loaded.encoder) is type(model.encoder) and not loaded.custom_networks
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


# -- hand-corrupted metadata: every malformed field is a CheckpointError naming the file and the field --
def _corrupt(folder, file, **fields):
    path = folder / file
    data = json.loads(path.read_text())
    for key, value in fields.items():
        if value is _DROP:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


_DROP = object()
_HEX = "0" * 64
MODEL_META_CORRUPTIONS = [
    ({"sha256": "abc"}, "sha256"),
    ({"sha256": ["x"]}, "sha256"),
    ({"sha256": {}}, "sha256"),
    ({"sha256": _DROP}, "sha256"),
    ({"sha256": {"model.safetensors": "f" * 63}}, "sha256"),
    ({"sha256": {"model.safetensors": "G" * 64}}, "sha256"),
    ({"sha256": {"model.safetensors": 12}}, "sha256"),
    ({"sha256": {"model.safetensors": _HEX, "other": None}}, "sha256"),
    ({"model_name": 5}, "model_name"),
    ({"model_name": ["VAE"]}, "model_name"),
    ({"model_name": "NoSuchModel"}, "model_name"),
    ({"format_version": "1"}, "format_version"),
    ({"format_version": True}, "format_version"),
    ({"format_version": None}, "format_version"),
    ({"format_version": _DROP}, "format_version"),
    ({"format_version": 99}, "newer gaekit"),
    ({"gaekit_version": 1.0}, "gaekit_version"),
    ({"encoder_network": "conv"}, "encoder_network"),
    ({"encoder_network": [1, 2]}, "encoder_network"),
    ({"encoder_network": {"name": 3}}, "saved network"),
    ({"encoder_network": {"name": "nosuchnet"}}, "saved network"),
    ({"encoder_network": {"name": "mlp", "dataset": [1, 8, 8], "bogus": 1}}, "saved network"),
    ({"encoder_network": {"name": "mlp", "dataset": "x", "latent_dim": 3}}, "saved network"),
    ({"decoder_network": {"name": "mlp", "dataset": [1, 8, 8], "role": "decoder", "latent_dim": "3"}},
     "saved network"),
    ({"custom_encoder": 7}, "custom_encoder"),
    ({"custom_decoder": {"a": 1}}, "custom_decoder"),
]


@pytest.mark.parametrize("fields, named", MODEL_META_CORRUPTIONS)
def test_malformed_model_metadata_is_a_checkpoint_error(saved, fields, named):
    _, folder = saved
    _corrupt(folder, "gaekit.json", **fields)
    with pytest.raises(CheckpointError, match=named) as err:
        AutoModel.load_from_folder(folder)
    assert "gaekit.json" in str(err.value) or "saved network" in str(err.value)


@pytest.mark.parametrize("content", ["[1, 2]", "null", "3", '"VAE"'])
def test_metadata_that_is_not_an_object_is_a_checkpoint_error(saved, content):
    _, folder = saved
    (folder / "gaekit.json").write_text(content)
    with pytest.raises(CheckpointError, match="gaekit.json"):
        AutoModel.load_from_folder(folder)


@pytest.mark.parametrize("fields, named", [
    ({"latent_dim": "3"}, "latent_dim"), ({"latent_dim": -1}, "latent_dim"), ({"input_dim": [0, 8]}, "input_dim"),
    ({"input_dim": "1x8x8"}, "input_dim"), ({"bogus": 1}, "bogus"), ({"name": "AE"}, "AE"),
    ({"reconstruction_loss": "l1"}, "reconstruction_loss"),
])
def test_malformed_model_config_is_a_checkpoint_error(saved, fields, named):
    _, folder = saved
    _corrupt(folder, "config.json", **fields)
    with pytest.raises(CheckpointError, match=named) as err:
        AutoModel.load_from_folder(folder)
    assert "config.json" in str(err.value)


def _fitted_sampler_dir(tmp_path):
    from gaekit.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3))
    sampler = GaussianMixtureSampler(model, GaussianMixtureSamplerConfig(num_components=2))
    sampler.fit(torch.rand(20, 1, 8, 8))
    return model, sampler.save(tmp_path / "s")


@pytest.mark.parametrize("fields, named", [
    ({"sampler_name": 3}, "sampler_name"), ({"sampler_name": "NoSuchSampler"}, "NoSuchSampler"),
    ({"model_name": 1}, "model_name"), ({"input_dim": "x"}, "input_dim"), ({"input_dim": [1, -8]}, "input_dim"),
    ({"latent_dim": -1}, "latent_dim"), ({"latent_dim": 2.5}, "latent_dim"), ({"latent_dim": _DROP}, "latent_dim"),
    ({"sha256": None}, "sha256"), ({"sha256": {"sampler.safetensors": "x"}}, "sha256"),
    ({"sha256": {"model.safetensors": _HEX}}, "sha256"), ({"format_version": "one"}, "format_version"),
])
def test_malformed_sampler_metadata_is_a_checkpoint_error(tmp_path, fields, named):
    from gaekit.samplers import BaseSampler

    model, folder = _fitted_sampler_dir(tmp_path)
    _corrupt(folder, "gaekit.json", **fields)
    with pytest.raises(CheckpointError, match=named):
        BaseSampler.load_from_folder(folder, model)


@pytest.mark.parametrize("fields", [{"num_components": "2"}, {"num_components": 0}, {"bogus": True}])
def test_malformed_sampler_config_is_a_checkpoint_error(tmp_path, fields):
    from gaekit.samplers import BaseSampler

    model, folder = _fitted_sampler_dir(tmp_path)
    _corrupt(folder, "sampler_config.json", **fields)
    with pytest.raises(CheckpointError, match="sampler_config.json"):
        BaseSampler.load_from_folder(folder, model)


# -- nothing is allocated from an untrusted config before it is checked against the weights' header ----
HUGE = 1 << 40


@pytest.mark.parametrize("fields", [{"latent_dim": HUGE}, {"input_dim": [1, HUGE, 8]}, {"latent_dim": 5000},
                                    {"input_dim": [1, 64, 64]}])
def test_a_config_that_does_not_fit_the_weights_is_refused_before_allocating(saved, fields, monkeypatch):
    """Checked on the meta device against the weights file's header: no real tensor is built."""
    _, folder = saved
    _corrupt(folder, "config.json", **fields)
    real_empty, sizes = torch.empty, []

    def recording_empty(*args, **kwargs):
        out = real_empty(*args, **kwargs)
        if out.device.type != "meta":
            sizes.append(out.numel())
        return out

    monkeypatch.setattr(torch, "empty", recording_empty)
    with pytest.raises(CheckpointError, match="do not fit|would need") as err:
        AutoModel.load_from_folder(folder)
    assert "config.json" in str(err.value) or "encoder." in str(err.value)
    assert sum(sizes) < 10_000  # nothing of the size the config asks for was allocated


@pytest.mark.parametrize("hidden", [[HUGE, HUGE], [HUGE], [5000]])
def test_network_options_that_do_not_fit_the_weights_are_refused_before_allocating(tmp_path, hidden):
    torch.manual_seed(0)
    VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3, network_options={"hidden_dims": [16]})).save(tmp_path / "m")
    AutoModel.load_from_folder(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["network_options"]["hidden_dims"] = hidden
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    expected = r"wrong shape \['encoder\.body" if hidden == [5000] else "meta device|would need"
    with pytest.raises(CheckpointError, match=expected):
        AutoModel.load_from_folder(tmp_path / "m")


def test_a_custom_network_of_another_size_is_reported_by_key(tmp_path):
    torch.manual_seed(0)
    VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), encoder=TinyEncoder()).save(tmp_path / "custom")
    wider = TinyEncoder()
    wider.net = nn.Linear(64, 8)
    with pytest.raises(CheckpointError, match="encoder.net.weight"):
        AutoModel.load_from_folder(tmp_path / "custom", encoder=wider)


# -- loading the wrong kind of folder says which folder to pass -----------------------------------------
def test_a_run_folder_points_to_its_final_model(saved, tmp_path):
    model, _ = saved
    run = tmp_path / "VAE_training_1"
    model.save(run / "final_model")
    (run / "history.json").write_text("[]")
    with pytest.raises(CheckpointError, match="final_model") as err:
        AutoModel.load_from_folder(run)
    assert str(run / "final_model") in str(err.value) and "run folder" in str(err.value)


def test_a_checkpoint_says_how_to_resume_it(saved, tmp_path):
    from gaekit.trainers.checkpoint import write_checkpoint

    model, _ = saved
    ckpt = tmp_path / "run" / "checkpoint_epoch_1"
    write_checkpoint(ckpt, model_state=model.state_dict(), best_state=model.state_dict(), state={"x": 1},
                     configs={"config": model.model_config})
    for folder in (ckpt, ckpt.parent):
        with pytest.raises(CheckpointError, match="Trainer.from_checkpoint") as err:
            AutoModel.load_from_folder(folder)
        assert "--resume" in str(err.value)
    with pytest.raises(CheckpointError, match="best_model"):
        AutoModel.load_from_folder(ckpt)


def test_a_sampler_folder_and_a_model_folder_say_what_they_are(tmp_path):
    from gaekit.samplers import BaseSampler

    model, sampler_dir = _fitted_sampler_dir(tmp_path)
    model_dir = model.save(tmp_path / "m")
    with pytest.raises(CheckpointError, match=r"sampler folder.*BaseSampler.load_from_folder"):
        AutoModel.load_from_folder(sampler_dir)
    with pytest.raises(CheckpointError, match=r"model folder.*AutoModel.load_from_folder"):
        BaseSampler.load_from_folder(model_dir, model)


@pytest.mark.parametrize("hidden_size", [HUGE, 64])
def test_a_trained_sampler_config_that_does_not_fit_its_weights_is_refused(tmp_path, hidden_size):
    from gaekit.samplers import BaseSampler, MAFSampler, MAFSamplerConfig

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3))
    sampler = MAFSampler(model, MAFSamplerConfig(num_epochs=1, hidden_size=16, show_progress=False))
    folder = sampler.fit(torch.rand(30, 1, 8, 8)).save(tmp_path / "maf")
    assert BaseSampler.load_from_folder(folder, model).density is not None
    _corrupt(folder, "sampler_config.json", hidden_size=hidden_size)
    with pytest.raises(CheckpointError, match="do not fit|would need|describes no valid"):
        BaseSampler.load_from_folder(folder, model)


def test_a_buffer_sized_by_the_data_loads(tmp_path):
    """RHVAE's metric buffers are empty when built and hold one row per centroid after training."""
    from conftest import tiny_model

    model = tiny_model("RHVAE")
    d = model.latent_dim
    for name, shape in [("centroids", (5, d)), ("metric_matrices", (5, d, d)), ("last_batch_centroids", (5, d)),
                        ("last_batch_matrices", (5, d, d))]:
        setattr(model, name, torch.randn(shape))
    model.save(tmp_path / "rhvae")
    loaded = AutoModel.load_from_folder(tmp_path / "rhvae")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    _corrupt(tmp_path / "rhvae", "config.json", latent_dim=d + 1)
    with pytest.raises(CheckpointError, match="centroids"):
        AutoModel.load_from_folder(tmp_path / "rhvae")


# -- bad arguments to save / load (issue 13) ---------------------------------------------------------
@pytest.mark.parametrize("part", ["encoder", "decoder"])
def test_a_network_that_is_not_a_module_is_refused_at_construction(part):
    with pytest.raises(ConfigError, match=f"{part}=.*torch.nn.Module.*got str"):
        VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), **{part: "mlp"})


def test_a_network_that_is_not_a_module_is_refused_when_loading(saved):
    _, folder = saved
    with pytest.raises(ConfigError, match="encoder=.*got str"):
        AutoModel.load_from_folder(folder, encoder="mlp")


def test_a_vae_with_a_deterministic_encoder_names_the_encoder():
    from gaekit.nn import create_network

    encoder = create_network("mlp", dataset=(1, 8, 8), role="encoder", latent_dim=3, model=AE)
    model = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), encoder=encoder)
    with pytest.raises(ConfigError, match="encoder .* returned no log_covariance"):
        model(torch.rand(4, 1, 8, 8))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_weights_holding_nan_or_inf_are_refused(saved, value):
    from safetensors.torch import load_file, save_file

    from gaekit.serialization import sha256_file

    _, folder = saved
    tensors = load_file(str(folder / "model.safetensors"))
    key = sorted(tensors)[0]
    tensors[key][0] = value
    save_file(tensors, str(folder / "model.safetensors"))
    meta = json.loads((folder / "gaekit.json").read_text())
    meta["sha256"]["model.safetensors"] = sha256_file(folder / "model.safetensors")
    (folder / "gaekit.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=f"non-finite.*{key}"):
        AutoModel.load_from_folder(folder)


def test_load_weights_reports_the_mismatch_through_check_shapes(saved):
    model, _ = saved
    state = dict(model.state_dict())
    key = sorted(state)[0]
    state[key] = torch.zeros(2, 2)
    with pytest.raises(CheckpointError, match=rf"wrong shape \['{key} \(2, 2\) \(expected"):
        model.load_weights(state, source="here")


@pytest.mark.parametrize("folder", [None, 123])
def test_loading_from_something_that_is_not_a_path_is_a_config_error(folder):
    with pytest.raises(ConfigError, match=f"folder={folder}.*expected a path"):
        AutoModel.load_from_folder(folder)


@pytest.mark.parametrize("folder, named", [(123, "123"), ("", "''"), (".", "'.'")])
def test_saving_to_something_that_is_not_a_folder_name_is_a_config_error(saved, tmp_path, monkeypatch, folder,
                                                                         named):
    model, _ = saved
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(ConfigError, match=f"folder={named}"):
        model.save(folder)
    assert sorted(tmp_path.rglob("*")) == before


def test_saving_with_a_training_config_that_is_not_a_config_is_refused(saved, tmp_path):
    model, _ = saved
    with pytest.raises(ConfigError, match="training_config=.*got dict"):
        model.save(tmp_path / "new", training_config={"num_epochs": 1})
    assert not (tmp_path / "new").exists()


def test_saving_under_a_regular_file_names_the_file(saved, tmp_path):
    model, _ = saved
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(CheckpointError, match="afile above it is a file"):
        model.save(tmp_path / "afile" / "sub" / "model")
    assert (tmp_path / "afile").read_text() == "mine"
