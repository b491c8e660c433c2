"""``PixelCNNSampler``: a PixelCNN prior fitted on a discrete-latent model's codebook indices.

The VQ-VAE's generative model (van den Oord et al. 2017, arXiv:1711.00937, Section 3.1 and 4): after
the autoencoder is trained, an autoregressive PixelCNN (van den Oord et al. 2016, arXiv:1601.06759,
arXiv:1606.05328) is fitted on the index sequences ``model.quantize(x)`` of the training data;
sampling draws index sequences from it position by position, maps them to codebook vectors
(``model.codes_to_latent``) and decodes them. The PixelCNN (``gaekit.models.pixelcnn.PixelCNN``) is
trained in memory by the gaekit ``Trainer`` like the flow samplers' density models (see
``gaekit.samplers._fitting``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.errors import DataError
from gaekit.models.base import inference_mode
from gaekit.models.pixelcnn import PixelCNN, PixelCNNConfig
from gaekit.models.vq_vae import VQVAE
from gaekit.samplers._fitting import TrainedLatentSampler, TrainedSamplerConfig
from gaekit.samplers.base import SAMPLERS


@dataclass
class PixelCNNSamplerConfig(TrainedSamplerConfig):
    """Config of ``PixelCNNSampler``: the PixelCNN's architecture, then the training fields of
    ``TrainedSamplerConfig`` (whose defaults apply except ``learning_rate``, 1e-3 here: Adam's usual
    rate for PixelCNNs).

    Parameters
    ----------
    num_layers : int, default 6
        Masked convolutions (one of mask A, then mask B); formerly ``n_layers``.
    kernel_size : int, default 5
        Odd kernel size of the masked convolutions.
    hidden_channels : int, default 64
    """

    name: ClassVar[str] = "PixelCNNSampler"
    aliases: ClassVar[dict[str, str]] = {"n_layers": "num_layers"}
    learning_rate: float = 1e-3
    num_layers: int = 6
    kernel_size: int = 5
    hidden_channels: int = 64

    def _check(self) -> None:
        super()._check()
        self._require("num_layers", self.num_layers >= 1, "an int >= 1")
        self._require("kernel_size", self.kernel_size >= 1 and self.kernel_size % 2 == 1, "an odd int >= 1")
        self._require("hidden_channels", self.hidden_channels >= 1, "an int >= 1")


@SAMPLERS.register()
class PixelCNNSampler(TrainedLatentSampler):
    """Fit a PixelCNN on the model's codebook indices and decode what it samples.

    Accepts ``VQVAE`` and its subclasses (``HRQVAE``). ``fit(train_data, eval_data)`` quantises the
    data with the model and trains the PixelCNN (held-out 10% when ``eval_data`` is None);
    ``sample(n, batch_size, seed)`` draws ``batch_size`` sequences at a time (the last batch may be
    smaller) with a generator seeded by ``seed``.
    """

    config_class = PixelCNNSamplerConfig
    accepted_models = (VQVAE,)

    def _build_density(self) -> PixelCNN:
        c = self.sampler_config
        config = PixelCNNConfig(input_dim=(self.model.code_length,),
                                num_embeddings=self.model.model_config.num_embeddings, num_layers=c.num_layers,
                                kernel_size=c.kernel_size, hidden_channels=c.hidden_channels)
        return PixelCNN(config).to(self.model.device)

    def _fit(self, train_data: Any, eval_data: Any, batch_size: int) -> None:
        codes = self._quantize_dataset(train_data, batch_size, "train_data")
        codes_eval = None if eval_data is None else self._quantize_dataset(eval_data, batch_size, "eval_data")
        self.fit_embeddings(codes, codes_eval)

    def _quantize_dataset(self, data: Any, batch_size: int, name: str) -> Tensor:
        from gaekit.data import as_dataset, iterate_batches, validate_data

        dataset = as_dataset(data)
        validate_data(dataset, self.model.input_dim, unit_range=False, name=name)
        with inference_mode(self.model):
            chunks = [self.model.quantize(b.data).cpu()
                      for b in iterate_batches(dataset, batch_size, shuffle=False, generator=None,
                                               device=self.model.device)]
        if not chunks:
            raise DataError(f"{name} is empty; expected at least one sample")
        return torch.cat(chunks).float()

    def _check_codes(self, z: Any, name: str) -> Tensor:
        z = torch.as_tensor(z).detach().to("cpu", torch.float32)
        s, k = self.model.code_length, self.model.model_config.num_embeddings
        if z.dim() != 2 or z.shape[1] != s or z.shape[0] == 0:
            raise DataError(f"{name}: index sequences must have shape (N, {s}) with N >= 1; got {tuple(z.shape)}")
        if not bool(((z >= 0) & (z < k) & (z == z.round())).all()):
            raise DataError(f"{name}: codebook indices must be integers in [0, {k})")
        return z

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        with self._inference():
            return torch.cat([
                self.model.codes_to_latent(self.density.sample(min(batch_size, num_samples - i), generator))
                for i in range(0, num_samples, batch_size)
            ])
