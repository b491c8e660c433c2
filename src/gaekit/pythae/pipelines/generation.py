"""``pythae.pipelines.generation``: ``GenerationPipeline`` on gaekit's samplers."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from gaekit.models import BaseAE
from gaekit.pythae.pipelines.base_pipeline import Pipeline
from gaekit.pythae.samplers import pythae_sampler_class
from gaekit.samplers import BaseSamplerConfig, sampler_for_config
from gaekit.samplers.normal import NormalSamplerConfig
from gaekit.trainers import TrainerConfig

__all__ = ["GenerationPipeline"]


class GenerationPipeline(Pipeline):
    """Pythae's ``GenerationPipeline(model, sampler_config=None)`` (``NormalSamplerConfig()`` when None);
    ``pipeline(num_samples=1, batch_size=500, output_dir=None, return_gen=True, save_sampler_config=False,
    train_data=None, eval_data=None, training_config=None)`` fits the sampler and samples
    (``pipeline.sampler``: the sampler)."""

    def __init__(self, model: BaseAE, sampler_config: BaseSamplerConfig | None = None):
        if sampler_config is None:
            sampler_config = NormalSamplerConfig()
        sampler_cls = pythae_sampler_class(sampler_for_config(sampler_config).__name__)
        self.model = model
        self.sampler_config = sampler_config
        self.sampler = sampler_cls(model, sampler_config)

    def __call__(self, num_samples: int = 1, batch_size: int = 500, output_dir: str | None = None,
                 return_gen: bool = True, save_sampler_config: bool = False, train_data: Any = None,
                 eval_data: Any = None, training_config: TrainerConfig | None = None) -> Tensor | None:
        self.sampler.fit(train_data=train_data, eval_data=eval_data, training_config=training_config)
        return self.sampler.sample(num_samples=num_samples, batch_size=batch_size, output_dir=output_dir,
                                   return_gen=return_gen, save_sampler_config=save_sampler_config)
