"""The runs of a study: expansion of a spec into the ordered run list, sharding, ``run.json`` records and
the per-run lock.

The run list is the product datasets x networks x latent dims x models x configurations x seeds, in
that nesting order (the spec's order at each level); it is the same on every machine, so
``--shard i/n`` (runs ``i, i + n, i + 2n, ...``, 1-based) partitions it deterministically.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gaekit.bench import layout
from gaekit.bench.spec import StudySpec
from gaekit.errors import ConfigError
from gaekit.locks import run_lock  # noqa: F401 (re-exported: the per-run lock)

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class RunSpec:
    """The coordinates of one run (what makes it unique in a study)."""

    dataset: str
    network: str
    model: str  # the label
    model_name: str  # the registry name
    config_index: int  # 1-based
    config: dict[str, Any]
    source: str | None
    latent_dim: int
    seed: int

    @property
    def run_id(self) -> str:
        return layout.run_id(self.dataset, self.network, self.model, self.config_index, self.latent_dim, self.seed)

    @property
    def train_seed(self) -> int:
        """Seed of weights and data order: differs per configuration (so repeated configurations differ)."""
        return self.seed * 1000 + self.config_index

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand(spec: StudySpec) -> list[RunSpec]:
    """Every run of ``spec``, in the study's fixed order."""
    runs = []
    for dataset in spec.datasets:
        for network in spec.networks:
            for latent_dim in spec.latent_dims[dataset]:
                for m in spec.models:
                    for index in range(1, len(m.configs) + 1):
                        for seed in spec.seeds:
                            runs.append(RunSpec(dataset, network, m.label, m.model, index, m.model_fields(index),
                                                m.source, latent_dim, seed))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ConfigError(f"model labels give clashing run ids once made file-safe: {dupes[:3]}; rename the labels")
    return runs


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``1 <= i <= n``."""
    match = _SHARD.match(text or "")
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ConfigError(f"--shard={text!r} is invalid: expected i/n with 1 <= i <= n, e.g. 1/4")
    return int(match.group(1)), int(match.group(2))


def shard(runs: list[RunSpec], index: int, count: int) -> list[RunSpec]:
    """Shard ``index`` of ``count`` (1-based): every ``count``-th run starting at run ``index``."""
    return runs[index - 1::count]


def now() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    """The content of ``run.json`` (see the bench contract for every key)."""

    run_id: str
    dataset: str
    network: str
    model: str
    model_name: str
    config_index: int
    config: dict[str, Any]
    source: str | None
    latent_dim: int
    seed: int
    train_seed: int
    schema_version: int = layout.SCHEMA_VERSION
    status: str = layout.PENDING
    attempts: list[dict[str, Any]] = field(default_factory=list)
    learning_rate: float | None = None
    num_epochs: int | None = None
    train_seconds: float | None = None
    eval_seconds: float | None = None
    num_parameters: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, run: RunSpec) -> RunRecord:
        return cls(run_id=run.run_id, dataset=run.dataset, network=run.network, model=run.model,
                   model_name=run.model_name, config_index=run.config_index, config=dict(run.config),
                   source=run.source, latent_dim=run.latent_dim, seed=run.seed, train_seed=run.train_seed)

    @classmethod
    def read(cls, path: Path) -> RunRecord | None:
        """The record in ``path`` (a ``run.json``), or None when there is none yet."""
        from gaekit.serialization import read_json

        path = Path(path)
        if not path.is_file():
            return None
        data = read_json(path, "run record")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def write(self, path: Path) -> None:
        from gaekit.serialization import write_json

        write_json(Path(path), asdict(self))

    @property
    def done(self) -> bool:
        return self.status in (layout.FINISHED, layout.FAILED)


def run_dir(study_dir: Path, run: RunSpec) -> Path:
    return Path(study_dir) / layout.RUNS_DIR / run.run_id


def read_record(study_dir: Path, run: RunSpec) -> RunRecord | None:
    return RunRecord.read(run_dir(study_dir, run) / layout.RUN_FILE)
