"""``gaekit.create_model``: one factory building any model from its name, config or config dict; the config's
``network`` / ``network_options`` are the whole recipe of its networks."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import TINY_MODEL_KWARGS
from hypothesis import given, settings
from hypothesis import strategies as st

from gaekit import create_model
from gaekit.errors import CheckpointError, ConfigError
from gaekit.models import MODELS, VAE, VAEGAN, AutoModel, VAEConfig
from gaekit.nn import MLPEncoder


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _seeded(build):
    torch.manual_seed(0)
    return build()


@pytest.mark.parametrize("name", MODELS.names())
def test_name_config_and_dict_build_the_same_model(name):
    fields = {"input_dim": (1, 8, 8), "latent_dim": 3, **TINY_MODEL_KWARGS.get(name, {})}
    by_name = _seeded(lambda: create_model(name, **fields))
    config = by_name.model_config
    assert type(by_name) is MODELS.get(name)
    assert _same_weights(by_name, _seeded(lambda: create_model(config)))
    assert _same_weights(by_name, _seeded(lambda: create_model(config.to_dict())))
    assert _same_weights(by_name, _seeded(lambda: create_model(json.loads(config.to_json_string()))))


def test_fields_are_set_on_a_given_config():
    model = create_model(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), latent_dim=5, network="conv",
                         network_options={"channels": (4,)})
    assert model.model_config.latent_dim == 5 and model.model_config.network_options == {"channels": [4]}
    assert type(model.encoder).__name__ == "ConvEncoder"


def test_custom_networks_are_given_by_part_name():
    encoder = MLPEncoder((1, 8, 8), 3, hidden_dims=(7,))
    model = create_model("VAE", input_dim=(1, 8, 8), latent_dim=3, encoder=encoder)
    assert model.encoder is encoder and model.custom_networks == {"encoder"}
    gan = create_model("VAEGAN", input_dim=(1, 8, 8), latent_dim=3, network="conv")
    assert isinstance(gan, VAEGAN) and type(gan.discriminator).__name__ == "ConvDiscriminator"


@pytest.mark.parametrize("call, named", [
    (lambda: create_model("NoSuchModel"), "unknown model 'NoSuchModel'"),
    (lambda: create_model(3), "expected a registered model name"),
    (lambda: create_model({"latent_dim": 3}), "needs its model's \"name\""),
    (lambda: create_model("VAE", input_dim=(1, 8, 8), critic=torch.nn.Linear(2, 2)), "critic"),
    (lambda: create_model("VAE", input_dim=(1, 8, 8), network="nosuchnet"), "unknown network 'nosuchnet'"),
    (lambda: create_model("VAE", input_dim=(1, 8, 8), network_options={"channels": [4]}), "channels"),
    (lambda: create_model("VAE", input_dim=(1, 8, 8), network_options={"hidden_dims": object()}),
     "network_options"),
    (lambda: create_model("VAE", input_dim=(1, 8, 8), network="convnet"), "convnet"),
    (lambda: create_model("PoincareVAE", input_dim=(1, 8, 8), network="conv", decoder_first_layer="gyroplane"),
     "gyroplane"),
])
def test_bad_recipes_are_config_errors_naming_the_bad_part(call, named):
    with pytest.raises(ConfigError, match=named):
        call()


def test_the_saved_folder_holds_the_recipe_in_config_json_only(tmp_path):
    model = _seeded(lambda: create_model("VAE", input_dim=(1, 8, 8), latent_dim=3, network="conv",
                                         network_options={"channels": [4, 8], "batch_norm": True}))
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (config["network"], config["network_options"]) == ("conv", {"channels": [4, 8], "batch_norm": True})
    meta = json.loads((tmp_path / "m" / "gaekit.json").read_text())
    assert not any("network" in key for key in meta) and meta["custom_encoder"] is None
    assert _same_weights(AutoModel.load_from_folder(tmp_path / "m"), model)


def test_a_hand_built_network_is_custom_and_must_be_given_again(tmp_path):
    encoder = MLPEncoder((1, 8, 8), 3, hidden_dims=(7,))
    VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), encoder=encoder).save(tmp_path / "m")
    with pytest.raises(CheckpointError, match=r"custom encoder \(gaekit.nn.mlp.MLPEncoder\)"):
        AutoModel.load_from_folder(tmp_path / "m")
    assert AutoModel.load_from_folder(tmp_path / "m", encoder=MLPEncoder((1, 8, 8), 3, hidden_dims=(7,)))


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(widths=st.lists(st.integers(1, 12), min_size=1, max_size=3), tuple_options=st.booleans())
def test_network_options_round_trip_exactly_through_json(widths, tuple_options):
    """Options are stored as JSON values, so a config equals itself read back, and so do the models."""
    hidden = tuple(widths) if tuple_options else list(widths)
    config = VAEConfig(input_dim=(5,), latent_dim=2, network_options={"hidden_dims": hidden})
    back = VAEConfig.from_dict(json.loads(config.to_json_string()))
    assert back == config and back.network_options == {"hidden_dims": list(widths)}
    model = _seeded(lambda: create_model(config))
    assert [m.out_features for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][:len(widths)] == \
        list(widths)
