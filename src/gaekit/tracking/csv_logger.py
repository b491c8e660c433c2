"""``CSVLogger``: metrics to a CSV file and params to JSON, with no extra dependency."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaekit.serialization import write_json
from gaekit.tracking.base import TrackingCallback, output_dir

if TYPE_CHECKING:
    from gaekit.trainers.trainer import Trainer


class CSVLogger(TrackingCallback):
    """Write ``metrics.csv`` (one row per logging call) and ``params.json`` to a folder.

    ``metrics.csv`` has a ``step`` column (the global step) and one column per metric name
    (``step/loss``, ``epoch/train_loss``, ...); a row leaves the metrics it does not hold empty.
    A run resumed from a checkpoint in the same folder keeps the rows up to the checkpoint's step.

    Parameters
    ----------
    log_dir : str or Path, optional
        Default: the trainer's run folder (``<output_dir>/<Model>_training_<time>``).
    log_every_n_steps : int or None
        See ``TrackingCallback``.

    Examples
    --------
    >>> trainer = Trainer(model, config, train_data=x, callbacks=[CSVLogger()])  # doctest: +SKIP
    """

    backend = "CSV"

    def __init__(self, log_dir: str | Path | None = None, log_every_n_steps: int | None = None):
        super().__init__(log_every_n_steps)
        self.log_dir = log_dir
        self.path: Path | None = None
        self._columns: list[str] = ["step"]
        self._rows: list[dict[str, Any]] = []

    def start(self, trainer: Trainer, params: dict[str, Any]) -> None:
        folder = output_dir(self, trainer, self.log_dir, "log_dir")
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "metrics.csv"
        write_json(folder / "params.json", params)
        self._columns, self._rows = ["step"], []
        if self.path.is_file():  # resumed: keep what was logged up to the checkpoint
            with open(self.path, newline="") as fh:
                reader = csv.DictReader(fh)
                self._columns = list(reader.fieldnames or ["step"])
                self._rows = [row for row in reader if int(row["step"]) <= trainer.state.global_step]
        self._rewrite()

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        row = {"step": step, **metrics}
        self._rows.append(row)
        new = [k for k in metrics if k not in self._columns]
        if new:  # a new column: rewrite the file with the wider header
            self._columns += new
            self._rewrite()
            return
        with open(self.path, "a", newline="") as fh:
            csv.DictWriter(fh, self._columns, restval="").writerow(row)

    def _rewrite(self) -> None:
        with open(self.path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, self._columns, restval="")
            writer.writeheader()
            writer.writerows(self._rows)

    def close(self, failed: bool = False) -> None:
        """Nothing to close: every row is written when logged."""
