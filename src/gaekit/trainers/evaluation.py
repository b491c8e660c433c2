"""The trainer's evaluation: mean loss terms over a data set, with fixed noise and no parameter update."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gaekit.data import as_dataset, iterate_batches
from gaekit.errors import ConfigError
from gaekit.images import is_image_shape
from gaekit.models.base import BaseAE, BaseModel, StepContext
from gaekit.trainers.setup import channels_last


def check_image_model(model: BaseModel, where: str = "TrainerConfig.images_every_n_epochs") -> None:
    """``ConfigError`` unless ``model`` is an autoencoder of image data (what periodic images need)."""
    if not isinstance(model, BaseAE):
        raise ConfigError(f"{where} needs an autoencoder (a BaseAE) to reconstruct and sample images; "
                          f"{type(model).__name__} is not one: set it to None")
    if not is_image_shape(model.input_dim):
        raise ConfigError(f"{where} needs image data, input_dim (C, H, W) with C 1 or 3; the model's input_dim is "
                          f"{tuple(model.input_dim)}: set it to None, or train on image-shaped data")


class Evaluation:
    """Trainer mixin: ``evaluate``. Uses the trainer's model, config, device, state, autocast and shards."""

    def evaluate(self, data: Any = None) -> dict[str, float]:
        """Mean loss and loss terms over ``data`` (default: the eval data), per sample.

        Runs in eval mode with a fixed noise seed, so epochs are compared on the same draws
        and the training random stream is left untouched; without gradients unless the model
        declares ``needs_grad_in_eval`` (parameters are never updated here). In data-parallel
        training each process evaluates its shard of every batch and the sums are reduced.
        """
        dataset = self.eval_dataset if data is None else as_dataset(data)
        if dataset is None:
            raise ConfigError("evaluate() needs data: no eval_data was given to the Trainer")
        was_training = self.model.training
        self.model.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        with (torch.random.fork_rng(devices=devices), torch.set_grad_enabled(self.model.needs_grad_in_eval),
              self._amp):
            torch.manual_seed(self.config.seed + 1)
            sums, count = self._evaluation_sums(dataset)
        self.model.train(was_training)
        if self.parallel is not None:
            keys = list(sums) or self._metric_keys or []
            totals = [torch.as_tensor(sums.get(k, 0.0), dtype=torch.float64, device=self.device) for k in keys]
            reduced = self.parallel.all_reduce_sum(torch.stack([*totals, torch.tensor(float(count),
                                                                                     dtype=torch.float64,
                                                                                     device=self.device)]))
            sums, count = dict(zip(keys, reduced[:-1], strict=True)), reduced[-1]
        return {k: (v / count).item() for k, v in sums.items()}

    def prediction_images(self, num_images: int = 16) -> dict[str, Tensor]:
        """The first ``num_images`` eval samples (training samples without eval data), their reconstructions
        and as many samples from the model's prior (seeded with ``seed``), as CPU float tensors in [0, 1]:
        ``{"inputs", "reconstructions", "samples"}``. Leaves every random stream and the model's mode as
        they were.

        Raises
        ------
        ConfigError
            When the model is not an autoencoder of image data.
        """
        model = self.model
        check_image_model(model, f"{type(self).__name__}.prediction_images")
        data = self.eval_dataset if self.eval_dataset is not None else self.train_dataset
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            batch = next(iter(iterate_batches(data, num_images, shuffle=False, generator=None, device=self.device)))
            x = batch.data[:num_images]
            images = {"inputs": x, "reconstructions": model.reconstruct(x),
                      "samples": model.generate(len(x), generator=torch.Generator().manual_seed(self.config.seed))}
        return {k: v.detach().float().clamp(0, 1).cpu() for k, v in images.items()}

    def _evaluation_sums(self, dataset: Any) -> tuple[dict[str, Tensor], int]:
        """Per-term sums over this process's samples of ``dataset`` (weighted by batch size), and their number."""
        sums: dict[str, Tensor] = {}
        count = 0
        batch_size = self.config.eval_batch_size or self.config.batch_size
        for batch in iterate_batches(dataset, batch_size, shuffle=False, generator=None, device=self.device):
            self._at("eval_batch")
            ctx = StepContext(epoch=self.state.epoch, global_step=self.state.global_step,
                              num_epochs=self.config.num_epochs, dataset_size=self.dataset_size,
                              training=False)
            if self.config.channels_last:
                batch = channels_last(batch)
            if self.parallel is None:
                output, n = self.model(batch, ctx), len(batch)
            else:
                output, n = self._shard_forward(batch, ctx)
                if output is None:
                    continue
            self._emit("on_eval_step_end", output)
            for key, value in {"loss": output.loss, **output.terms}.items():
                sums[key] = sums.get(key, 0) + value.detach().double() * n
            count += n
        return sums, count
