"""Pythae-style networks in gaekit models: ``ModelOutput``, the network bases, and how their outputs are read.

Pythae's networks return a ``ModelOutput`` (an ordered dict with attribute access): an encoder
``ModelOutput(embedding=..., log_covariance=...)`` (``log_concentration`` for hyperspherical models), a
decoder ``ModelOutput(reconstruction=...)`` of *probabilities* (its last layer a ``Sigmoid``), a
discriminator ``ModelOutput(embedding=...)`` and a metric ``ModelOutput(L=...)``. gaekit models read such
outputs through ``encoder_output`` and ``decoder_logits``: a decoder whose returned tensor is the output
of an ``nn.Sigmoid`` module gives the model that sigmoid's input (exact logits, no ``log(p / (1 - p))``)
when the model applies a sigmoid itself, and its output unchanged otherwise.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from gaekit.errors import ConfigError
from gaekit.nn import EncoderOutput, as_encoder_output

__all__ = ["BaseDecoder", "BaseDiscriminator", "BaseEncoder", "BaseMetric", "ModelOutput", "decoder_logits",
           "discriminator_logits", "encoder_output", "metric_output", "ENCODER_KEYS"]

# the keys a gaekit model reads from an encoder's mapping output; Pythae's ``embedding_layer_<i>`` (asked for
# with ``output_layer_levels``) and other keys are not read by any model, in Pythae as in gaekit
ENCODER_KEYS = ("embedding", "log_covariance", "log_concentration")


class ModelOutput(OrderedDict):
    """An ordered dict whose entries are also attributes, as Pythae's ``ModelOutput``.

    ``out["loss"]`` and ``out.loss`` read the same entry; an int or slice index reads ``to_tuple()``.

    Examples
    --------
    >>> out = ModelOutput(embedding=1, log_covariance=2)
    >>> out.embedding, out["log_covariance"], out[0]
    (1, 2, 1)
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        for key, value in OrderedDict(*args, **kwargs).items():
            self[key] = value

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(key)
        return self.to_tuple()[key]

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getitem__(name)
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no entry {name!r}; entries: {list(self.keys())}") \
                from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_tuple(self) -> tuple[Any, ...]:
        """The values, in insertion order."""
        return tuple(self.values())


class _PythaeNetwork(nn.Module):
    """An ``nn.Module`` whose subclass implements ``forward`` returning a ``ModelOutput``."""

    returns = ""

    def forward(self, *inputs: Any) -> ModelOutput:
        base = next(c for c in type(self).__mro__ if _PythaeNetwork in c.__bases__).__name__  # BaseEncoder, ...
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented: a {base} subclass defines "
                                  f"forward returning {self.returns}")


class BaseEncoder(_PythaeNetwork):
    """Pythae's encoder base: ``forward(x)`` returns ``ModelOutput(embedding=..., log_covariance=...)``
    (``log_covariance`` for variational models; ``log_concentration`` ``(B, 1)`` for the hyperspherical ones)."""

    returns = "ModelOutput(embedding=..., log_covariance=...)"


class BaseDecoder(_PythaeNetwork):
    """Pythae's decoder base: ``forward(z)`` returns ``ModelOutput(reconstruction=...)``, shaped ``(B, *input_dim)``.

    A reconstruction that is the output of an ``nn.Sigmoid`` module (as Pythae's decoders end) is read exactly:
    the model takes that sigmoid's input as its logits. Logits returned directly are read as they are.
    """

    returns = "ModelOutput(reconstruction=...)"


class BaseDiscriminator(_PythaeNetwork):
    """Pythae's discriminator base: ``forward(x)`` returns ``ModelOutput(embedding=...)``."""

    returns = "ModelOutput(embedding=...)"


class BaseMetric(_PythaeNetwork):
    """Pythae's RHVAE metric base: ``forward(x)`` returns ``ModelOutput(L=...)``, the lower-triangular
    Cholesky factors ``(B, latent_dim, latent_dim)`` of the inverse metric."""

    returns = "ModelOutput(L=...)"


def encoder_output(out: Any) -> EncoderOutput:
    """What an encoder returned, as an ``EncoderOutput``: a mapping (Pythae's ``ModelOutput`` or a dict with
    ``"embedding"`` and optionally ``"log_covariance"`` / ``"log_concentration"``), an ``EncoderOutput``, a tensor,
    or a ``(mean, log_variance)`` pair.

    Raises
    ------
    TypeError
        For any other value, or a mapping without an ``"embedding"`` tensor.
    """
    if isinstance(out, EncoderOutput):
        return out
    if isinstance(out, Mapping):
        if not isinstance(out.get("embedding"), Tensor):
            raise TypeError(f"an encoder returning a mapping ({type(out).__name__}) must hold an 'embedding' tensor "
                            f"(and 'log_covariance' for variational models); got keys {list(out.keys())}")
        return EncoderOutput(**{key: out.get(key) for key in ENCODER_KEYS})
    return as_encoder_output(out)


# per decoder: its nn.Sigmoid submodules, found once
_SIGMOIDS: weakref.WeakKeyDictionary[nn.Module, tuple[nn.Module, ...]] = weakref.WeakKeyDictionary()


def _sigmoids(decoder: nn.Module) -> tuple[nn.Module, ...]:
    found = _SIGMOIDS.get(decoder)
    if found is None:
        found = _SIGMOIDS[decoder] = tuple(m for m in decoder.modules() if isinstance(m, nn.Sigmoid))
    return found


def _output(out: Any, module: nn.Module, key: str, role: str) -> Tensor:
    if isinstance(out, Tensor):
        return out
    if isinstance(out, Mapping) and isinstance(out.get(key), Tensor):
        return out[key]
    keys = f" with keys {list(out.keys())}" if isinstance(out, Mapping) else ""
    raise TypeError(f"{role} {type(module).__name__} returned a {type(out).__name__}{keys}: expected a tensor of "
                    f"logits or a mapping with a {key!r} tensor (Pythae's ModelOutput({key}=...))")


def _ends_in_functional_sigmoid(out: Tensor) -> bool:
    """Whether ``out`` comes (through views) from ``torch.sigmoid``: seen from autograd, when it records."""
    node = out.grad_fn
    for _ in range(8):
        if node is None:
            return False
        name = type(node).__name__
        if name.startswith("Sigmoid"):
            return True
        if not name.startswith(("View", "Reshape", "Unsafe", "Alias", "Expand", "Squeeze", "Unsqueeze")):
            return False
        node = node.next_functions[0][0] if node.next_functions else None
    return False


def decoder_logits(decoder: nn.Module, z: Tensor, output_activation: str = "sigmoid") -> Tensor:
    """The decoder's output for ``z`` as the model's pre-activation outputs.

    A tensor or a mapping's ``"reconstruction"`` is read. When that tensor is (a view of) the output of one of the
    decoder's ``nn.Sigmoid`` modules and ``output_activation`` is ``"sigmoid"``, the sigmoid's input, shaped as the
    reconstruction, is returned: the model's own sigmoid then gives the decoder's values exactly and BCE is
    computed from logits. With ``output_activation="identity"`` the decoder's values are returned unchanged.

    Raises
    ------
    ConfigError
        When the reconstruction comes from ``torch.sigmoid`` applied in ``forward`` (not an ``nn.Sigmoid`` module)
        and the model applies a sigmoid too: it would be applied twice.
    TypeError
        When the decoder returns neither a tensor nor a mapping with a ``"reconstruction"`` tensor.
    """
    return _pre_sigmoid(decoder, z, "reconstruction", "decoder", output_activation == "sigmoid")


def discriminator_logits(discriminator: nn.Module, x: Tensor) -> Tensor:
    """A discriminator's logit for ``x``: a tensor (gaekit's discriminators return logits), or Pythae's
    ``ModelOutput(embedding=...)`` of probabilities from a final ``nn.Sigmoid``, read as that sigmoid's input.

    Raises
    ------
    ConfigError
        For a probability from ``torch.sigmoid`` applied in ``forward`` (it cannot be read back exactly).
    TypeError
        For any other output.
    """
    return _pre_sigmoid(discriminator, x, "embedding", "discriminator", True)


def metric_output(out: Any) -> Tensor:
    """What an RHVAE metric network returned: ``L`` itself, or Pythae's ``ModelOutput(L=...)`` (``TypeError``
    otherwise)."""
    if isinstance(out, Tensor):
        return out
    if isinstance(out, Mapping) and isinstance(out.get("L"), Tensor):
        return out["L"]
    raise TypeError(f"a metric network must return the lower-triangular factors L, or Pythae's ModelOutput(L=...); "
                    f"got {type(out).__name__}")


def _pre_sigmoid(module: nn.Module, inputs: Tensor, key: str, role: str, read_logits: bool) -> Tensor:
    """``module(inputs)`` (its ``key`` entry for a mapping); with ``read_logits``, when that tensor is (a view of)
    the output of one of its ``nn.Sigmoid`` modules, the sigmoid's input shaped as it."""
    sigmoids = _sigmoids(module) if read_logits else ()
    if not sigmoids:
        out = _output(module(inputs), module, key, role)
        if read_logits and out.requires_grad and _ends_in_functional_sigmoid(out):
            _refuse_functional_sigmoid(module, role)
        return out
    seen: list[tuple[Tensor, Tensor]] = []
    handles = [m.register_forward_hook(lambda _m, args, output: seen.append((args[0], output))) for m in sigmoids]
    try:
        out = _output(module(inputs), module, key, role)
    finally:
        for handle in handles:
            handle.remove()
    for pre, post in reversed(seen):
        if (post.numel() == out.numel() and post.is_contiguous() and out.is_contiguous()
                and post.data_ptr() == out.data_ptr() and post.dtype == out.dtype):
            return pre.reshape(out.shape)
    if out.requires_grad and _ends_in_functional_sigmoid(out):
        _refuse_functional_sigmoid(module, role)
    return out


def _refuse_functional_sigmoid(module: nn.Module, role: str = "decoder") -> None:
    raise ConfigError(
        f"{role} {type(module).__name__} returns torch.sigmoid(...) of its last layer, and the model applies a "
        f"sigmoid to the {role}'s output too (it works with logits), so it would be applied twice: return the "
        "logits (drop the final sigmoid; the model applies it and computes BCE from logits), or apply it as an "
        "nn.Sigmoid module (self.act = nn.Sigmoid()), which gaekit recognises and reads exactly"
    )
