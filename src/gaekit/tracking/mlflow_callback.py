"""``MLflowCallback``: params, step and epoch metrics, image grids and the final model folder in an MLflow run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaekit._extras import require_extra
from gaekit.tracking.base import TrackingCallback

if TYPE_CHECKING:
    import numpy as np

    from gaekit.trainers.trainer import Trainer

_MAX_PARAMS, _MAX_METRICS = 100, 1000  # MLflow's per-request limits of log_batch


class MLflowCallback(TrackingCallback):
    """Log a training run to MLflow (extra ``mlflow``) through ``MlflowClient``, without global state.

    Params are the flattened model and trainer configs (``model.latent_dim``,
    ``trainer.learning_rate``, ...); metrics as in ``TrackingCallback``; the image grids of
    ``TrainerConfig.images_every_n_epochs`` as MLflow images with key ``images/<kind>`` and the step;
    the final model folder is logged as the artifact directory ``final_model``.

    Parameters
    ----------
    tracking_uri : str, optional
        E.g. ``"sqlite:///mlflow.db"`` or ``"http://host:5000"``; default: MLflow's own
        (``MLFLOW_TRACKING_URI``).
    experiment_name : str, default "gaekit"
        Created when missing.
    artifact_location : str, optional
        Artifact root of the experiment when this callback creates it (MLflow's default otherwise).
    run_name : str, optional
        Default: the trainer's run folder name.
    tags : dict, optional
    log_model : bool, default True
        Log the final model folder as an artifact.
    log_every_n_steps : int or None
        See ``TrackingCallback``.

    Examples
    --------
    >>> cb = MLflowCallback(tracking_uri="sqlite:///mlflow.db", experiment_name="mnist")  # doctest: +SKIP
    >>> Trainer(model, config, train_data=x, callbacks=[cb]).train()                       # doctest: +SKIP
    >>> cb.run_id                                                                          # doctest: +SKIP
    """

    backend = "MLflow"

    def __init__(self, tracking_uri: str | None = None, experiment_name: str = "gaekit",
                 artifact_location: str | None = None, run_name: str | None = None,
                 tags: dict[str, str] | None = None, log_model: bool = True, log_every_n_steps: int | None = None):
        super().__init__(log_every_n_steps)
        require_extra("mlflow", "mlflow", "MLflowCallback")
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.artifact_location = artifact_location
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.log_model_folder = log_model
        self.client: Any = None
        self.run_id: str | None = None

    def start(self, trainer: Trainer, params: dict[str, Any]) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.tracking_uri)
        experiment = self.client.get_experiment_by_name(self.experiment_name)
        experiment_id = (experiment.experiment_id if experiment is not None else
                         self.client.create_experiment(self.experiment_name, self.artifact_location))
        run_name = self.run_name or (trainer.run_dir.name if trainer.run_dir is not None else None)
        self.run_id = self.client.create_run(experiment_id, run_name=run_name, tags=self.tags).info.run_id
        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), _MAX_PARAMS):
            self.client.log_batch(self.run_id, params=items[i:i + _MAX_PARAMS])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        items = [Metric(k, v, stamp, step) for k, v in metrics.items()]
        for i in range(0, len(items), _MAX_METRICS):
            self.client.log_batch(self.run_id, metrics=items[i:i + _MAX_METRICS])

    def log_images(self, grids: dict[str, np.ndarray], step: int) -> None:
        for kind, grid in grids.items():
            self.client.log_image(self.run_id, grid, key=f"images/{kind}", step=step)

    def log_model(self, folder: Path) -> None:
        if self.log_model_folder:
            self.client.log_artifacts(self.run_id, str(folder), artifact_path="final_model")

    def close(self, failed: bool = False) -> None:
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")
