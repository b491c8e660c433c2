"""``pythae.pipelines.base_pipeline``: ``Pipeline``, the base of the pipelines."""

from __future__ import annotations

from typing import Any

__all__ = ["Pipeline"]


class Pipeline:
    """Base of ``TrainingPipeline`` and ``GenerationPipeline``: built with its settings, run by calling it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - each pipeline defines it
        raise NotImplementedError
