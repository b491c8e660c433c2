"""The state shared by the evaluation tasks (:class:`EvaluationRun`) and the batching helpers they use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gaekit.images import display_scale, is_image_shape, save_image_grid
from gaekit.metrics.evaluation_result import EvaluationResult
from gaekit.metrics.evaluation_spec import EvaluationConfig, EvaluationData
from gaekit.metrics.extractors import FeatureExtractor


def progress_bar(show: bool, total: int | None, desc: str) -> Any:
    """A tqdm bar (disabled unless ``show``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not show, leave=False, dynamic_ncols=True)


def batches(dataset: Any, batch_size: int, device: torch.device) -> Iterator[Any]:
    """The batches of ``dataset`` in order, on ``device``."""
    from gaekit.data import iterate_batches

    return iterate_batches(dataset, batch_size, shuffle=False, generator=None, device=device)


def _embed(model: Any, dataset: Any, batch_size: int, show: bool, desc: str) -> tuple[Tensor, Tensor | None]:
    zs, ys = [], []
    with progress_bar(show, len(dataset), desc) as bar:
        for batch in batches(dataset, batch_size, model.device):
            zs.append(model.embed(batch.data).flatten(1).to("cpu", torch.float32))
            ys.append(None if batch.labels is None else batch.labels.to("cpu"))
            bar.update(len(batch))
    labels = None if any(y is None for y in ys) else torch.cat(ys)
    return torch.cat(zs), labels


def first_images(dataset: Any, n: int, device: torch.device) -> Tensor:
    """The first ``n`` images of ``dataset``, on ``device``."""
    got, total = [], 0
    for batch in batches(dataset, max(n, 1), device):
        got.append(batch.data)
        total += len(batch)
        if total >= n:
            break
    return torch.cat(got)[:n]


def chunks(x: Tensor, size: int) -> Iterator[Tensor]:
    """``x`` in consecutive slices of ``size``."""
    for i in range(0, len(x), size):
        yield x[i:i + size]


def concat_features(parts: list[tuple[Tensor, Tensor | None]]) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-batch ``(features, logits)`` concatenated as float64 arrays (logits None unless every batch has them)."""
    feats = torch.cat([p[0] for p in parts]).double().numpy()
    logits = None if any(p[1] is None for p in parts) else torch.cat([p[1] for p in parts]).double().numpy()
    return feats, logits


class EvaluationRun:
    """State shared by the tasks of one :func:`~gaekit.metrics.evaluate` call: its inputs, and what several
    tasks use, computed once (embeddings of a split, features of the test images)."""

    def __init__(self, model: Any, data: EvaluationData, cfg: EvaluationConfig, extractor: FeatureExtractor | None,
                 output_dir: Path | None, show: bool, result: EvaluationResult, samplers: list[Any]):
        self.model, self.data, self.cfg, self.extractor = model, data, cfg, extractor
        self.output_dir, self.show, self.result, self.samplers = output_dir, show, result, samplers
        self.real: tuple[np.ndarray, np.ndarray | None] | None = None
        self.ground_truth: Any = None  # the disentanglement task's factor source
        self._embeddings: dict[str, tuple[Tensor, Tensor | None]] = {}

    # shared, computed once
    def embeddings(self, split: str) -> tuple[Tensor, Tensor | None]:
        if split not in self._embeddings:
            self._embeddings[split] = _embed(self.model, getattr(self.data, split), self.cfg.batch_size, self.show,
                                             f"embedding {split}")
        return self._embeddings[split]

    def real_features(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self.real is None:
            with progress_bar(self.show, len(self.data.test), "features of test images") as bar:
                self.real = self.extractor.extract(
                    (b.data for b in batches(self.data.test, self.cfg.batch_size, self.model.device)), bar.update)
        return self.real

    def save_grid(self, key: str, images: Tensor, filename: str, nrow: int) -> str | None:
        if self.output_dir is None or not is_image_shape(self.model.input_dim):
            return None
        path = save_image_grid(images, self.output_dir / filename, nrow=nrow, scale=display_scale(self.model.input_dim))
        self.result.files[key] = str(path)
        return str(path)

