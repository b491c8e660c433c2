"""A training run's folder: ``<Model>_training_<time>[_N]`` created without clashes, and its lock."""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path

from gaekit.errors import TrainingError
from gaekit.locks import LOCK_FILE, acquire_lock, remove_leftovers
from gaekit.serialization import check_output_folder


def check_output_dir(path: str | Path, what: str = "TrainerConfig.output_dir") -> None:
    """``ConfigError`` naming ``what`` (e.g. ``--output-dir``) unless folders can be made under ``path``
    (see ``gaekit.serialization.check_output_folder``); nothing is created."""
    check_output_folder(path, what)


class RunFolders:
    """Trainer mixin: the run folder (made by rank 0 and broadcast) and ``run_dir/.lock`` while training.

    Uses the trainer's ``config``, ``model``, ``parallel``, ``run_dir`` and ``is_main_process``.
    """

    def _make_run_dir(self) -> Path | None:
        if self.config.output_dir is None:
            return None
        run_dir = self._create_run_dir() if self.is_main_process else None
        return run_dir if self.parallel is None else self.parallel.broadcast_object(run_dir)

    def _create_run_dir(self) -> Path:
        """A new ``<Model>_training_<time>[_N]`` folder: ``mkdir`` decides, so concurrent runs never share one."""
        parent = Path(self.config.output_dir)
        parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        base = f"{self.model.model_config.name}_training_{stamp}"
        for n in itertools.count():
            run_dir = parent / (base if n == 0 else f"{base}_{n}")
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            return run_dir
        raise AssertionError("unreachable")  # pragma: no cover

    def _lock_run_dir(self) -> bool:
        """Hold ``run_dir/.lock`` (rank 0) and clean what killed processes left; TrainingError if it is held."""
        holder = None
        if self.run_dir is not None and self.is_main_process:
            holder = acquire_lock(self.run_dir)
            if holder is None:
                remove_leftovers(self.run_dir)
        if self.parallel is not None:
            holder = self.parallel.broadcast_object(holder)
        if holder is not None:
            host, pid = holder
            raise TrainingError(f"run folder {self.run_dir} is in use by another trainer: process {pid} on host "
                                f"{host!r} holds {self.run_dir / LOCK_FILE}. Wait for it to end (a lock left by a "
                                "dead process on this host is taken over), or resume into another copy of the folder")
        return self.run_dir is not None and self.is_main_process
