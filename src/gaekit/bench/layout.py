"""On-disk layout of a benchmark study: the contract between runner, executors and report.

A study folder is self-describing and mergeable: shards run on different machines write disjoint
``runs/<run_id>/`` folders, which are combined by copying them side by side::

    <study_dir>/
      study.json                   the resolved StudySpec (``StudySpec.to_dict()``) and its ``spec_hash``
      runs/<run_id>/
        run.json                   RunRecord: the run's coordinates, status, attempts (lr, outcome), timings
        model/                     the trained model (best on validation), a standard gaekit model folder
        training/                  trainer output: checkpoints while running, history.json
        metrics/validation.json    {"schema_version", "split": "validation", "result": EvaluationResult.to_dict()}
        metrics/test.json          {"schema_version", "split": "test", "result": EvaluationResult.to_dict()}
        images/<split>/            PNG grids written by the evaluation (samples per sampler, reconstructions, ...)
      report/                      report.md, report.html and figures/, written by ``gaekit bench report``

``run_id`` is ``<dataset>-<network>-<model label>-c<config index, 2 digits>-d<latent dim>-s<seed>`` with every
character outside ``[A-Za-z0-9._-]`` replaced by ``_``; it is unique within a study and stable across machines.
"""

from __future__ import annotations

import re

SCHEMA_VERSION = 1

STUDY_FILE = "study.json"
RUNS_DIR = "runs"
RUN_FILE = "run.json"
MODEL_DIR = "model"
TRAINING_DIR = "training"
METRICS_DIR = "metrics"
IMAGES_DIR = "images"
REPORT_DIR = "report"
SPLITS = ("validation", "test")

# Values of RunRecord.status.
PENDING, RUNNING, FINISHED, FAILED = "pending", "running", "finished", "failed"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def run_id(dataset: str, network: str, model: str, config_index: int, latent_dim: int, seed: int) -> str:
    """The folder name of one run (see the module docstring)."""
    raw = f"{dataset}-{network}-{model}-c{config_index:02d}-d{latent_dim}-s{seed}"
    return _UNSAFE.sub("_", raw)


def metrics_file(split: str) -> str:
    """Path of a split's metrics file, relative to the run folder."""
    return f"{METRICS_DIR}/{split}.json"
