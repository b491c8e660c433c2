"""Feature extractors for FID and IS: a small wrapper, the ``EXTRACTORS`` registry, and the cache folder.

The extractors register themselves here (:mod:`gaekit.metrics.inception`, :mod:`gaekit.metrics.classifier`);
:func:`gaekit.metrics.resolve.resolve_extractor` chooses one.

A feature extractor maps a batch of images in data space (``(N, C, H, W)`` floats in [0, 1]) to
pool features (for the Fréchet distance) and, optionally, class logits (for the Inception Score).
Three kinds are available:

- ``"inception-v3"``: the FID Inception-v3 (:mod:`gaekit.metrics.inception`), the standard one
  (its metrics are named ``fid`` and ``is``);
- ``"<dataset>-classifier"`` (``"mnist-classifier"``, ``"fashion-mnist-classifier"``,
  ``"digits-classifier"``): a small CNN trained on that dataset
  (:mod:`gaekit.metrics.classifier`); metrics ``fid_mnist_classifier``,
  ``is_mnist_classifier``, ... so they are never taken for Inception numbers;
- any ``torch.nn.Module`` given by the user, wrapped in :class:`FeatureExtractor`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from gaekit.errors import ConfigError, DataError, GaekitError
from gaekit.registry import Registry

__all__ = ["EXTRACTORS", "ExtractorUnavailableError", "FeatureExtractor", "cache_dir"]


class ExtractorUnavailableError(GaekitError, RuntimeError):
    """A feature extractor cannot be built here (weights missing and not downloadable, data missing)."""


def cache_dir() -> Path:
    """gaekit's user cache folder: ``$GAEKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/gaekit``, else
    ``~/.cache/gaekit``. Extractor weights live in its ``metrics/`` subfolder."""
    env = os.environ.get("GAEKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "gaekit"


class FeatureExtractor:
    """A network that maps images to features (and logits), with the name its metrics carry.

    Parameters
    ----------
    module : torch.nn.Module
        Called on float32 image batches ``(N, C, H, W)`` with values in [0, 1], in eval mode
        without gradients. Returns either a ``(N, D)`` tensor of features, or a tuple
        ``(features (N, D), logits (N, K))``; logits enable the Inception Score.
    name : str, default "custom"
        Suffix of the metric names: ``fid_<name>`` and ``is_<name>``; the name ``"inception"``
        gives the standard names ``fid`` and ``is``.
    input_shape : tuple of int, optional
        Shape of one image the module accepts; checked before extraction when given.
    description : str, optional
        Recorded in evaluation results.
    """

    def __init__(self, module: nn.Module, name: str = "custom", input_shape: tuple[int, ...] | None = None,
                 description: str = ""):
        if not isinstance(module, nn.Module):
            raise ConfigError(f"a feature extractor needs a torch.nn.Module; got {type(module).__name__}")
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise ConfigError(f"extractor name={name!r} is invalid: expected letters, digits and '_'")
        self.module = module
        self.name = name
        self.input_shape = None if input_shape is None else tuple(int(s) for s in input_shape)
        self.description = description

    @property
    def fid_key(self) -> str:
        """Name of the FID metric computed with this extractor."""
        return "fid" if self.name == "inception" else f"fid_{self.name}"

    @property
    def is_key(self) -> str:
        """Name of the Inception-Score metric computed with this extractor."""
        return "is" if self.name == "inception" else f"is_{self.name}"

    def to(self, device: str | torch.device) -> FeatureExtractor:
        self.module.to(device)
        return self

    @property
    def device(self) -> torch.device:
        for tensor in self.module.parameters():
            return tensor.device
        for tensor in self.module.buffers():
            return tensor.device
        return torch.device("cpu")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        """Raise ``DataError`` when images of ``shape`` do not fit this extractor."""
        if self.input_shape is not None and tuple(shape) != self.input_shape:
            raise DataError(
                f"the {self.name!r} feature extractor takes images of shape {self.input_shape}; the data has "
                f"{tuple(shape)} (choose another extractor, e.g. 'inception-v3' or your own nn.Module)"
            )

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        """Features (and logits or None) of one batch, as float32 tensors on the CPU."""
        self.check_shape(tuple(images.shape[1:]))
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                out = self.module(images.to(self.device, torch.float32))
        finally:
            self.module.train(was_training)
        feats, logits = (out if isinstance(out, (tuple, list)) else (out, None))[:2]
        feats = feats.reshape(feats.shape[0], -1).to("cpu", torch.float32)
        logits = None if logits is None else logits.reshape(logits.shape[0], -1).to("cpu", torch.float32)
        return feats, logits

    def extract(self, batches: Iterable[Tensor], progress: Callable[[int], None] | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Features ``(N, D)`` and logits ``(N, K)`` (or None) of every batch, concatenated (float64)."""
        feats, logits = [], []
        for batch in batches:
            f, lg = self(batch)
            feats.append(f)
            logits.append(lg)
            if progress is not None:
                progress(len(batch))
        if not feats:
            raise DataError("no images to extract features from")
        f_all = torch.cat(feats).double().numpy()
        l_all = None if any(lg is None for lg in logits) else torch.cat(logits).double().numpy()
        return f_all, l_all

    def __repr__(self) -> str:
        return f"FeatureExtractor(name={self.name!r}, module={type(self.module).__name__})"


# A factory per name; called with keyword arguments (cache_dir, data_dir, weights, download, ...),
# ignoring those it does not use.
EXTRACTORS: Registry[Callable[..., FeatureExtractor]] = Registry("feature extractor")
