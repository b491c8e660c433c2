"""Networks: encoder/decoder contracts, the default MLP and any-size conv networks, the VampPrior's gated MLP,
the Pythae paper's benchmark ConvNet/ResNet, and the ``NETWORKS`` registry with ``create_network``."""

from gaekit.nn.activations import ACTIVATIONS, INITS, init_linear_layers
from gaekit.nn.base import BaseDecoder, BaseEncoder, EncoderOutput, as_encoder_output
from gaekit.nn.conv import ConvDecoder, ConvDiscriminator, ConvEncoder
from gaekit.nn.factory import NETWORKS, ROLES, check_network_options, create_network, encoder_kind
from gaekit.nn.gated import GatedDense, GatedMLPDecoder, GatedMLPEncoder
from gaekit.nn.gyroplane import GyroplaneLayer
from gaekit.nn.layers import (
    ENCODER_KINDS,
    LatentHead,
    LayeredDecoder,
    LayeredDiscriminator,
    LayeredEncoder,
    ResBlock,
)
from gaekit.nn.mlp import MLPDecoder, MLPEncoder
from gaekit.nn.paper import (
    PAPER_INPUT_DIMS,
    VQ_LATENT_MAPS,
    ConvNetDecoder,
    ConvNetDiscriminator,
    ConvNetEncoder,
    ResNetDecoder,
    ResNetEncoder,
)

__all__ = [
    "BaseDecoder", "BaseEncoder", "EncoderOutput", "MLPDecoder", "MLPEncoder", "as_encoder_output",
    "ENCODER_KINDS", "LatentHead", "LayeredDecoder", "LayeredDiscriminator", "LayeredEncoder", "ResBlock",
    "ConvDecoder", "ConvDiscriminator", "ConvEncoder", "GyroplaneLayer",
    "ACTIVATIONS", "INITS", "init_linear_layers", "GatedDense", "GatedMLPDecoder", "GatedMLPEncoder",
    "PAPER_INPUT_DIMS", "VQ_LATENT_MAPS", "ConvNetDecoder", "ConvNetDiscriminator", "ConvNetEncoder",
    "ResNetDecoder", "ResNetEncoder",
    "NETWORKS", "ROLES", "check_network_options", "create_network", "encoder_kind",
]
