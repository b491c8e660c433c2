"""``CometCallback``: params, step and epoch metrics, image grids and the final model in a Comet offline archive."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaekit._extras import require_extra
from gaekit.tracking.base import TrackingCallback, output_dir

if TYPE_CHECKING:
    import numpy as np

    from gaekit.trainers.trainer import Trainer


class CometCallback(TrackingCallback):
    """Log a training run to a Comet ``OfflineExperiment`` (extra ``comet``): no account or network needed.

    Params are the flattened model and trainer configs (``model.latent_dim``, ``trainer.learning_rate``,
    ...); metrics as in ``TrackingCallback``, at the global step; the image grids of
    ``TrainerConfig.images_every_n_epochs`` as images named ``images/<kind>``; the final model folder as
    a Comet model named after the model (``VAE``, ...). When the run ends, Comet writes the archive
    ``<offline_directory>/<experiment id>.zip`` (``archive_path``); ``comet upload <archive>`` sends it to a
    Comet server later. The run's "other" value ``gaekit_status`` is ``"finished"``, or ``"failed"`` when
    training stopped on an error. Comet's automatic logging (of the frameworks it patches) is turned off:
    only what this callback logs is recorded (and torch, TensorBoard and MLflow are left unpatched); nothing is
    sent over the network, not even Comet's error reports. Building the callback sets
    ``COMET_DISABLE_AUTO_LOGGING=1`` and ``COMET_ERROR_TRACKING_ENABLE=false`` in the environment unless they
    are set already (Comet reads them when first imported).

    Parameters
    ----------
    project_name : str, default "gaekit"
    workspace : str, optional
    experiment_name : str, optional
        Default: the trainer's run folder name.
    offline_directory : str or Path, optional
        Default: ``<run folder>/comet``.
    tags : list of str, optional
    log_model : bool, default True
        Log the final model folder.
    log_every_n_steps : int or None
        See ``TrackingCallback``.

    Examples
    --------
    >>> cb = CometCallback(project_name="gaekit-mnist")                  # doctest: +SKIP
    >>> Trainer(model, config, train_data=x, callbacks=[cb]).train()    # doctest: +SKIP
    >>> cb.archive_path                                                 # doctest: +SKIP
    """

    backend = "Comet"

    def __init__(self, project_name: str = "gaekit", workspace: str | None = None, experiment_name: str | None = None,
                 offline_directory: str | Path | None = None, tags: list[str] | None = None, log_model: bool = True,
                 log_every_n_steps: int | None = None):
        super().__init__(log_every_n_steps)
        # before comet_ml is first imported: it patches torch, TensorBoard and MLflow on import unless disabled
        os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
        os.environ.setdefault("COMET_ERROR_TRACKING_ENABLE", "false")
        require_extra("comet_ml", "comet", "CometCallback")
        self.project_name, self.workspace, self.experiment_name = project_name, workspace, experiment_name
        self.offline_directory = offline_directory
        self.tags = list(tags or [])
        self.log_model_folder = log_model
        self.experiment: Any = None
        self.archive_path: Path | None = None
        self._model_name = "model"

    def start(self, trainer: Trainer, params: dict[str, Any]) -> None:
        import comet_ml

        folder = Path(self.offline_directory) if self.offline_directory is not None else (
            output_dir(self, trainer, None, "offline_directory") / "comet")
        folder.mkdir(parents=True, exist_ok=True)
        off = dict.fromkeys(("log_code", "log_graph", "auto_param_logging", "auto_metric_logging", "parse_args",
                             "log_env_details", "log_git_metadata", "log_git_patch", "log_env_gpu", "log_env_host",
                             "log_env_cpu", "log_env_network", "log_env_disk"), False)
        self.experiment = comet_ml.OfflineExperiment(
            project_name=self.project_name, workspace=self.workspace, offline_directory=str(folder),
            auto_output_logging=False, display_summary_level=0, **off)
        self.archive_path = folder / f"{self.experiment.id}.zip"
        name = self.experiment_name or (trainer.run_dir.name if trainer.run_dir is not None else None)
        if name is not None:
            self.experiment.set_name(name)
        if self.tags:
            self.experiment.add_tags(self.tags)
        self._model_name = str(params.get("model.name", "model"))
        self.experiment.log_parameters(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.experiment.log_metrics(metrics, step=step)

    def log_images(self, grids: dict[str, np.ndarray], step: int) -> None:
        from PIL import Image

        for kind, grid in grids.items():
            picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
            self.experiment.log_image(picture, name=f"images/{kind}", step=step)

    def log_model(self, folder: Path) -> None:
        if self.log_model_folder:
            self.experiment.log_model(self._model_name, str(folder))

    def close(self, failed: bool = False) -> None:
        self.experiment.log_other("gaekit_status", "failed" if failed else "finished")
        self.experiment.end()
