"""The trainer's evaluation: mean loss terms over a data set, with fixed noise and no parameter update."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gaekit.data import as_dataset, iterate_batches
from gaekit.errors import ConfigError
from gaekit.models.base import StepContext
from gaekit.trainers.setup import channels_last


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
            for key, value in {"loss": output.loss, **output.terms}.items():
                sums[key] = sums.get(key, 0) + value.detach().double() * n
            count += n
        return sums, count
