"""The benchmark networks of the Pythae paper (Chadebec, Vincent and Allassonniere, "Pythae: Unifying
Generative Autoencoders in Python", NeurIPS 2022 Datasets and Benchmarks, arXiv:2206.08309, Appendix C,
Table 5 "ConvNet" and Table 6 "ResNet"), and the VAEGAN discriminator of its Appendix D.

They are defined for the paper's three datasets: ``"mnist"`` (1, 28, 28), ``"cifar10"`` (3, 32, 32) and
``"celeba"`` (3, 64, 64). ``Conv(c, k, s)`` / ``ConvT(c, k, s)`` are (transposed) convolutions with ``c``
output channels, kernel ``k`` and stride ``s``; the tables give no paddings, chosen here so that every
encoder's flattened size matches the table's ``Linear`` input and every decoder returns exactly the input
size (sizes after each layer are given below).

Choices where the tables leave room (each also stated on the class):

- Decoders return logits: the tables' final ``Sigmoid`` is applied by the model (``BaseAE.activate``), so
  that BCE is computed from logits. Hidden ``Sigmoid`` activations (CelebA ResNet decoder, layers 5-6)
  are kept as written.
- MNIST ConvNet decoder layer 4, printed ``Conv(1, 3, 2)``: a stride-2 *convolution* would halve the
  14x14 map; it is read as ``ConvT(1, 3, 2)`` (padding 1, output padding 1), which gives 28x28.
- CIFAR-10 ConvNet decoder layer 4, ``Conv(3, 4, 1)``: an even kernel at stride 1 keeps 32x32 only with
  uneven padding: 1 before and 2 after (as PyTorch's ``padding="same"``, written as an explicit zero pad).
- Activations are those printed: the ResNet encoders have none between their first convolutions (their
  non-linearity is in the residual blocks), nor has the CIFAR-10 ResNet decoder between its transposed
  convolutions. No activation follows the decoders' first ``Linear``.
- ``ResBlock`` is ``x + Conv(128, 1, 1)(ReLU(Conv(32, 3, 1)(ReLU(x))))`` (see ``ResBlock``).
- "Doubled for VAE-based models": one head of width ``2 * latent_dim`` split into mean and log-variance
  (same parameters as two heads). Hyperspherical encoders use width ``latent_dim + 1``.
- VQ encoders: the table's layers up to the map that the ``Linear`` would flatten, then a 1x1
  convolution to ``latent_dim`` channels. Latent map ``h x w``: ConvNet MNIST 1x1, CIFAR-10 2x2,
  CelebA 4x4; ResNet MNIST 4x4, CIFAR-10 8x8, CelebA 4x4 (``VQ_LATENT_MAPS``). The MNIST ConvNet's
  1x1 map quantizes one vector per image; use the ResNet (or ``ConvEncoder``) for a spatial code.
  VQ decoders replace the first ``Linear`` by a transposed convolution with kernel = stride = start map
  / latent map (``LayeredDecoder``): for a 1x1 map it is exactly the table's ``Linear``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from gaekit.errors import ConfigError
from gaekit.nn.layers import LayeredDecoder, LayeredDiscriminator, LayeredEncoder, ResBlock

PAPER_INPUT_DIMS: dict[str, tuple[int, int, int]] = {
    "mnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
    "celeba": (3, 64, 64),
}

# (h, w) of the latent map of the 'vq' encoders: the last feature map of each table's encoder
VQ_LATENT_MAPS: dict[str, dict[str, tuple[int, int]]] = {
    "convnet": {"mnist": (1, 1), "cifar10": (2, 2), "celeba": (4, 4)},
    "resnet": {"mnist": (4, 4), "cifar10": (8, 8), "celeba": (4, 4)},
}


def resolve_paper_dataset(dataset: str | Sequence[int], network: str = "the paper networks") -> str:
    """The paper dataset named by ``dataset`` (a name or an ``input_dim`` tuple), or ``ConfigError``."""
    if isinstance(dataset, str):
        if dataset in PAPER_INPUT_DIMS:
            return dataset
    else:
        for name, dims in PAPER_INPUT_DIMS.items():
            if tuple(dataset) == dims:
                return name
    known = ", ".join(f"{name!r} {dims}" for name, dims in PAPER_INPUT_DIMS.items())
    raise ConfigError(f"dataset={dataset!r} is invalid for {network}: expected one of {known} "
                      "(use network 'conv' or 'mlp' for other image sizes)")


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, padding: int, batch_norm: bool = True,
                  activation: type[nn.Module] = nn.ReLU, transposed: bool = False,
                  output_padding: int = 0) -> nn.Sequential:
    if transposed:
        conv: nn.Module = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding=output_padding)
    else:
        conv = nn.Conv2d(cin, cout, kernel, stride, padding)
    return nn.Sequential(conv, *([nn.BatchNorm2d(cout)] if batch_norm else []), activation())


# -- ConvNet (Table 5) -----------------------------------------------------------------------------------

def _convnet_encoder_layers(in_channels: int, batch_norm: bool = True,
                            layer2_activation: type[nn.Module] = nn.ReLU) -> list[nn.Module]:
    """Layers 1-4 of Table 5's encoder: ``Conv(c, 4, 2)`` (padding 1, halving the map), BN, ReLU for
    c = 128, 256, 512, 1024. MNIST 28 -> 14 -> 7 -> 3 -> 1, CIFAR-10 32 -> 16 -> 8 -> 4 -> 2, CelebA
    64 -> 32 -> 16 -> 8 -> 4: flattened 1024, 4096, 16384, the table's ``Linear`` inputs."""
    widths = (in_channels, 128, 256, 512, 1024)
    return [_conv_bn_relu(cin, cout, 4, 2, 1, batch_norm, layer2_activation if i == 1 else nn.ReLU)
            for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:]))]


class ConvNetEncoder(LayeredEncoder):
    """Encoder of Table 5 (ConvNet): four ``Conv(c, 4, 2), BN, ReLU`` layers (c = 128 ... 1024), then
    ``Linear(1024 * s * s, latent_dim)`` (s = 1, 2, 4 for MNIST, CIFAR-10, CelebA), doubled for
    variational models; see the module docstring for the other kinds.

    Parameters
    ----------
    dataset : {"mnist", "cifar10", "celeba"} or tuple of int
        A paper dataset, or its ``input_dim``.
    latent_dim : int
    kind : {"deterministic", "variational", "hyperspherical", "vq"}, default "variational"
    """

    def __init__(self, dataset: str | Sequence[int], latent_dim: int, kind: str = "variational"):
        self.dataset = resolve_paper_dataset(dataset, "the ConvNet")
        input_dim = PAPER_INPUT_DIMS[self.dataset]
        super().__init__(input_dim, latent_dim, kind, _convnet_encoder_layers(input_dim[0]))


class ConvNetDecoder(LayeredDecoder):
    """Decoder of Table 5 (ConvNet), returning logits of shape ``(B, *input_dim)``.

    - MNIST: ``Linear(latent_dim, 16384)`` -> (1024, 4, 4); ``ConvT(512, 3, 2)`` padding 1 -> 7x7, BN,
      ReLU; ``ConvT(256, 3, 2)`` padding 1, output padding 1 -> 14x14, BN, ReLU; ``ConvT(1, 3, 2)`` padding
      1, output padding 1 -> 28x28 (printed ``Conv(1, 3, 2)``, see the module docstring).
    - CIFAR-10: ``Linear(latent_dim, 65536)`` -> (1024, 8, 8); ``ConvT(512, 4, 2)`` padding 1 -> 16, BN,
      ReLU; ``ConvT(256, 4, 2)`` padding 1 -> 32, BN, ReLU; ``Conv(3, 4, 1)`` padded 1 before, 2 after -> 32.
    - CelebA: ``Linear(latent_dim, 65536)`` -> (1024, 8, 8); ``ConvT(c, 5, 2)`` padding 2, output padding
      1, BN, ReLU for c = 512, 256, 128 -> 16, 32, 64; ``ConvT(3, 5, 1)`` padding 2 -> 64.

    Parameters
    ----------
    dataset : {"mnist", "cifar10", "celeba"} or tuple of int
    latent_dim : int
    kind : str, default "variational"
        Only ``"vq"`` changes the decoder: it then takes the ``(B, latent_dim, h, w)`` map of
        ``ConvNetEncoder(kind="vq")``.
    """

    def __init__(self, dataset: str | Sequence[int], latent_dim: int, kind: str = "variational"):
        self.dataset = resolve_paper_dataset(dataset, "the ConvNet")
        input_dim = PAPER_INPUT_DIMS[self.dataset]
        out_channels = input_dim[0]
        if self.dataset == "mnist":
            start = (1024, 4, 4)
            layers = [
                _conv_bn_relu(1024, 512, 3, 2, 1, transposed=True),
                _conv_bn_relu(512, 256, 3, 2, 1, transposed=True, output_padding=1),
                nn.ConvTranspose2d(256, out_channels, 3, 2, 1, output_padding=1),
            ]
        elif self.dataset == "cifar10":
            start = (1024, 8, 8)
            layers = [
                _conv_bn_relu(1024, 512, 4, 2, 1, transposed=True),
                _conv_bn_relu(512, 256, 4, 2, 1, transposed=True),
                # Conv(3, 4, 1) keeping 32x32: pad 1 before and 2 after (PyTorch's "same" for an even kernel)
                nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(256, out_channels, 4, 1)),
            ]
        else:  # celeba
            start = (1024, 8, 8)
            layers = [
                _conv_bn_relu(1024, 512, 5, 2, 2, transposed=True, output_padding=1),
                _conv_bn_relu(512, 256, 5, 2, 2, transposed=True, output_padding=1),
                _conv_bn_relu(256, 128, 5, 2, 2, transposed=True, output_padding=1),
                nn.ConvTranspose2d(128, out_channels, 5, 1, 2),
            ]
        super().__init__(input_dim, latent_dim, kind, start, layers, VQ_LATENT_MAPS["convnet"][self.dataset])


class ConvNetDiscriminator(LayeredDiscriminator):
    """The VAEGAN discriminator of the Pythae paper (Appendix D, VAE-GAN): Table 5's encoder with
    BatchNorm removed for MNIST and CIFAR-10 (kept for CelebA), a ``Tanh`` instead of the ``ReLU`` of
    layer 2, and one output unit. Returns the logit ``(B, 1)``; the model applies the sigmoid.
    ``features(x)`` / ``forward_with_features(x)`` give the four layers' outputs, the ``D_l`` of the
    feature-matching reconstruction loss.

    Parameters
    ----------
    dataset : {"mnist", "cifar10", "celeba"} or tuple of int
    """

    def __init__(self, dataset: str | Sequence[int]):
        self.dataset = resolve_paper_dataset(dataset, "the ConvNet discriminator")
        input_dim = PAPER_INPUT_DIMS[self.dataset]
        layers = _convnet_encoder_layers(input_dim[0], batch_norm=self.dataset == "celeba",
                                         layer2_activation=nn.Tanh)
        super().__init__(input_dim, layers)


# -- ResNet (Table 6) ------------------------------------------------------------------------------------

class ResNetEncoder(LayeredEncoder):
    """Encoder of Table 6 (ResNet); convolutions padded by 1, no activation between them (as printed).

    - MNIST: ``Conv(64, 4, 2)`` -> 14, ``Conv(128, 4, 2)`` -> 7, ``Conv(128, 3, 2)`` -> 4, 2 ``ResBlock``,
      ``Linear(2048, latent_dim)``.
    - CIFAR-10: ``Conv(64, 4, 2)`` -> 16, ``Conv(128, 4, 2)`` -> 8, ``Conv(128, 3, 1)`` -> 8, 2 ``ResBlock``,
      ``Linear(8192, latent_dim)``.
    - CelebA: ``Conv(64, 4, 2)`` -> 32, ``Conv(128, 4, 2)`` -> 16, ``Conv(128, 3, 2)`` -> 8,
      ``Conv(128, 3, 2)`` -> 4, 2 ``ResBlock``, ``Linear(2048, latent_dim)``.

    The ``Linear`` is doubled for variational models. Parameters as for ``ConvNetEncoder``.
    """

    def __init__(self, dataset: str | Sequence[int], latent_dim: int, kind: str = "variational"):
        self.dataset = resolve_paper_dataset(dataset, "the ResNet")
        input_dim = PAPER_INPUT_DIMS[self.dataset]
        layers: list[nn.Module] = [nn.Conv2d(input_dim[0], 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1)]
        if self.dataset == "mnist":
            layers.append(nn.Conv2d(128, 128, 3, 2, 1))
        elif self.dataset == "cifar10":
            layers.append(nn.Conv2d(128, 128, 3, 1, 1))
        else:
            layers += [nn.Conv2d(128, 128, 3, 2, 1), nn.Conv2d(128, 128, 3, 2, 1)]
        layers += [ResBlock(), ResBlock()]
        super().__init__(input_dim, latent_dim, kind, layers)


class ResNetDecoder(LayeredDecoder):
    """Decoder of Table 6 (ResNet), returning logits of shape ``(B, *input_dim)``.

    - MNIST: ``Linear(latent_dim, 2048)`` -> (128, 4, 4); ``ConvT(128, 3, 2)`` padding 1 -> 7; ``ResBlock``;
      ``ResBlock``, ReLU; ``ConvT(64, 3, 2)`` padding 1, output padding 1 -> 14, ReLU; ``ConvT(1, 3, 2)``
      padding 1, output padding 1 -> 28.
    - CIFAR-10: ``Linear(latent_dim, 8192)`` -> (128, 8, 8); 2 ``ResBlock``; ``ConvT(64, 4, 2)`` padding 1
      -> 16; ``ConvT(3, 4, 2)`` padding 1 -> 32.
    - CelebA: ``Linear(latent_dim, 2048)`` -> (128, 4, 4); ``ConvT(128, 3, 2)`` padding 1, output padding
      1 -> 8; 2 ``ResBlock``; ``ConvT(128, 5, 2)`` padding 2, output padding 1 -> 16, Sigmoid;
      ``ConvT(64, 5, 2)`` (same) -> 32, Sigmoid; ``ConvT(3, 4, 2)`` padding 1 -> 64. The table prints a
      Sigmoid after each of the last three layers: the hidden two are kept as activations, the last is
      the model's output activation.

    ``kind="vq"``: takes the ``(B, latent_dim, h, w)`` map of ``ResNetEncoder(kind="vq")`` (a 1x1
    convolution to the start map, which has the same size). Parameters as for ``ConvNetDecoder``.
    """

    def __init__(self, dataset: str | Sequence[int], latent_dim: int, kind: str = "variational"):
        self.dataset = resolve_paper_dataset(dataset, "the ResNet")
        input_dim = PAPER_INPUT_DIMS[self.dataset]
        out_channels = input_dim[0]
        if self.dataset == "mnist":
            start = (128, 4, 4)
            layers: list[nn.Module] = [
                nn.ConvTranspose2d(128, 128, 3, 2, 1),
                ResBlock(),
                nn.Sequential(ResBlock(), nn.ReLU()),
                nn.Sequential(nn.ConvTranspose2d(128, 64, 3, 2, 1, output_padding=1), nn.ReLU()),
                nn.ConvTranspose2d(64, out_channels, 3, 2, 1, output_padding=1),
            ]
        elif self.dataset == "cifar10":
            start = (128, 8, 8)
            layers = [
                ResBlock(),
                ResBlock(),
                nn.ConvTranspose2d(128, 64, 4, 2, 1),
                nn.ConvTranspose2d(64, out_channels, 4, 2, 1),
            ]
        else:  # celeba
            start = (128, 4, 4)
            layers = [
                nn.ConvTranspose2d(128, 128, 3, 2, 1, output_padding=1),
                ResBlock(),
                ResBlock(),
                nn.Sequential(nn.ConvTranspose2d(128, 128, 5, 2, 2, output_padding=1), nn.Sigmoid()),
                nn.Sequential(nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1), nn.Sigmoid()),
                nn.ConvTranspose2d(64, out_channels, 4, 2, 1),
            ]
        super().__init__(input_dim, latent_dim, kind, start, layers, VQ_LATENT_MAPS["resnet"][self.dataset])
