"""``GenerationPipeline``: build a sampler from its config, fit it when needed, sample, save.

The call shape is the one of the Pythae paper's Appendix A (Chadebec et al. 2022,
arXiv:2206.08309)::

    gmm_sampler_config = GaussianMixtureSamplerConfig(num_components=10)
    pipeline = GenerationPipeline(model=my_trained_vae, sampler_config=gmm_sampler_config)
    generated_samples = pipeline(num_samples=100, return_gen=True, train_data=train_data, eval_data=None)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from gaekit.errors import DataError
from gaekit.models.base import BaseAE
from gaekit.samplers import BaseSampler, BaseSamplerConfig, NormalSamplerConfig, sampler_for_config
from gaekit.serialization import check_output_folder, check_replaceable, ensure_output_folder, save_tensors

SAMPLES_FILE = "samples.safetensors"
GRID_FILE = "samples.png"
GRID_SIZE = 100


def _image_shaped(input_dim: tuple[int, ...]) -> bool:
    return len(input_dim) == 2 or (len(input_dim) == 3 and input_dim[0] in (1, 3))


class GenerationPipeline:
    """Generate new data from a trained model with a sampler.

    Parameters
    ----------
    model : BaseAE
        The trained model.
    sampler_config : BaseSamplerConfig, optional
        Which sampler to use and how (e.g. ``GaussianMixtureSamplerConfig(num_components=10)``);
        ``None`` samples the model's prior (``NormalSamplerConfig()``).

    Attributes
    ----------
    sampler : BaseSampler or None
        The sampler built (and fitted) by the last call.
    """

    def __init__(self, model: BaseAE, sampler_config: BaseSamplerConfig | None = None):
        if sampler_config is None:
            sampler_config = NormalSamplerConfig()
        self.sampler_class = sampler_for_config(sampler_config)
        self.model = model
        self.sampler_config = sampler_config
        self.sampler: BaseSampler | None = None

    def __call__(
        self,
        num_samples: int = 1,
        batch_size: int = 500,
        output_dir: str | Path | None = None,
        return_gen: bool = True,
        save_sampler_dir: str | Path | None = None,
        train_data: Any = None,
        eval_data: Any = None,
        seed: int | None = None,
    ) -> Tensor | None:
        """Build the sampler, fit it when it needs fitting, and draw ``num_samples`` samples.

        Parameters
        ----------
        num_samples : int, default 1
        batch_size : int, default 500
            Batch size for embedding the data when fitting and for decoding.
        output_dir : str or Path, optional
            When set, ``samples.safetensors`` (tensor ``"samples"``) and, for image-shaped data,
            ``samples.png`` (a grid of the first 100 samples) are written there.
        return_gen : bool, default True
            Return the samples (otherwise ``None``).
        save_sampler_dir : str or Path, optional
            When set, the (fitted) sampler is saved there (``BaseSampler.load_from_folder`` reads it).
            It must be a new or empty folder or a saved sampler folder; anything else (e.g. the
            model's folder) is refused before fitting, and nothing is deleted.
        train_data, eval_data : array, Tensor, gaekit dataset, torch Dataset or DataLoader, optional
            Data to fit the sampler on; required by samplers that need fitting, unused by the others.
        seed : int, optional
            Seed of the sampling randomness (same seed, same samples).

        Returns
        -------
        Tensor or None
            ``(num_samples, *input_dim)`` samples on the CPU when ``return_gen``.

        Raises
        ------
        DataError
            When the sampler needs fitting and ``train_data`` is not given.
        CheckpointError
            When ``save_sampler_dir`` is a file, a folder of the user or a gaekit folder of another kind.
        ConfigError
            When ``output_dir`` is not a path, or it or a folder above it is a file (before fitting).
        """
        _check_outputs(output_dir, save_sampler_dir)  # refused before fitting and sampling
        sampler = self._fitted_sampler(train_data, eval_data, batch_size)
        self.sampler = sampler
        samples = sampler.sample(num_samples, batch_size=batch_size, seed=seed)
        if save_sampler_dir is not None:  # first: output_dir may be the same folder
            sampler.save(save_sampler_dir)
        if output_dir is not None:
            _write_samples(samples, output_dir)
        return samples if return_gen else None

    def _fitted_sampler(self, train_data: Any, eval_data: Any, batch_size: int) -> BaseSampler:
        """A new sampler of the pipeline's config, fitted on ``train_data`` when it needs fitting."""
        sampler = self.sampler_class(self.model, self.sampler_config)
        if sampler.needs_fit:
            if train_data is None:
                raise DataError(
                    f"{type(sampler).__name__} must be fitted on the model's embeddings of the training "
                    "data: pass train_data=... to the pipeline call"
                )
            sampler.fit(train_data, eval_data, batch_size=batch_size)
        return sampler


def _check_outputs(output_dir: str | Path | None, save_sampler_dir: str | Path | None) -> None:
    """Refuse a ``save_sampler_dir`` that is not a sampler folder to replace, and an unusable ``output_dir``."""
    if save_sampler_dir is not None:
        check_replaceable(Path(save_sampler_dir), "sampler")
    if output_dir is not None:
        check_output_folder(output_dir, "GenerationPipeline output_dir")


def _write_samples(samples: Tensor, output_dir: str | Path) -> None:
    """``samples.safetensors`` and, for image-shaped samples, the ``samples.png`` grid of the first ones."""
    out = ensure_output_folder(output_dir, "GenerationPipeline output_dir")
    save_tensors(out / SAMPLES_FILE, {"samples": samples})
    if _image_shaped(tuple(samples.shape[1:])):
        from gaekit.images import save_image_grid

        save_image_grid(samples[:GRID_SIZE], out / GRID_FILE)
