"""``pythae.samplers``: every Pythae 0.1.2 sampler (gaekit's sampler of that name, with Pythae's ``fit`` and
``sample``) and sampler config (builders of the gaekit config, see ``gaekit.samplers.pythae_config``).

- ``Sampler(model, sampler_config=None)``;
- ``fit(train_data=None, eval_data=None, training_config=None)``: the samplers that train a density (MAF, IAF,
  PixelCNN, two-stage) take their training from ``training_config`` (a ``BaseTrainerConfig(...)``; Pythae's
  defaults when None); the others need none, and refuse one (it would not be used);
- ``sample(num_samples=1, batch_size=500, output_dir=None, return_gen=True, save_sampler_config=False)``: with
  ``output_dir``, each sample is written as ``%08d.png`` (Pythae's names), and with ``save_sampler_config``
  the config as ``sampler_config.json``; ``seed=`` (gaekit's) makes the draw reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from gaekit.errors import ConfigError
from gaekit.images import is_image_shape, save_image_grid
from gaekit.pythae._configs import sampler_config_classes
from gaekit.pythae._submodules import SAMPLER_MODULES, export_classes, register_submodules
from gaekit.pythae.data.datasets import as_gaekit_data
from gaekit.samplers import SAMPLERS, BaseSampler
from gaekit.samplers.pythae_config import PYTHAE_SAMPLER_NAMES, trained_sampler_fields

__all__ = ["BaseSampler", "pythae_sampler_class"]


class PythaeSampling:
    """Pythae's ``fit`` and ``sample`` on a gaekit sampler (the mixin of every sampler of this module)."""

    def fit(self, train_data: Any = None, eval_data: Any = None, training_config: Any = None,
            **kwargs: Any) -> Any:
        """Fit on ``train_data`` (a no-op for samplers that need no fitting).

        Raises
        ------
        ConfigError
            ``training_config`` for a sampler that trains nothing, or a setting its fit cannot follow; an
            unknown keyword.
        """
        unknown = sorted(set(kwargs) - {"batch_size"})
        if unknown:
            raise ConfigError(f"{type(self).__name__}.fit: unknown argument(s) {unknown}")
        if training_config is not None:
            if "num_epochs" not in self.sampler_config.accepted_keys():
                raise ConfigError(f"{type(self).__name__} trains no model: training_config is not used; leave it out")
            self.sampler_config = self.sampler_config.replace(**trained_sampler_fields(training_config))
        if not self.needs_fit:
            return self
        return super().fit(as_gaekit_data(train_data), as_gaekit_data(eval_data), **kwargs)

    def sample(self, num_samples: int = 1, batch_size: int = 500, output_dir: str | None = None,
               return_gen: bool = True, save_sampler_config: bool = False, seed: int | None = None,
               return_latents: bool = False) -> Tensor | tuple[Tensor, Tensor] | None:
        """Draw ``num_samples`` samples (see the module docstring); ``None`` unless ``return_gen``."""
        if save_sampler_config and output_dir is None:
            raise ConfigError("save_sampler_config=True needs output_dir (sampler_config.json is written there)")
        drawn = super().sample(num_samples, batch_size=batch_size, seed=seed, return_latents=return_latents)
        samples = drawn[0] if return_latents else drawn
        if output_dir is not None:
            _write_images(samples, Path(output_dir))
            if save_sampler_config:
                self.sampler_config.to_json(Path(output_dir) / "sampler_config.json")
        return drawn if return_gen else None


def _write_images(samples: Tensor, folder: Path) -> None:
    if not is_image_shape(tuple(samples.shape[1:])):
        raise ConfigError(f"output_dir: samples of shape {tuple(samples.shape[1:])} are not images (C, H, W) with "
                          "C 1 or 3; leave output_dir out and keep the returned tensor")
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(samples):
        save_image_grid(image[None], folder / f"{i:08d}.png", nrow=1, padding=0)


_CLASSES: dict[str, type] = {}


def pythae_sampler_class(name: str) -> type:
    """The sampler of this module for gaekit's sampler ``name`` (e.g. ``"NormalSampler"``)."""
    if name not in _CLASSES:
        base = SAMPLERS.get(name)
        _CLASSES[name] = type(name, (PythaeSampling, base), {"__module__": __name__, "__doc__": base.__doc__})
    return _CLASSES[name]


for _config, _sampler in PYTHAE_SAMPLER_NAMES.items():
    if _sampler is not None:
        globals()[_sampler] = pythae_sampler_class(_sampler)
        __all__.append(_sampler)
export_classes(__name__, globals(), sampler_config_classes())
del _config, _sampler
register_submodules(__name__, globals(), {sub: (cls, f"{cls}Config") for sub, cls in SAMPLER_MODULES.items()})
