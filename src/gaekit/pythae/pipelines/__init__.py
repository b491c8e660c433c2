"""``pythae.pipelines``: ``TrainingPipeline`` and ``GenerationPipeline`` with Pythae's signatures, on gaekit's
trainer and samplers."""

from gaekit.pythae.pipelines.base_pipeline import Pipeline
from gaekit.pythae.pipelines.generation import GenerationPipeline
from gaekit.pythae.pipelines.training import TrainingPipeline

__all__ = ["GenerationPipeline", "Pipeline", "TrainingPipeline"]
