"""Pythae's ``PixelCNN``: gaekit's PixelCNN prior (``gaekit.models.pixelcnn``) over a ``(1, H, W)`` map of codebook
indices, read in raster order.

gaekit's PixelCNN is 1-D (masked convolutions along the raster sequence of ``H * W`` positions, the indices
embedded, 64 channels, residual blocks) where Pythae's is a 2-D masked-convolution stack on the raw index values;
both model ``p(k) = prod_i p(k_i | k_<i)`` in raster order and are trained by the cross-entropy of each index.
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from gaekit.errors import ConfigError
from gaekit.models.base import BaseModel, ModelOutput, StepContext, batch_data
from gaekit.models.pixelcnn import PixelCNN as GaekitPixelCNN
from gaekit.models.pixelcnn import PixelCNNConfig as GaekitPixelCNNConfig
from gaekit.pythae.models.normalizing_flows._configs import PixelCNNConfig

__all__ = ["PixelCNN"]


class PixelCNN(BaseModel):
    """Pythae's ``PixelCNN(model_config)``: ``net`` is gaekit's ``PixelCNN`` (``num_embeddings=n_embeddings``,
    ``num_layers=n_layers``, ``kernel_size``) over the ``H * W`` positions.

    ``forward(inputs)`` takes indices ``(B, 1, H, W)`` (as floats or ints, in ``[0, n_embeddings)``) and returns
    ``ModelOutput(loss=...)``: Pythae's loss, the cross-entropy averaged over positions and batch. Pythae's ``out``
    (the logits, ``(B, n_embeddings, 1, H, W)``) is ``logits(inputs)`` here (gaekit's outputs hold scalars).

    Raises
    ------
    ConfigError
        A config of another class, or ``input_dim`` not ``(1, H, W)``.
    """

    config_class = PixelCNNConfig

    def __init__(self, model_config: PixelCNNConfig):
        if not isinstance(model_config, PixelCNNConfig):
            raise ConfigError(f"PixelCNN needs a PixelCNNConfig, got {type(model_config).__name__}")
        if model_config.input_dim is None:
            raise ConfigError("PixelCNN: PixelCNNConfig.input_dim must be set to the index map's shape (1, H, W)")
        super().__init__(model_config)
        self.model_name = "PixelCNN"
        c = model_config
        self.net = GaekitPixelCNN(GaekitPixelCNNConfig(
            input_dim=(math.prod(c.input_dim),), num_embeddings=c.num_embeddings, num_layers=c.num_layers,
            kernel_size=c.kernel_size))

    def logits(self, inputs: Any) -> Tensor:
        """Logits ``(B, n_embeddings, 1, H, W)`` of each index given the earlier ones (Pythae's ``out``)."""
        x = batch_data(inputs)
        return self.net.logits(self._indices(x)).reshape(x.shape[0], -1, *x.shape[1:])

    @staticmethod
    def _indices(x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1).round().long()

    def forward(self, inputs: Any, ctx: StepContext | None = None, **kwargs: Any) -> ModelOutput:
        idx = self._indices(batch_data(inputs))
        loss = F.cross_entropy(self.net.logits(idx), idx)
        return ModelOutput(loss=loss)
