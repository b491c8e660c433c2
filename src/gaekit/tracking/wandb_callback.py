"""``WandbCallback``: params, step and epoch metrics, and the final model folder in a Weights & Biases run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gaekit._extras import require_extra
from gaekit.tracking.base import TrackingCallback

if TYPE_CHECKING:
    import numpy as np

    from gaekit.trainers.trainer import Trainer


class WandbCallback(TrackingCallback):
    """Log a training run to Weights & Biases (extra ``wandb``).

    The run's config is the flattened model and trainer configs; metrics as in
    ``TrackingCallback``, logged at the global step, with the image grids of
    ``TrainerConfig.images_every_n_epochs`` as ``images/<kind>`` images; the final model folder is logged as a
    ``model`` artifact named ``<Model>-<run id>``. ``mode="offline"`` (or ``WANDB_MODE=offline``)
    writes the run under ``dir`` without network, for ``wandb sync`` later.

    Parameters
    ----------
    project : str, default "gaekit"
    entity : str, optional
    run_name : str, optional
        Default: the trainer's run folder name.
    mode : {"online", "offline", "disabled"}, optional
        Default: W&B's own (``WANDB_MODE``, else online).
    dir : str or Path, optional
        Where W&B writes its ``wandb/`` folder; default: the trainer's run folder when there is one.
    tags : list of str, optional
    log_model : bool, default True
    log_every_n_steps : int or None
        See ``TrackingCallback``.

    Examples
    --------
    >>> cb = WandbCallback(project="gaekit-mnist", mode="offline")          # doctest: +SKIP
    >>> Trainer(model, config, train_data=x, callbacks=[cb]).train()        # doctest: +SKIP
    """

    backend = "W&B"

    def __init__(self, project: str = "gaekit", entity: str | None = None, run_name: str | None = None,
                 mode: Literal["online", "offline", "disabled"] | None = None, dir: str | Path | None = None,
                 tags: list[str] | None = None, log_model: bool = True, log_every_n_steps: int | None = None):
        super().__init__(log_every_n_steps)
        require_extra("wandb", "wandb", "WandbCallback")
        self.project, self.entity, self.run_name, self.mode = project, entity, run_name, mode
        self.dir = dir
        self.tags = list(tags or [])
        self.log_model_folder = log_model
        self.run: Any = None

    def start(self, trainer: Trainer, params: dict[str, Any]) -> None:
        import wandb

        folder = self.dir if self.dir is not None else trainer.run_dir
        self.run = wandb.init(
            project=self.project, entity=self.entity, mode=self.mode, tags=self.tags or None, config=params,
            name=self.run_name or (trainer.run_dir.name if trainer.run_dir is not None else None),
            dir=str(folder) if folder is not None else None, reinit="create_new",
        )

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def log_images(self, grids: dict[str, np.ndarray], step: int) -> None:
        import wandb

        self.run.log({f"images/{kind}": wandb.Image(grid, caption=kind) for kind, grid in grids.items()}, step=step)

    def log_model(self, folder: Path) -> None:
        if not self.log_model_folder:
            return
        import wandb

        model_name = self.run.config.get("model.name", "model")
        artifact = wandb.Artifact(f"{model_name}-{self.run.id}", type="model")
        artifact.add_dir(str(folder))
        self.run.log_artifact(artifact)

    def close(self, failed: bool = False) -> None:
        self.run.finish(exit_code=1 if failed else 0)
