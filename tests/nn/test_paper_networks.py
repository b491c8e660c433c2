"""The Pythae paper's benchmark networks (Tables 5-6 of arXiv:2206.08309), the any-size conv networks and
the ``NETWORKS`` factory."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from conftest import TINY_MODEL_KWARGS
from torch import nn

from gaekit.errors import ConfigError
from gaekit.models import MODELS, VAE
from gaekit.nn import (
    ENCODER_KINDS,
    NETWORKS,
    PAPER_INPUT_DIMS,
    VQ_LATENT_MAPS,
    ConvDecoder,
    ConvEncoder,
    EncoderOutput,
    MLPEncoder,
    ResBlock,
    create_network,
    encoder_kind,
)
from gaekit.nn.layers import probe_shape

DATASETS = list(PAPER_INPUT_DIMS)
LATENT = 5


def _x(dataset_or_dim, n=2, seed=0):
    dims = PAPER_INPUT_DIMS[dataset_or_dim] if isinstance(dataset_or_dim, str) else dataset_or_dim
    return torch.rand(n, *dims, generator=torch.Generator().manual_seed(seed))


def _describe(module: nn.Module) -> list[str]:
    """Layers in the notation of the paper's tables (padding modules left out)."""
    if isinstance(module, ResBlock):
        return ["ResBlock"]
    if isinstance(module, nn.ConvTranspose2d):
        return [f"ConvT({module.out_channels},{module.kernel_size[0]},{module.stride[0]})"]
    if isinstance(module, nn.Conv2d):
        return [f"Conv({module.out_channels},{module.kernel_size[0]},{module.stride[0]})"]
    if isinstance(module, nn.Linear):
        return [f"Linear({module.in_features},{module.out_features})"]
    if isinstance(module, nn.BatchNorm2d):
        return ["BN"]
    if isinstance(module, (nn.ReLU, nn.Tanh, nn.Sigmoid)):
        return [type(module).__name__]
    return [d for child in module.children() for d in _describe(child)]


def _encoder_layers(enc) -> str:
    return " ".join(_describe(enc.layers) + _describe(enc.head))


def _decoder_layers(dec) -> str:
    return " ".join(_describe(dec.input_layer) + _describe(dec.layers))


# -- the tables, transcribed (latent_dim = LATENT, variational: the encoder's Linear is doubled) ------------
CBR = "Conv({},4,2) BN ReLU"
CONVNET_ENCODER = " ".join(CBR.format(c) for c in (128, 256, 512, 1024)) + " Linear({},10)"
TABLE5 = {
    "mnist": (CONVNET_ENCODER.format(1024),
              # layer 4 is printed Conv(1, 3, 2); read as ConvT(1, 3, 2), the only way to reach 28x28
              "Linear(5,16384) ConvT(512,3,2) BN ReLU ConvT(256,3,2) BN ReLU ConvT(1,3,2)"),
    "cifar10": (CONVNET_ENCODER.format(4096),
                "Linear(5,65536) ConvT(512,4,2) BN ReLU ConvT(256,4,2) BN ReLU Conv(3,4,1)"),
    "celeba": (CONVNET_ENCODER.format(16384),
               "Linear(5,65536) ConvT(512,5,2) BN ReLU ConvT(256,5,2) BN ReLU ConvT(128,5,2) BN ReLU ConvT(3,5,1)"),
}
TABLE6 = {
    "mnist": ("Conv(64,4,2) Conv(128,4,2) Conv(128,3,2) ResBlock ResBlock Linear(2048,10)",
              "Linear(5,2048) ConvT(128,3,2) ResBlock ResBlock ReLU ConvT(64,3,2) ReLU ConvT(1,3,2)"),
    "cifar10": ("Conv(64,4,2) Conv(128,4,2) Conv(128,3,1) ResBlock ResBlock Linear(8192,10)",
                "Linear(5,8192) ResBlock ResBlock ConvT(64,4,2) ConvT(3,4,2)"),
    "celeba": ("Conv(64,4,2) Conv(128,4,2) Conv(128,3,2) Conv(128,3,2) ResBlock ResBlock Linear(2048,10)",
               "Linear(5,2048) ConvT(128,3,2) ResBlock ResBlock ConvT(128,5,2) Sigmoid ConvT(64,5,2) Sigmoid "
               "ConvT(3,4,2)"),
}


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("net, table", [("convnet", TABLE5), ("resnet", TABLE6)])
def test_layers_follow_the_tables(net, table, dataset):
    enc = create_network(net, dataset, "encoder", LATENT, kind="variational")
    dec = create_network(net, dataset, "decoder", LATENT, kind="variational")
    assert _encoder_layers(enc) == table[dataset][0]
    assert _decoder_layers(dec) == table[dataset][1]


@pytest.mark.parametrize("dataset", DATASETS)
def test_discriminator_follows_appendix_d(dataset):
    disc = create_network("convnet", dataset, "discriminator")
    flat = {"mnist": 1024, "cifar10": 4096, "celeba": 16384}[dataset]
    bn = " BN" if dataset == "celeba" else ""  # BatchNorm removed for MNIST and CIFAR-10, kept for CelebA
    expected = (f"Conv(128,4,2){bn} ReLU Conv(256,4,2){bn} Tanh Conv(512,4,2){bn} ReLU Conv(1024,4,2){bn} ReLU "
                f"Linear({flat},1)")
    assert " ".join(_describe(disc)) == expected
    x = _x(dataset)
    logit, features = disc.forward_with_features(x)
    assert logit.shape == (2, 1)
    assert torch.equal(disc(x), logit)
    assert [f.shape[1] for f in features] == [128, 256, 512, 1024]
    assert all(torch.equal(a, b) for a, b in zip(disc.features(x), features))
    # the paper's discriminator comes from Table 5 for both network families
    assert " ".join(_describe(create_network("resnet", dataset, "discriminator"))) == expected


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("net", ["convnet", "resnet", "conv"])
def test_shapes_every_network_dataset_kind(net, dataset):
    dims = PAPER_INPUT_DIMS[dataset]
    x = _x(dataset)
    decoders = {}  # the decoder depends on the kind only through 'vq' (a spatial latent map)
    for kind in ENCODER_KINDS:
        enc = create_network(net, dataset, "encoder", LATENT, kind=kind)
        with torch.no_grad():
            out, features = enc.forward_with_features(x)
        assert isinstance(out, EncoderOutput)
        if kind == "vq":
            h, w = VQ_LATENT_MAPS[net][dataset] if net != "conv" else (dims[1] // 8, dims[2] // 8)
            assert out.embedding.shape == (2, LATENT, h, w) == (2, *enc.latent_shape)
        else:
            assert out.embedding.shape == (2, LATENT)
        assert (out.log_covariance is not None) == (kind == "variational")
        assert (out.log_concentration is not None) == (kind == "hyperspherical")
        if kind == "variational":
            assert out.log_covariance.shape == (2, LATENT)
        if kind == "hyperspherical":
            assert out.log_concentration.shape == (2, 1)
        assert len(features) == len(enc.layers) and features[-1].shape[1:] == enc.feature_shape
        if kind not in ("variational", "vq"):
            continue
        dec = decoders[kind] = create_network(net, dataset, "decoder", LATENT, kind=kind)
        assert dec.latent_shape == enc.latent_shape
        with torch.no_grad():
            recon = dec(out.embedding)
            assert recon.shape == (2, *dims)
            assert torch.isfinite(recon).all()
            if kind == "vq":  # a flattened map is accepted too
                assert torch.equal(dec(out.embedding.flatten(1)), recon)
    flat = create_network(net, dataset, "decoder", LATENT, kind="deterministic")
    assert _decoder_layers(flat) == _decoder_layers(decoders["variational"])


@pytest.mark.parametrize("net", ["convnet", "resnet", "conv", "mlp"])
def test_decoders_return_logits(net):
    """The tables' final Sigmoid is the model's: decoders return unbounded pre-activations."""
    dec = create_network(net, "mnist", "decoder", LATENT)
    assert not isinstance(list(dec.modules())[-1], nn.Sigmoid)
    logits = dec(10 * torch.randn(8, LATENT, generator=torch.Generator().manual_seed(0)))
    assert logits.min() < 0 or logits.max() > 1


@pytest.mark.parametrize("net", ["convnet", "resnet", "conv", "mlp"])
def test_hyperspherical_embedding_has_unit_norm(net):
    enc = create_network(net, "mnist", "encoder", LATENT, kind="hyperspherical")
    out = enc(_x("mnist", n=4))
    assert torch.allclose(out.embedding.norm(dim=-1), torch.ones(4), atol=1e-5)
    assert out.log_concentration.shape == (4, 1)


@functools.cache
def _mnist_prototype(net: str, role: str, kind: str) -> nn.Module:
    """One built network per (net, role, kind), copied by the tests (building the ConvNet is the slow part)."""
    torch.manual_seed(0)
    return create_network(net, "mnist", role, 4, kind=kind)


@pytest.mark.parametrize("net", ["convnet", "resnet"])
@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_runs_with_the_paper_networks(name, net):
    model_cls = MODELS.get(name)
    kind = getattr(model_cls, "encoder_kind", "variational" if model_cls.variational else "deterministic")
    if kind not in ENCODER_KINDS:
        pytest.skip(f"{name} needs encoder kind {kind!r}; the paper networks build {ENCODER_KINDS}")
    assert encoder_kind(model_cls) == kind
    config = model_cls.config_class(input_dim=(1, 28, 28), latent_dim=4, **TINY_MODEL_KWARGS.get(name, {}))
    encoder = copy.deepcopy(_mnist_prototype(net, "encoder", kind))
    decoder = copy.deepcopy(_mnist_prototype(net, "decoder", kind))
    torch.manual_seed(0)
    model = model_cls(config, encoder=encoder, decoder=decoder)
    x = _x("mnist")
    out = model(x)
    assert torch.isfinite(out.loss)
    assert out.recon_x.shape == x.shape


def test_parameter_ratio_convnet_vs_resnet_mnist():
    """App. D: "The ConvNet architecture has approximately 20 times more parameters than the ResNet"
    (MNIST, latent dimension 16, encoder + decoder of a VAE)."""

    def count(net):
        return sum(p.numel() for role in ("encoder", "decoder")
                   for p in create_network(net, "mnist", role, 16, model=VAE).parameters())

    convnet, resnet = count("convnet"), count("resnet")
    ratio = convnet / resnet
    print(f"MNIST VAE, latent 16: ConvNet {convnet:,} parameters, ResNet {resnet:,}, ratio {ratio:.2f}")
    assert 15 < ratio < 30


@pytest.mark.parametrize("input_dim", [(1, 28, 28), (3, 37, 53), (3, 64, 64), (2, 9, 16)])
@pytest.mark.parametrize("kind", ["variational", "vq"])
def test_conv_round_trips_any_size(input_dim, kind):
    enc = ConvEncoder(input_dim, LATENT, kind=kind)
    dec = ConvDecoder(input_dim, LATENT, kind=kind)
    x = _x(input_dim)
    assert dec(enc(x).embedding).shape == x.shape
    disc = create_network("conv", input_dim, "discriminator")
    assert disc(x).shape == (2, 1) and len(disc.features(x)) == 3


def test_probe_shape_matches_a_real_forward():
    layers = [nn.Conv2d(3, 4, 3, 2, 1), nn.ZeroPad2d((1, 2, 0, 1)), nn.ConvTranspose2d(4, 2, 5, 2, 2, output_padding=1),
              ResBlock(2, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 10 * 13, 6)]
    assert probe_shape(layers, (3, 17, 19)) == nn.Sequential(*layers)(torch.zeros(1, 3, 17, 19)).shape[1:]


def test_conv_stage_count_is_configurable_and_checked():
    enc = ConvEncoder((1, 28, 28), LATENT, kind="vq", channels=(8, 8, 8, 8))
    assert enc.latent_shape == (LATENT, 1, 1)  # 28 -> 14 -> 7 -> 3 -> 1
    assert ConvDecoder((1, 28, 28), LATENT, channels=(8, 16))(torch.zeros(1, LATENT)).shape == (1, 1, 28, 28)
    with pytest.raises(ConfigError, match="at most 3"):
        ConvEncoder((1, 8, 8), LATENT, channels=(8, 8, 8, 8))
    with pytest.raises(ConfigError, match=r"\(C, H, W\)"):
        ConvEncoder((64,), LATENT)


def _locatello_parameter_count() -> tuple[int, int]:
    """Encoder and decoder parameters of Locatello et al. 2019's network (appendix Table 1), latent 10, 64x64x1,
    counted from the table's layers: 4x4 convolutions 1-32-32-64-64, FC 256, FC 2 x 10; the mirror back."""
    def convs(widths):
        return sum(cin * cout * 16 + cout for cin, cout in zip(widths[:-1], widths[1:]))

    encoder = convs((1, 32, 32, 64, 64)) + (64 * 4 * 4 * 256 + 256) + (256 * 20 + 20)
    decoder = (10 * 256 + 256) + (256 * 64 * 4 * 4 + 64 * 4 * 4) + convs((64, 64, 32, 32, 1))
    return encoder, decoder


def test_conv_dense_dim_builds_locatello_et_al_network():
    options = {"channels": (32, 32, 64, 64), "batch_norm": False, "dense_dim": 256}
    enc, dec = ConvEncoder((1, 64, 64), 10, **options), ConvDecoder((1, 64, 64), 10, **options)
    count = [sum(p.numel() for p in net.parameters()) for net in (enc, dec)]
    assert tuple(count) == _locatello_parameter_count()
    x = _x((1, 64, 64))
    z = enc(x).embedding
    assert z.shape == (2, 10) and dec(z).shape == x.shape
    assert enc.features(x)[-1].shape == (2, 256)  # the dense layer is the last body layer
    assert (dec.input_layer(z) >= 0).all()  # both fully connected layers end in a ReLU, as their table
    disc = create_network("conv", (1, 64, 64), "discriminator", dense_dim=32)
    assert disc(x).shape == (2, 1) and disc.features(x)[-1].shape == (2, 32)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "256"])
def test_conv_dense_dim_is_checked(bad):
    with pytest.raises(ConfigError, match="dense_dim"):
        ConvEncoder((1, 28, 28), LATENT, dense_dim=bad)
    with pytest.raises(ConfigError, match="dense_dim"):
        ConvDecoder((1, 28, 28), LATENT, dense_dim=bad)


def test_conv_dense_dim_refuses_vq():
    with pytest.raises(ConfigError, match="not available for kind='vq'"):
        ConvEncoder((1, 28, 28), LATENT, kind="vq", dense_dim=64)


def test_encoder_kind_follows_the_model():
    assert encoder_kind(VAE) == "variational" and encoder_kind(MODELS.get("AE")) == "deterministic"
    with pytest.raises(ConfigError, match="is a name; pass the model class"):  # nn does not look models up
        encoder_kind("VAE")

    class Spherical(VAE):
        encoder_kind = "hyperspherical"

    assert encoder_kind(Spherical) == "hyperspherical"
    enc = create_network("convnet", "mnist", "encoder", 4, model=Spherical)
    assert enc.kind == "hyperspherical"
    mlp = create_network("mlp", (1, 8, 8), "encoder", 4, model=MODELS.get("AE"))
    assert type(mlp) is MLPEncoder and not mlp.variational
    mlp_disc = create_network("mlp", (64,), "discriminator", hidden_dims=(16,))
    assert mlp_disc(torch.rand(3, 64)).shape == (3, 1) and len(mlp_disc.features(torch.rand(3, 64))) == 1
    # a model instance also gives the dataset and latent_dim
    model = VAE(VAE.config_class(input_dim=(3, 32, 32), latent_dim=7))
    enc = create_network("resnet", role="encoder", model=model)
    assert enc.kind == "variational" and enc(_x("cifar10")).embedding.shape == (2, 7)


def test_factory_errors_name_the_allowed_values():
    assert set(NETWORKS.names()) >= {"mlp", "conv", "convnet", "resnet"}
    with pytest.raises(ConfigError, match="registered networks: .*convnet.*resnet"):
        create_network("vgg", "mnist", "encoder", 4)
    with pytest.raises(ConfigError, match="'encoder', 'decoder', 'discriminator'"):
        create_network("convnet", "mnist", "generator", 4)
    with pytest.raises(ConfigError, match="'mnist' \\(1, 28, 28\\).*'cifar10'.*'celeba'"):
        create_network("convnet", (1, 8, 8), "encoder", 4)
    with pytest.raises(ConfigError, match="'mnist'.*'cifar10'.*'celeba'"):
        create_network("resnet", "svhn", "encoder", 4)
    with pytest.raises(ConfigError, match="'deterministic', 'variational', 'hyperspherical', 'vq'"):
        create_network("convnet", "mnist", "encoder", 4, kind="gaussian")
    with pytest.raises(ConfigError, match="contradicts"):
        create_network("convnet", "mnist", "encoder", 4, model=MODELS.get("AE"), kind="variational")
    # the MLP has no spatial map: for a VQ model its code is a flat vector (read as consecutive embeddings)
    flat = create_network("mlp", "mnist", "encoder", 4, kind="vq")
    assert type(flat) is MLPEncoder and not flat.variational
    with pytest.raises(ConfigError, match="latent_dim"):
        create_network("convnet", "mnist", "encoder")
    with pytest.raises(ConfigError, match="takes no options"):
        create_network("convnet", "mnist", "encoder", 4, channels=(8,))
