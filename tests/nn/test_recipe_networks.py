"""The networks of the reproduced papers: the VampPrior's gated MLP (``"gated_mlp"``, Tomczak and Welling 2018)
and the ``"mlp"`` options (activation, decoder widths and activation, initialisation) that give the VAE, IWAE,
S-VAE, P-VAE, HVAE and beta-TC-VAE MLPs."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import TINY_MODEL_KWARGS, tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gaekit.errors import ConfigError
from gaekit.models import MODELS, AutoModel
from gaekit.nn import ENCODER_KINDS, MLPEncoder, create_network, encoder_kind
from gaekit.nn.activations import ACTIVATIONS, INITS, init_linear_layers
from gaekit.nn.gated import GatedDense

HYPOTHESIS = dict(deadline=None, derandomize=True, database=None)
MNIST = (1, 28, 28)


def _describe(module: nn.Module) -> list[str]:
    """The layers in order, as ``Gated(in,out)``, ``Linear(in,out)`` and activation names."""
    if isinstance(module, GatedDense):
        return [f"Gated({module.h.in_features},{module.h.out_features})"]
    if isinstance(module, nn.Linear):
        return [f"Linear({module.in_features},{module.out_features})"]
    if isinstance(module, tuple(ACTIVATIONS.values())):
        return [type(module).__name__]
    return [d for child in module.children() for d in _describe(child)]


def _layers(net: nn.Module) -> str:
    return " ".join(_describe(net))


# -- the papers' architectures, transcribed --------------------------------------------------------------

PAPER_NETWORKS = [
    # (network, options, latent_dim, encoder layers, decoder layers)
    ("gated_mlp", {}, 40,  # VampPrior, Sec. 4: two gated layers of 300 units each side, latent 40
     "Gated(784,300) Gated(300,300) Linear(300,80)", "Gated(40,300) Gated(300,300) Linear(300,784)"),
    ("mlp", {"hidden_dims": [400]}, 40,  # the VAE row: 784-400-40, ReLU
     "Linear(784,400) ReLU Linear(400,80)", "Linear(40,400) ReLU Linear(400,784)"),
    ("mlp", {"hidden_dims": [200, 200], "activation": "tanh", "init": "glorot_uniform"}, 50,  # Burda et al. Sec. 5
     "Linear(784,200) Tanh Linear(200,200) Tanh Linear(200,100)",
     "Linear(50,200) Tanh Linear(200,200) Tanh Linear(200,784)"),
    ("mlp", {"hidden_dims": [300], "activation": "softplus"}, 64,  # HVAE: one softplus layer of 300
     "Linear(784,300) Softplus Linear(300,128)", "Linear(64,300) Softplus Linear(300,784)"),
    ("mlp", {"hidden_dims": [600]}, 10,  # P-VAE: one layer of 600
     "Linear(784,600) ReLU Linear(600,20)", "Linear(10,600) ReLU Linear(600,784)"),
    ("mlp", {"hidden_dims": [1200, 1200], "decoder_hidden_dims": [1200, 1200, 1200],  # beta-TC-VAE, dSprites
             "decoder_activation": "tanh"}, 10,
     "Linear(784,1200) ReLU Linear(1200,1200) ReLU Linear(1200,20)",
     "Linear(10,1200) Tanh Linear(1200,1200) Tanh Linear(1200,1200) Tanh Linear(1200,784)"),
]


@pytest.mark.parametrize(("net", "options", "latent", "encoder", "decoder"), PAPER_NETWORKS)
def test_the_papers_networks_are_their_options(net, options, latent, encoder, decoder):
    with torch.device("meta"):  # shapes only: nothing allocated
        assert _layers(create_network(net, MNIST, "encoder", latent, kind="variational", **options)) == encoder
        assert _layers(create_network(net, MNIST, "decoder", latent, kind="variational", **options)) == decoder


def test_the_s_vae_mlp_mirrors_its_widths_and_has_a_concentration_head():
    """Davidson et al. 2018: 256-128 encoder, 128-256 decoder, ReLU; the head gives the mean direction and one
    log-concentration (``latent_dim + 1`` outputs)."""
    options = {"hidden_dims": [256, 128], "decoder_hidden_dims": [128, 256]}
    enc = create_network("mlp", MNIST, "encoder", 11, kind="hyperspherical", **options)
    dec = create_network("mlp", MNIST, "decoder", 11, kind="hyperspherical", **options)
    assert _layers(enc) == "Linear(784,256) ReLU Linear(256,128) ReLU Linear(128,12)"
    assert _layers(dec) == "Linear(11,128) ReLU Linear(128,256) ReLU Linear(256,784)"
    out = enc(torch.rand(4, *MNIST))
    assert torch.allclose(out.embedding.norm(dim=-1), torch.ones(4)) and out.log_concentration.shape == (4, 1)


# -- the gated layer and the bounded log-variance ------------------------------------------------------------

@settings(max_examples=20, **HYPOTHESIS)
@given(fan_in=st.integers(1, 9), fan_out=st.integers(1, 9), batch=st.integers(1, 5), seed=st.integers(0, 99))
def test_gated_dense_is_a_linear_map_gated_by_a_sigmoid(fan_in, fan_out, batch, seed):
    """``h(x) = (W x + b) * sigmoid(V x + c)`` (Dauphin et al. 2017, Eq. 1)."""
    torch.manual_seed(seed)
    layer, x = GatedDense(fan_in, fan_out), torch.randn(batch, fan_in)
    w, b, v, c = layer.h.weight, layer.h.bias, layer.g.weight, layer.g.bias
    expected = (x @ w.T + b) / (1 + torch.exp(-(x @ v.T + c)))
    torch.testing.assert_close(layer(x), expected)


@settings(max_examples=20, **HYPOTHESIS)
@given(low=st.floats(-8, 0), width=st.floats(0.1, 6), shift=st.floats(-20, 20))
def test_the_log_variance_stays_in_its_bounds(low, width, shift):
    bounds = [low, low + width]
    torch.manual_seed(0)
    enc = create_network("gated_mlp", (6,), "encoder", 3, kind="variational", hidden_dims=[5],
                         log_var_bounds=bounds)
    x = torch.randn(7, 6)
    with torch.no_grad():
        enc.head.proj.bias += shift  # push the raw log-variances out of range
        log_var = enc(x).log_covariance
        raw = enc.head.proj(enc.layers[0](x)).chunk(2, -1)[1]
    torch.testing.assert_close(log_var, raw.clamp(*bounds))


def test_without_bounds_the_log_variance_is_the_heads_output():
    torch.manual_seed(0)
    enc = create_network("gated_mlp", (6,), "encoder", 3, kind="variational", hidden_dims=[5], log_var_bounds=None)
    x = torch.randn(4, 6)
    with torch.no_grad():
        enc.head.proj.bias += 50.0
        assert (enc(x).log_covariance > 2).all()  # beyond the default bound, so nothing clipped it


@pytest.mark.parametrize("kind", ENCODER_KINDS)
def test_gated_mlp_builds_every_encoder_kind_and_role(kind):
    x = torch.rand(3, 1, 8, 8)
    enc = create_network("gated_mlp", (1, 8, 8), "encoder", 4, kind=kind, hidden_dims=[6, 5])
    dec = create_network("gated_mlp", (1, 8, 8), "decoder", 4, kind=kind, hidden_dims=[6, 5])
    disc = create_network("gated_mlp", (1, 8, 8), "discriminator", hidden_dims=[6, 5])
    out = enc(x)
    assert out.embedding.shape == (3, 4)
    assert (out.log_covariance is not None) == (kind == "variational")
    assert (out.log_concentration is not None) == (kind == "hyperspherical")
    assert dec(torch.randn(3, 4)).shape == x.shape and disc(x).shape == (3, 1)
    assert [f.shape[-1] for f in enc.features(x)] == [6, 5] and len(disc.features(x)) == 2


# -- the "mlp" options ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("role", ["encoder", "decoder", "discriminator"])
def test_mlp_activation_is_used_between_every_pair_of_layers(activation, role):
    net = create_network("mlp", (5,), role, 2 if role != "discriminator" else None, activation=activation,
                         hidden_dims=[4, 3])
    names = _layers(net).split()
    assert names.count(ACTIVATIONS[activation].__name__) == 2 and len(names) == 5


def test_mlp_without_options_is_the_former_network():
    """Defaults keep what gaekit built before the options existed: ReLU, torch's initialisation."""
    torch.manual_seed(3)
    new = create_network("mlp", (1, 8, 8), "encoder", 3, kind="variational", hidden_dims=[7])
    torch.manual_seed(3)
    old = MLPEncoder((1, 8, 8), 3, hidden_dims=(7,))
    assert _layers(new) == "Linear(64,7) ReLU Linear(7,6)"
    assert all(torch.equal(a, b) for a, b in zip(new.state_dict().values(), old.state_dict().values()))


def test_glorot_uniform_draws_in_its_bound_with_zero_bias():
    torch.manual_seed(0)
    layer = init_linear_layers(nn.Sequential(nn.Linear(400, 300)), "glorot_uniform")[0]
    bound = math.sqrt(6 / 700)
    assert layer.weight.abs().max() <= bound and torch.count_nonzero(layer.bias) == 0
    # U(-a, a) has variance a^2 / 3: 120000 draws put the sample variance within 2% of it
    assert layer.weight.var().item() == pytest.approx(bound**2 / 3, rel=0.02)


def test_he_normal_draws_with_variance_two_over_fan_in():
    torch.manual_seed(0)
    layer = nn.Linear(400, 300)
    bias = layer.bias.detach().clone()
    init_linear_layers(layer, "he_normal")
    assert layer.weight.mean().abs() < 0.01 and layer.weight.var().item() == pytest.approx(2 / 400, rel=0.02)
    assert torch.equal(layer.bias, bias)  # the VampPrior code leaves biases as built


@pytest.mark.parametrize("init", INITS)
def test_an_initialisation_is_seeded(init):
    def build():
        torch.manual_seed(5)
        return create_network("gated_mlp", (6,), "decoder", 2, hidden_dims=[4], init=init)

    assert all(torch.equal(a, b) for a, b in zip(build().state_dict().values(), build().state_dict().values()))


BAD_OPTIONS = [
    ("mlp", {"activation": "gelu"}, "activation='gelu'"),
    ("mlp", {"activation": 1}, "activation=1"),
    ("mlp", {"decoder_activation": "swish"}, "decoder_activation='swish'"),
    ("mlp", {"decoder_hidden_dims": [3, 0]}, r"decoder_hidden_dims\[1\]"),
    ("mlp", {"decoder_hidden_dims": "64"}, "decoder_hidden_dims='64'"),
    ("mlp", {"init": "xavier"}, "init='xavier'"),
    ("gated_mlp", {"init": None}, "init=None"),
    ("gated_mlp", {"hidden_dims": []}, "at least one gated layer"),
    ("gated_mlp", {"decoder_hidden_dims": []}, "at least one gated layer"),
    ("gated_mlp", {"log_var_bounds": [2, -6]}, "log_var_bounds"),
    ("gated_mlp", {"log_var_bounds": [float("nan"), 1]}, "log_var_bounds"),
    ("gated_mlp", {"log_var_bounds": [0, math.inf]}, "log_var_bounds"),
    ("gated_mlp", {"log_var_bounds": [-1, 0, 1]}, "log_var_bounds"),
    ("gated_mlp", {"log_var_bounds": "[-6, 2]"}, "log_var_bounds"),
    ("gated_mlp", {"log_var_bounds": [True, 2]}, "log_var_bounds"),
    ("gated_mlp", {"activation": "relu"}, "accepted options are"),
]


@pytest.mark.parametrize("role", ["encoder", "decoder", "discriminator"])
@pytest.mark.parametrize(("net", "options", "named"), BAD_OPTIONS)
def test_bad_options_are_config_errors_whichever_network_is_built(net, options, named, role):
    with pytest.raises(ConfigError, match=named):
        create_network(net, (4,), role, 2 if role != "discriminator" else None, **options)


# -- models built with the networks: every model runs, and saves and loads from its config -------------------------

@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_runs_with_the_gated_mlp(name):
    try:
        model = tiny_model(name, network="gated_mlp", network_options={"hidden_dims": [6, 5]})
    except ConfigError as err:  # a model whose encoder kind the network has no head for
        assert encoder_kind(MODELS.get(name)) not in ENCODER_KINDS, err
        pytest.skip(str(err))
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = model(x)
    assert torch.isfinite(out.loss) and out.recon_x.shape == x.shape


RECIPE_MODELS = [
    ("VAE", "mlp", {"hidden_dims": [5]}, {}),
    ("VAMP", "gated_mlp", {"hidden_dims": [6, 5], "log_var_bounds": [-6.0, 2.0]}, {}),
    ("VAE", "gated_mlp", {"hidden_dims": [5], "decoder_hidden_dims": [4], "log_var_bounds": None, "init": "torch"}, {}),
    ("IWAE", "mlp", {"hidden_dims": [5, 5], "activation": "tanh", "init": "glorot_uniform"}, {}),
    ("MIWAE", "mlp", {"hidden_dims": [5, 5], "activation": "tanh"}, {}),
    ("PIWAE", "mlp", {"hidden_dims": [5, 5], "activation": "tanh"}, {}),
    ("CIWAE", "mlp", {"hidden_dims": [5, 5], "activation": "tanh"}, {}),
    ("HVAE", "mlp", {"hidden_dims": [6], "activation": "softplus"}, {}),
    ("SVAE", "mlp", {"hidden_dims": [6, 4], "decoder_hidden_dims": [4, 6]}, {}),
    ("PoincareVAE", "mlp", {"hidden_dims": [6]}, {"decoder_first_layer": "gyroplane", "curvature": 0.7}),
    ("BetaTCVAE", "mlp", {"hidden_dims": [6, 6], "decoder_hidden_dims": [6, 6, 6], "decoder_activation": "tanh"}, {}),
]


def _state_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize(("name", "net", "options", "fields"), RECIPE_MODELS)
def test_a_recipe_model_saves_and_loads_from_its_config(tmp_path, name, net, options, fields):
    model = tiny_model(name, network=net, network_options=options, **fields)
    model.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert (saved["network"], saved["network_options"]) == (net, options)
    loaded = AutoModel.load_from_folder(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.model_config == model.model_config
    assert _state_equal(loaded, model)
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(loaded.reconstruct(x), model.reconstruct(x))


def test_the_gyroplane_decoder_keeps_the_mlp_activation():
    """P-VAE's decoder (Mathieu et al. 2019, Sec. 3.2): a gyroplane layer, then the MLP's activation."""
    model = tiny_model("PoincareVAE", network_options={"hidden_dims": [6], "activation": "tanh"},
                       decoder_first_layer="gyroplane", **TINY_MODEL_KWARGS.get("PoincareVAE", {}))
    assert [type(m).__name__ for m in model.decoder.body] == ["GyroplaneLayer", "Tanh"]
