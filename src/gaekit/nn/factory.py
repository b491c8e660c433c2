"""``NETWORKS`` registry and ``create_network``: build an encoder, decoder or discriminator by name.

Registered networks:

- ``"mlp"``: the default ``MLPEncoder`` / ``MLPDecoder`` (any ``input_dim``); options ``hidden_dims``,
  ``activation``, ``decoder_hidden_dims``, ``decoder_activation``, ``init`` (the papers' MLPs, see ``build_mlp``);
- ``"gated_mlp"``: the VampPrior paper's gated MLP (Tomczak and Welling 2018, ``gaekit.nn.gated``); options
  ``hidden_dims``, ``decoder_hidden_dims``, ``log_var_bounds``, ``init``;
- ``"conv"``: ``ConvEncoder`` / ``ConvDecoder`` / ``ConvDiscriminator`` (images of any size); options
  ``channels``, ``batch_norm``, ``dense_dim``;
- ``"convnet"``, ``"resnet"``: the Pythae paper's benchmark networks (Tables 5 and 6 of Chadebec et al.
  2022, arXiv:2206.08309) for MNIST, CIFAR-10 and CelebA. The paper's VAEGAN discriminator is built
  from Table 5 for both (Appendix D), so ``role="discriminator"`` gives ``ConvNetDiscriminator`` for
  ``"resnet"`` too.

A builder registered here is called as ``builder(input_dim, role, latent_dim, kind, **options)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from gaekit.errors import ConfigError
from gaekit.nn.activations import check_activation, check_init, init_linear_layers
from gaekit.nn.base import check_build_memory
from gaekit.nn.conv import ConvDecoder, ConvDiscriminator, ConvEncoder
from gaekit.nn.gated import (
    GatedMLPDecoder,
    GatedMLPEncoder,
    check_gated_widths,
    check_log_var_bounds,
    gated_discriminator,
)
from gaekit.nn.layers import ENCODER_KINDS, LayeredDiscriminator, LayeredEncoder, check_choice
from gaekit.nn.mlp import MLPDecoder, MLPEncoder, _mlp, check_widths
from gaekit.nn.paper import (
    PAPER_INPUT_DIMS,
    ConvNetDecoder,
    ConvNetDiscriminator,
    ConvNetEncoder,
    ResNetDecoder,
    ResNetEncoder,
    resolve_paper_dataset,
)
from gaekit.registry import Registry

NetworkBuilder = Callable[..., nn.Module]
NETWORKS: Registry[NetworkBuilder] = Registry("network")

ROLES = ("encoder", "decoder", "discriminator")

# dataset names accepted by create_network, with the input_dim they stand for
DATASET_INPUT_DIMS: dict[str, tuple[int, ...]] = {
    **PAPER_INPUT_DIMS,
    "fashion-mnist": (1, 28, 28),
    "digits": (1, 8, 8),
    "dsprites": (1, 64, 64),
    "color-dsprites": (3, 64, 64),
    "noisy-dsprites": (3, 64, 64),
}


def encoder_kind(model: Any) -> str:
    """The encoder kind a model needs: its class's ``encoder_kind`` attribute if it has one, else
    ``"variational"`` when the class is ``variational`` and ``"deterministic"`` otherwise.

    ``model`` is a model class or instance (``gaekit.nn`` sits below ``gaekit.models`` and does not look
    names up: ``gaekit.create_model`` builds a model by name).
    """
    if isinstance(model, str):
        raise ConfigError(f"model={model!r} is a name; pass the model class (e.g. gaekit.models.{model}) or build "
                          f"the whole model with gaekit.create_model({model!r}, network=...)")
    model_cls = model if isinstance(model, type) else type(model)
    kind = getattr(model_cls, "encoder_kind", "variational" if getattr(model_cls, "variational", False)
                   else "deterministic")
    check_choice(f"{model_cls.__name__}.encoder_kind", kind, ENCODER_KINDS)
    return kind


def _input_dim(dataset: str | Sequence[int]) -> tuple[int, ...]:
    if isinstance(dataset, str):
        if dataset not in DATASET_INPUT_DIMS:
            raise ConfigError(f"dataset={dataset!r} is invalid: expected one of "
                              f"{', '.join(map(repr, DATASET_INPUT_DIMS))} or an input_dim tuple such as (3, 37, 53)")
        return DATASET_INPUT_DIMS[dataset]
    dims = tuple(dataset)
    if not dims or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ConfigError(f"dataset={dataset!r} is invalid: expected a dataset name or a tuple of positive ints")
    return dims


def create_network(name: str, dataset: str | Sequence[int] | None = None, role: str = "encoder",
                   latent_dim: int | None = None, model: Any = None, kind: str | None = None,
                   **options: Any) -> nn.Module:
    """Build a registered network.

    Parameters
    ----------
    name : {"mlp", "conv", "convnet", "resnet"} or another registered name
    dataset : str or tuple of int
        ``"mnist"``, ``"cifar10"``, ``"celeba"`` (also ``"fashion-mnist"``, ``"digits"``), or an
        ``input_dim`` tuple. ``"convnet"``/``"resnet"`` accept only the three paper datasets' shapes.
        Taken from ``model`` when it is an instance and ``dataset`` is not given.
    role : {"encoder", "decoder", "discriminator"}, default "encoder"
    latent_dim : int
        Required for encoders and decoders (taken from a ``model`` instance when not given).
    model : model class or instance, optional
        Sets the encoder kind (see ``encoder_kind``): deterministic, variational, hyperspherical or vq.
    kind : {"deterministic", "variational", "hyperspherical", "vq"}, optional
        The encoder kind, when no ``model`` is given (default ``"variational"``); must agree with
        ``model`` when both are given. For decoders only ``"vq"`` matters (a spatial latent map).
    **options
        Passed to the network: ``hidden_dims``, ``activation``, ... (mlp, gated_mlp: see their builders),
        ``channels``, ``batch_norm`` and ``dense_dim`` (conv).

    Returns
    -------
    nn.Module
        An encoder returning an ``EncoderOutput``, a decoder returning logits ``(B, *input_dim)``, or a
        discriminator returning a logit ``(B, 1)`` with ``features(x)``.

    Examples
    --------
    >>> from gaekit.models import VAE
    >>> enc = create_network("convnet", dataset="mnist", role="encoder", latent_dim=16, model=VAE)
    >>> dec = create_network("convnet", dataset="mnist", role="decoder", latent_dim=16, model=VAE)

    A model's own networks are chosen in its config (``network``, ``network_options``) and built by
    ``gaekit.create_model``; a network made here and passed to a model is a custom network like any other.
    """
    builder = NETWORKS.get(name)
    check_choice("role", role, ROLES)
    if dataset is None:
        if model is None or isinstance(model, (str, type)) or getattr(model, "input_dim", None) is None:
            raise ConfigError("create_network needs dataset= (a dataset name or an input_dim tuple)")
        dataset = model.input_dim
    if latent_dim is None and model is not None and not isinstance(model, (str, type)):
        latent_dim = getattr(model, "latent_dim", None)
    if role != "discriminator" and (not isinstance(latent_dim, int) or latent_dim < 1):
        raise ConfigError(f"latent_dim={latent_dim!r} is invalid: expected a positive int")
    dims, kind = _input_dim(dataset), _kind(kind, model)
    _check_options(name, builder, options)
    check_build_memory(lambda: builder(dims, role, latent_dim, kind, **options),
                       f"create_network({name!r}, role={role!r})",
                       {"input_dim": dims, "latent_dim": latent_dim, **options})
    return builder(dims, role, latent_dim, kind, **options)


def _kind(kind: str | None, model: Any) -> str:
    """The encoder kind: ``kind`` (checked), the ``model``'s (which ``kind`` must agree with), else variational."""
    if kind is not None:
        check_choice("kind", kind, ENCODER_KINDS)
    if model is None:
        return kind or "variational"
    model_kind = encoder_kind(model)
    if kind is not None and kind != model_kind:
        raise ConfigError(f"kind={kind!r} contradicts the model, whose encoder kind is {model_kind!r}")
    return model_kind


def _accepted_options(builder: NetworkBuilder) -> tuple[str, ...] | None:
    """The option names ``builder`` takes after its four positional arguments: its ``options`` attribute,
    else its named parameters; None when it takes any ``**options`` and says no more."""
    if hasattr(builder, "options"):
        return tuple(builder.options)
    params = list(inspect.signature(builder).parameters.values())[4:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params)


def check_network_options(name: str, options: dict[str, Any]) -> None:
    """Refuse (``ConfigError``) a network name that is not registered, and options the network does not take
    (listing the ones it does)."""
    _check_options(name, NETWORKS.get(name), options)


def _check_options(name: str, builder: NetworkBuilder, options: dict[str, Any]) -> None:
    accepted = _accepted_options(builder)
    unknown = sorted(set(options) - set(accepted)) if accepted is not None else []
    if unknown:
        allowed = ", ".join(accepted) if accepted else "none"
        raise ConfigError(f"network {name!r} got unknown option(s) {', '.join(unknown)}: accepted options are "
                          f"{allowed}")


def _no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise ConfigError(f"network {name!r} takes no options; got {', '.join(sorted(options))}")


@NETWORKS.register("mlp")
def build_mlp(input_dim: tuple[int, ...], role: str, latent_dim: int | None, kind: str,
              hidden_dims: Sequence[int] = (512,), activation: str = "relu",
              decoder_hidden_dims: Sequence[int] | None = None, decoder_activation: str | None = None,
              init: str = "torch") -> nn.Module:
    """``MLPEncoder`` / ``MLPDecoder`` (deterministic, variational); hyperspherical encoders and the
    discriminator use the same fully connected body with their own head. For ``"vq"`` the code is a
    deterministic vector (no spatial map), which a VQ-VAE reads as consecutive embedding vectors.

    Options: ``hidden_dims`` (encoder and discriminator widths, input side first), ``activation`` (one of
    ``gaekit.nn.activations.ACTIVATIONS``), ``decoder_hidden_dims`` and ``decoder_activation`` (the decoder's,
    latent side first; default: the encoder's), ``init`` (one of ``INITS``; ``"torch"`` is PyTorch's default).
    The papers' MLPs as options: the VAE's 784-400-40 ``{"hidden_dims": [400]}``; Burda et al. 2016's
    ``{"hidden_dims": [200, 200], "activation": "tanh", "init": "glorot_uniform"}``; the S-VAE's (Davidson et al.
    2018) ``{"hidden_dims": [256, 128], "decoder_hidden_dims": [128, 256]}``; the P-VAE's (Mathieu et al. 2019)
    ``{"hidden_dims": [600]}``; HVAE's softplus MLP ``{"hidden_dims": [300], "activation": "softplus"}``;
    beta-TC-VAE's (Chen et al. 2018) ``{"hidden_dims": [1200, 1200], "decoder_hidden_dims": [1200, 1200, 1200],
    "decoder_activation": "tanh"}``.
    """
    hidden_dims, activation = check_widths(hidden_dims), check_activation(activation)
    check_init(init)
    # every option is checked whichever network is built, so that a bad config fails at once
    decoder_widths = hidden_dims if decoder_hidden_dims is None else check_widths(decoder_hidden_dims,
                                                                                  "decoder_hidden_dims")
    decoder_act = activation if decoder_activation is None else check_activation(decoder_activation,
                                                                                 "decoder_activation")
    if role == "decoder":
        return init_linear_layers(MLPDecoder(input_dim, latent_dim, decoder_widths, decoder_act), init)
    if role == "encoder" and kind != "hyperspherical":
        net: nn.Module = MLPEncoder(input_dim, latent_dim, hidden_dims=hidden_dims,
                                    variational=kind == "variational", activation=activation)
    else:
        body = [nn.Sequential(nn.Flatten(), _mlp([math.prod(input_dim), *hidden_dims], activation))]
        net = LayeredEncoder(input_dim, latent_dim, kind, body) if role == "encoder" else \
            LayeredDiscriminator(input_dim, body)
    return init_linear_layers(net, init)


@NETWORKS.register("gated_mlp")
def build_gated_mlp(input_dim: tuple[int, ...], role: str, latent_dim: int | None, kind: str,
                    hidden_dims: Sequence[int] = (300, 300), decoder_hidden_dims: Sequence[int] | None = None,
                    log_var_bounds: Sequence[float] | None = (-6.0, 2.0), init: str = "he_normal") -> nn.Module:
    """The VampPrior paper's gated MLP (Tomczak and Welling 2018, arXiv:1705.07120, Sec. 4; ``gaekit.nn.gated``):
    ``GatedMLPEncoder`` (every encoder kind) / ``GatedMLPDecoder`` / a gated discriminator.

    Options: ``hidden_dims`` (default two gated layers of 300 units, the paper's MNIST networks),
    ``decoder_hidden_dims`` (default: ``hidden_dims``), ``log_var_bounds`` (the hard-tanh range of the
    log-variance, default the authors' ``[-6, 2]``; null: none) and ``init`` (default the authors' He-normal).
    """
    hidden_dims, bounds = check_gated_widths(hidden_dims), check_log_var_bounds(log_var_bounds)
    check_init(init)
    decoder_widths = hidden_dims if decoder_hidden_dims is None else check_gated_widths(decoder_hidden_dims,
                                                                                        "decoder_hidden_dims")
    if role == "encoder":
        net: nn.Module = GatedMLPEncoder(input_dim, latent_dim, kind, hidden_dims, bounds)
    elif role == "decoder":
        net = GatedMLPDecoder(input_dim, latent_dim, decoder_widths)
    else:
        net = gated_discriminator(input_dim, hidden_dims)
    return init_linear_layers(net, init)


@NETWORKS.register("conv")
def build_conv(input_dim: tuple[int, ...], role: str, latent_dim: int | None, kind: str,
               **options: Any) -> nn.Module:
    """``ConvEncoder`` / ``ConvDecoder`` / ``ConvDiscriminator`` for images of any size."""
    if role == "encoder":
        return ConvEncoder(input_dim, latent_dim, kind, **options)
    if role == "decoder":
        return ConvDecoder(input_dim, latent_dim, kind, **options)
    return ConvDiscriminator(input_dim, **options)


build_conv.options = ("channels", "batch_norm", "dense_dim")


@NETWORKS.register("convnet")
def build_convnet(input_dim: tuple[int, ...], role: str, latent_dim: int | None, kind: str,
                  **options: Any) -> nn.Module:
    """The Pythae ConvNet (Table 5) and its VAEGAN discriminator (Appendix D)."""
    _no_options("convnet", options)
    dataset = resolve_paper_dataset(input_dim, "network 'convnet'")
    if role == "encoder":
        return ConvNetEncoder(dataset, latent_dim, kind)
    if role == "decoder":
        return ConvNetDecoder(dataset, latent_dim, kind)
    return ConvNetDiscriminator(dataset)


@NETWORKS.register("resnet")
def build_resnet(input_dim: tuple[int, ...], role: str, latent_dim: int | None, kind: str,
                 **options: Any) -> nn.Module:
    """The Pythae ResNet (Table 6); the discriminator is the paper's Table 5 one (Appendix D)."""
    _no_options("resnet", options)
    dataset = resolve_paper_dataset(input_dim, "network 'resnet'")
    if role == "encoder":
        return ResNetEncoder(dataset, latent_dim, kind)
    if role == "decoder":
        return ResNetDecoder(dataset, latent_dim, kind)
    return ConvNetDiscriminator(dataset)
