"""Networks: encoder/decoder contracts and default architectures."""

from gaekit.nn.base import BaseDecoder, BaseEncoder, EncoderOutput, as_encoder_output
from gaekit.nn.mlp import MLPDecoder, MLPEncoder

__all__ = ["BaseDecoder", "BaseEncoder", "EncoderOutput", "MLPDecoder", "MLPEncoder", "as_encoder_output"]
