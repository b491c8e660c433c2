"""Pipelines: the paper's one-call training and generation entry points."""

from gaekit.pipelines.generation import GenerationPipeline
from gaekit.pipelines.training import TrainingPipeline

__all__ = ["GenerationPipeline", "TrainingPipeline"]
