"""``TensorBoardCallback``: scalar curves and sample/reconstruction image grids in TensorBoard event files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaekit._extras import require_extra
from gaekit.images import is_image_shape
from gaekit.models.base import BaseAE
from gaekit.tracking.base import TrackingCallback, check_positive_int, image_grids, output_dir

if TYPE_CHECKING:
    import numpy as np

    from gaekit.trainers.trainer import Trainer


class TensorBoardCallback(TrackingCallback):
    """Write TensorBoard event files (extra ``tensorboard``).

    Scalars as in ``TrackingCallback``; the flattened configs as a text summary ``params``;
    every ``images_every_n_epochs`` epochs, for models of image data (``input_dim`` of
    ``(C, H, W)`` with C 1 or 3), the image grids ``images/samples`` (``num_images`` draws from
    the model's prior, with a fixed seed so epochs are comparable) and
    ``images/reconstructions`` (the first ``num_images`` evaluation samples, or training
    samples without eval data, above their reconstructions). When ``TrainerConfig.images_every_n_epochs``
    is set, the trainer's images are logged under the same tags instead, at its interval.

    Parameters
    ----------
    log_dir : str or Path, optional
        Default: ``<run folder>/tensorboard``.
    images_every_n_epochs : int or None, default 1
        ``None`` logs no images of the callback's own (those of ``TrainerConfig.images_every_n_epochs``
        are still logged).
    num_images : int, default 16
    log_every_n_steps : int or None
        See ``TrackingCallback``.

    Examples
    --------
    >>> Trainer(model, config, train_data=x, callbacks=[TensorBoardCallback()]).train()  # doctest: +SKIP
    >>> # then: tensorboard --logdir <output_dir>
    """

    backend = "TensorBoard"

    def __init__(self, log_dir: str | Path | None = None, images_every_n_epochs: int | None = 1,
                 num_images: int = 16, log_every_n_steps: int | None = None):
        super().__init__(log_every_n_steps)
        require_extra("tensorboard", "tensorboard", "TensorBoardCallback")
        check_positive_int(self, "images_every_n_epochs", images_every_n_epochs, allow_none=True)
        check_positive_int(self, "num_images", num_images)
        self.log_dir = log_dir
        self.images_every_n_epochs = images_every_n_epochs
        self.num_images = num_images
        self.writer: Any = None

    def start(self, trainer: Trainer, params: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        folder = self.log_dir
        if folder is None:
            folder = output_dir(self, trainer, None, "log_dir") / "tensorboard"
        self.writer = SummaryWriter(log_dir=str(folder))
        table = "\n".join(f"| {k} | {json.dumps(v)} |" for k, v in params.items())
        self.writer.add_text("params", "| param | value |\n|---|---|\n" + table, 0)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, step)

    def log_epoch(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        super().log_epoch(trainer, metrics)
        every = self.images_every_n_epochs
        model = trainer.model
        if (every is not None and trainer.config.images_every_n_epochs is None and trainer.state.epoch % every == 0
                and isinstance(model, BaseAE) and is_image_shape(model.input_dim)):
            self.log_images(image_grids(trainer.prediction_images(self.num_images)), trainer.state.global_step)
        self.writer.flush()

    def log_images(self, grids: dict[str, np.ndarray], step: int) -> None:
        for kind, grid in grids.items():
            self.writer.add_image(f"images/{kind}", grid, step, dataformats="HWC")
        self.writer.flush()

    def close(self, failed: bool = False) -> None:
        self.writer.close()

