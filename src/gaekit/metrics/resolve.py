"""Choosing the FID/IS feature extractor of an evaluation: :func:`resolve_extractor`.

It sits above the extractors it chooses from, so that their imports run one way:
:mod:`gaekit.metrics.extractors` (the wrapper and the ``EXTRACTORS`` registry) <- the Inception-v3
(:mod:`gaekit.metrics.inception`) and the domain classifiers (:mod:`gaekit.metrics.classifier`), which register
themselves when ``gaekit.metrics`` is imported, <- this module.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from gaekit.errors import ConfigError
from gaekit.metrics.extractors import EXTRACTORS, FeatureExtractor
from gaekit.metrics.inception import find_inception_weights
from gaekit.registry import spelling_key

__all__ = ["resolve_extractor"]


def resolve_extractor(spec: Any, *, input_shape: tuple[int, ...] | None = None, dataset: str | None = None,
                      **kwargs: Any) -> FeatureExtractor | None:
    """Turn an extractor argument into a :class:`FeatureExtractor` (or None for no FID/IS).

    Parameters
    ----------
    spec : FeatureExtractor, nn.Module, str or None
        A ready extractor; a user module (wrapped, metrics named ``fid_custom``/``is_custom``);
        a registered name (:data:`EXTRACTORS`); ``"none"`` or ``None`` for none; or ``"auto"``:
        the Inception-v3 when its weights are already on this machine (no download), else the
        domain classifier of ``dataset`` when one is registered (``"<dataset>-classifier"``),
        else the MNIST classifier for 1x28x28 images.
    input_shape : tuple of int, optional
        Shape of the images to be scored (used by ``"auto"`` and checked against the extractor).
    dataset : str, optional
        Name of the evaluated dataset (``"mnist"``, ``"digits"``, ...), used by ``"auto"``.
    **kwargs
        Passed to registered factories: ``cache_dir``, ``data_dir``, ``weights`` (Inception
        weights file), ``download``, ``show_progress``.

    Raises
    ------
    ConfigError
        Unknown name, or ``"auto"`` with no usable extractor.
    ExtractorUnavailableError
        When the chosen extractor's weights or training data cannot be obtained.
    """
    if spec is None or (isinstance(spec, str) and spec.lower() == "none"):
        return None
    if isinstance(spec, FeatureExtractor):
        extractor = spec
    elif isinstance(spec, nn.Module):
        extractor = FeatureExtractor(spec, name="custom", description=f"user module {type(spec).__name__}")
    elif isinstance(spec, str):
        name = spelling_key(spec)
        if name == "auto":
            name = _auto_name(input_shape, dataset, kwargs)
        extractor = EXTRACTORS.get(name)(**kwargs)
    else:
        raise ConfigError(
            f"extractor={spec!r} is invalid: expected 'auto', 'none', a registered name "
            f"({', '.join(EXTRACTORS.names())}), a FeatureExtractor or a torch.nn.Module"
        )
    if input_shape is not None:
        extractor.check_shape(tuple(input_shape))
    return extractor


def _auto_name(input_shape: tuple[int, ...] | None, dataset: str | None, kwargs: dict[str, Any]) -> str:
    if find_inception_weights(kwargs.get("weights"), kwargs.get("cache_dir")) is not None:
        return "inception-v3"
    if dataset is not None:
        candidate = f"{dataset.strip().lower().replace('_', '-')}-classifier"
        if candidate in EXTRACTORS:
            return candidate
    if input_shape is not None and tuple(input_shape) == (1, 28, 28):
        return "mnist-classifier"
    raise ConfigError(
        f"no feature extractor for FID/IS fits images of shape {input_shape} here: the FID Inception-v3 "
        "weights are not on this machine and no domain classifier is registered for "
        f"dataset={dataset!r}; pass extractor='inception-v3' (downloads the weights once), a registered "
        f"name ({', '.join(EXTRACTORS.names())}), your own torch.nn.Module, or 'none' to skip FID/IS"
    )
