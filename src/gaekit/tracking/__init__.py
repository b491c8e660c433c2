"""Experiment tracking: trainer callbacks for MLflow, Weights & Biases, TensorBoard, Comet and CSV files.

Each backend package is imported only when its callback is built; a missing one gives an
error naming the pip extra (``pip install "gaekit[mlflow]"``, ``[wandb]``, ``[tensorboard]``, ``[comet]``).
``CSVLogger`` needs nothing extra.
"""

from gaekit.tracking.base import TrackingCallback, flatten_params, image_grids
from gaekit.tracking.comet_callback import CometCallback
from gaekit.tracking.csv_logger import CSVLogger
from gaekit.tracking.mlflow_callback import MLflowCallback
from gaekit.tracking.tensorboard_callback import TensorBoardCallback
from gaekit.tracking.wandb_callback import WandbCallback

__all__ = ["CSVLogger", "CometCallback", "MLflowCallback", "TensorBoardCallback", "TrackingCallback", "WandbCallback",
           "flatten_params", "image_grids"]
