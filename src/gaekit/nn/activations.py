"""Activations and weight initialisations that a network option can name, for the fully connected networks
of the papers gaekit reproduces.

Activations (``ACTIVATIONS``):

- ``"relu"``: the default of gaekit's MLP; the MNIST VAE (784-400-40) of the Pythae library's reproduction of
  Rezende and Mohamed 2015 (arXiv:1505.05770), the S-VAE's 256-128 MLP (Davidson et al. 2018, arXiv:1804.00891)
  and the P-VAE's one layer of 600 units (Mathieu et al. 2019, arXiv:1901.06033);
- ``"tanh"``: Burda et al. 2016 (arXiv:1509.00519, Sec. 5: two deterministic layers of 200 tanh units on each
  side of a single stochastic layer), and the 1200-unit decoder of Chen et al. 2018 (arXiv:1802.04942, App.);
- ``"softplus"``: the 300-unit MLP of Salimans et al. 2015 (arXiv:1410.6460) that the Pythae library's HVAE
  reproduction runs (Caterini et al. 2018, arXiv:1805.11328).

Initialisations (``INITS``), applied to every ``nn.Linear`` of a network:

- ``"torch"``: PyTorch's default (uniform, Kaiming with ``a = sqrt(5)``), what gaekit always used;
- ``"glorot_uniform"``: weights ``U(-sqrt(6 / (fan_in + fan_out)), +...)``, biases 0 (Glorot and Bengio 2010,
  Eq. 16), the heuristic Burda et al. 2016 (Sec. 5) initialise with;
- ``"he_normal"``: weights ``N(0, 2 / fan_in)`` (He et al. 2015, arXiv:1502.01852, Eq. 10), biases left at
  PyTorch's default, as in Tomczak and Welling's VampPrior code (arXiv:1705.07120).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gaekit.errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "softplus": nn.Softplus, "tanh": nn.Tanh}
INITS = ("torch", "glorot_uniform", "he_normal")


def check_activation(name: object, where: str = "activation") -> str:
    """``name`` if it is one of ``ACTIVATIONS``, else ``ConfigError`` naming the allowed ones."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ConfigError(f"{where}={name!r} is invalid: expected one of {', '.join(map(repr, ACTIVATIONS))}")
    return name


def activation_layer(name: str) -> nn.Module:
    """A new module of the activation ``name`` (one of ``ACTIVATIONS``; ``ConfigError`` otherwise)."""
    return ACTIVATIONS[check_activation(name)]()


def check_init(name: object, where: str = "init") -> str:
    """``name`` if it is one of ``INITS``, else ``ConfigError`` naming the allowed ones."""
    if not isinstance(name, str) or name not in INITS:
        raise ConfigError(f"{where}={name!r} is invalid: expected one of {', '.join(map(repr, INITS))}")
    return name


@torch.no_grad()
def init_linear_layers(module: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise every ``nn.Linear`` in ``module`` by ``scheme`` (see ``INITS``) and return ``module``.

    The draws come from torch's global RNG (seeded by ``gaekit.set_seed`` and the trainer), so a model built
    twice under one seed gets the same weights. ``"torch"`` leaves the module as built.
    """
    check_init(scheme)
    if scheme == "torch":
        return module
    for layer in module.modules():
        if not isinstance(layer, nn.Linear):
            continue
        fan_out, fan_in = layer.weight.shape
        if scheme == "glorot_uniform":
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            layer.weight.uniform_(-bound, bound)
            if layer.bias is not None:
                layer.bias.zero_()
        else:  # he_normal
            layer.weight.normal_(0.0, math.sqrt(2.0 / fan_in))
    return module
