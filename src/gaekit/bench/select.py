"""Load a benchmark study folder and select each model's configuration per task, as the paper does.

Chadebec et al. 2022 (arXiv:2206.08309), Section 4.2 and Appendix B: for every (dataset, network,
latent dimension, model) group of runs, one configuration is chosen per task on the validation
split and its test-split numbers are reported:

- reconstruction: lowest validation MSE -> test MSE and test reconstruction FID (Table 1);
- generation: per sampler, lowest validation FID -> test FID and IS (Tables 3 and 7);
- classification: highest mean validation accuracy of the linear probes -> mean test accuracy (Table 2);
- clustering: highest mean k-means accuracy on the training embeddings (Table 2);
- interpolation: lowest validation FID with the GMM sampler, else with the prior (N(0, I), or the
  VampPrior for VAMP) (Figs. 3-8), else the reconstruction choice;
- training time: the configuration chosen for generation with the GMM sampler, else with the sampler
  best on validation, else the reconstruction choice (Fig. 14).

With several seeds a configuration is judged on its mean over seeds and reported as mean (std over
seeds, ``ddof=0``); with one seed the reported std is the metric's own spread where it has one (the
20 classifier runs, the 100 k-means runs, as in Table 2). Ties go to the lowest configuration index.
Only finished runs are used; failed and unfinished runs are listed by :class:`Study`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaekit.bench import layout
from gaekit.errors import DataError

Getter = Callable[[dict[str, Any]], Any]


# ---------------------------------------------------------------------- metric access
def _section(result: dict[str, Any] | None, task: str) -> dict[str, Any]:
    return (result or {}).get(task) or {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _score_key(result: dict[str, Any], kind: str, section: dict[str, Any]) -> str | None:
    """``fid``/``is`` key of this result's feature extractor (``fid``, ``fid_mnist``, ...)."""
    key = ((result or {}).get("extractor") or {}).get(f"{kind}_key")
    if key is None:
        key = next((k for k in section if k == kind or (k.startswith(f"{kind}_") and not k.endswith("_std"))), None)
    return key


def sampler_label(key: str) -> str:
    """The study's name of a sampler from a generation result key (``NormalSampler`` -> ``normal``)."""
    from gaekit.samplers import SAMPLER_ALIASES

    base = key.rsplit("_", 1)[0] if key.rsplit("_", 1)[-1].isdigit() else key
    inverse = {cls: alias for alias, cls in SAMPLER_ALIASES.items()}
    return inverse.get(base, base) + key[len(base):]


def generation_entries(result: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Generation results keyed by sampler label (see :func:`sampler_label`)."""
    return {sampler_label(k): v for k, v in _section(result, "generation").items() if isinstance(v, dict)}


def recon_mse(result: dict[str, Any]) -> float | None:
    return _number(_section(result, "reconstruction").get("mse"))


def recon_fid(result: dict[str, Any]) -> float | None:
    section = _section(result, "reconstruction")
    key = _score_key(result, "fid", section)
    return _number(section.get(key)) if key else None


def generation_score(sampler: str, kind: str) -> Getter:
    """Getter of a sampler's ``fid`` or ``is`` in a result."""

    def get(result: dict[str, Any]) -> float | None:
        entry = generation_entries(result).get(sampler) or {}
        key = _score_key(result, kind, entry)
        return _number(entry.get(key)) if key else None

    return get


def field_of(task: str, name: str) -> Getter:
    """Getter of ``result[task][name]`` (e.g. ``classification``/``test_accuracy_mean``)."""
    return lambda result: _number(_section(result, task).get(name))


def fid_key(result: dict[str, Any] | None) -> str | None:
    """The FID metric name of a result (``fid`` means Inception features, comparable with the paper)."""
    return ((result or {}).get("extractor") or {}).get("fid_key")


# ---------------------------------------------------------------------- runs and studies
@dataclass
class Run:
    """One run folder: its ``run.json`` record and its metrics files (``result`` dicts by split)."""

    path: Path
    record: dict[str, Any]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.record.get("run_id") or self.path.name)

    @property
    def status(self) -> str:
        return str(self.record.get("status", layout.PENDING))

    @property
    def model(self) -> str:
        return str(self.record.get("model") or self.record.get("model_name") or "?")

    @property
    def key(self) -> tuple[str, str, int, str]:
        """(dataset, network, latent_dim, model label): the selection group."""
        return (str(self.record.get("dataset")), str(self.record.get("network")),
                int(self.record.get("latent_dim") or 0), self.model)

    @property
    def config_index(self) -> int:
        return int(self.record.get("config_index") or 0)

    def value(self, split: str, getter: Getter) -> float | None:
        """A metric of one split's result, None when missing."""
        result = self.results.get(split)
        return None if result is None else getter(result)


@dataclass(frozen=True)
class Stat:
    """A number averaged over seeds.

    ``std`` is the spread over seeds when ``n > 1``, else the metric's own spread (``over`` says
    which, e.g. "seeds", "classifier runs"), or None.
    """

    mean: float
    std: float | None
    n: int
    over: str | None = None


def aggregate(runs: list[Run], split: str, getter: Getter, own_std: tuple[Getter, str] | None = None) -> Stat | None:
    """Mean (std) of a metric over the runs (seeds) that have it; None when none has it."""
    values = [v for v in (r.value(split, getter) for r in runs) if v is not None]
    if not values:
        return None
    mean = sum(values) / len(values)
    if len(values) > 1:
        return Stat(mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)), len(values), "seeds")
    if own_std is not None:
        spread = next((s for s in (r.value(split, own_std[0]) for r in runs) if s is not None), None)
        if spread is not None:
            return Stat(mean, spread, 1, own_std[1])
    return Stat(mean, None, 1)


def record_stat(runs: list[Run], name: str) -> Stat | None:
    """Mean (std over seeds) of a numeric ``run.json`` field such as ``train_seconds``."""
    values = [v for v in (_number(r.record.get(name)) for r in runs) if v is not None]
    if not values:
        return None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) if len(values) > 1 else None
    return Stat(mean, std, len(values), "seeds" if len(values) > 1 else None)


@dataclass
class Study:
    """A study folder: ``study.json`` (or ``{}``), every readable run, and notes on what was skipped."""

    path: Path
    spec: dict[str, Any]
    runs: list[Run]
    notes: list[str] = field(default_factory=list)

    def by_status(self, *statuses: str) -> list[Run]:
        return [r for r in self.runs if r.status in statuses]

    @property
    def finished(self) -> list[Run]:
        return self.by_status(layout.FINISHED)

    @property
    def failed(self) -> list[Run]:
        return self.by_status(layout.FAILED)

    @property
    def unfinished(self) -> list[Run]:
        """Pending or running runs: ignored by the selection."""
        return [r for r in self.runs if r.status not in (layout.FINISHED, layout.FAILED)]

    def groups(self) -> list[Group]:
        """Finished runs grouped by (dataset, network, latent_dim, model), in report order."""
        groups: dict[tuple[str, str, int, str], Group] = {}
        for run in self.finished:
            group = groups.setdefault(run.key, Group(*run.key))
            group.configs.setdefault(run.config_index, []).append(run)
        return [groups[k] for k in sorted(groups, key=sort_key)]


def sort_key(key: tuple[str, str, int, str]) -> tuple:
    """Order (dataset, network, latent_dim, model) as the paper's tables do, unknown names last."""
    from gaekit.bench.grids import PAPER_MODEL_ORDER

    datasets, networks, models = ["mnist", "cifar10", "celeba"], ["convnet", "resnet"], list(PAPER_MODEL_ORDER)

    def rank(order: list[str], name: str) -> tuple[int, str]:
        return (order.index(name), "") if name in order else (len(order), name)

    dataset, network, latent_dim, model = key
    return rank(datasets, dataset), rank(networks, network), latent_dim, rank(models, model)


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


def load_study(study_dir: str | Path) -> Study:
    """Read ``study.json``, ``runs/*/run.json`` and their ``metrics/<split>.json``.

    Unreadable files are skipped with a note (a run being written by another process, a partial
    copy); a missing metrics file simply leaves that split's numbers missing.

    Raises
    ------
    DataError
        ``study_dir`` is not a folder, or holds neither ``study.json`` nor ``runs/``.
    """
    root = Path(study_dir)
    runs_dir = root / layout.RUNS_DIR
    if not root.is_dir() or not ((root / layout.STUDY_FILE).is_file() or runs_dir.is_dir()):
        raise DataError(f"{root} is not a benchmark study folder: expected {layout.STUDY_FILE} and/or "
                        f"{layout.RUNS_DIR}/ (written by `gaekit bench`)")
    notes: list[str] = []
    spec: dict[str, Any] = {}
    if (root / layout.STUDY_FILE).is_file():
        try:
            spec = _read(root / layout.STUDY_FILE)
        except (OSError, ValueError) as err:
            notes.append(f"{layout.STUDY_FILE} could not be read ({err}); study settings not shown")
    runs = []
    for run_file in sorted(runs_dir.glob(f"*/{layout.RUN_FILE}")) if runs_dir.is_dir() else []:
        try:
            record = _read(run_file)
        except (OSError, ValueError) as err:
            notes.append(f"{run_file.parent.name}: {layout.RUN_FILE} could not be read ({err}); run skipped")
            continue
        if int(record.get("schema_version", layout.SCHEMA_VERSION)) > layout.SCHEMA_VERSION:
            notes.append(f"{run_file.parent.name}: written with a newer schema "
                         f"({record.get('schema_version')} > {layout.SCHEMA_VERSION}); read as far as understood")
        run = Run(run_file.parent, record)
        for split in layout.SPLITS:
            metrics_path = run.path / layout.metrics_file(split)
            if metrics_path.is_file():
                try:
                    run.results[split] = _read(metrics_path).get("result") or {}
                except (OSError, ValueError) as err:
                    notes.append(f"{run.run_id}: {metrics_path.name} could not be read ({err})")
        runs.append(run)
    return Study(root, spec, runs, notes)


# ---------------------------------------------------------------------- selection
@dataclass
class Group:
    """The finished runs of one (dataset, network, latent_dim, model), by configuration index."""

    dataset: str
    network: str
    latent_dim: int
    model: str
    configs: dict[int, list[Run]] = field(default_factory=dict)

    @property
    def setting(self) -> tuple[str, str, int]:
        return self.dataset, self.network, self.latent_dim

    def samplers(self) -> list[str]:
        """Sampler labels with generation results in any run, in first-seen order."""
        seen: dict[str, None] = {}
        for runs in self.configs.values():
            for run in runs:
                for split in layout.SPLITS:
                    seen.update(dict.fromkeys(generation_entries(run.results.get(split))))
        return list(seen)


@dataclass
class Choice:
    """The configuration chosen for one task: its seeds, the validation criterion, the reported values."""

    config_index: int
    runs: list[Run]
    criterion: Stat
    values: dict[str, Stat | None] = field(default_factory=dict)


def choose(group: Group, split: str, getter: Getter, lower_is_better: bool) -> Choice | None:
    """The configuration with the best mean ``getter`` over seeds on ``split``; None when no run has it."""
    scored = [(stat, index) for index in sorted(group.configs)
              if (stat := aggregate(group.configs[index], split, getter)) is not None]
    if not scored:
        return None
    stat, index = min(scored, key=lambda item: (item[0].mean if lower_is_better else -item[0].mean, item[1]))
    return Choice(index, group.configs[index], stat)


@dataclass
class Selection:
    """Every task's choice for one group (None where the study has no such numbers)."""

    group: Group
    reconstruction: Choice | None = None
    generation: dict[str, Choice] = field(default_factory=dict)
    classification: Choice | None = None
    clustering: Choice | None = None

    @property
    def best_sampler(self) -> str | None:
        """The sampler whose chosen configuration has the lowest validation FID."""
        if not self.generation:
            return None
        return min(self.generation, key=lambda s: self.generation[s].criterion.mean)

    @property
    def interpolation(self) -> Choice | None:
        """GMM's choice, else the prior's (N(0, I), or VAMP's own), else the reconstruction choice (App. B)."""
        g = self.generation
        return g.get("gmm") or g.get("normal") or g.get("vamp") or self.reconstruction

    @property
    def training(self) -> Choice | None:
        """GMM's choice, else the best sampler's, else the reconstruction choice (Fig. 14)."""
        best = self.best_sampler
        return self.generation.get("gmm") or (self.generation[best] if best else None) or self.reconstruction

    def train_seconds(self) -> Stat | None:
        choice = self.training
        return None if choice is None else record_stat(choice.runs, "train_seconds")

    def chosen_for(self, config_index: int) -> list[str]:
        """Tasks for which ``config_index`` was chosen (for the per-configuration table)."""
        tasks = [(t, getattr(self, t)) for t in ("reconstruction", "classification", "clustering")]
        tasks += [(f"generation:{s}", c) for s, c in self.generation.items()]
        return [name for name, choice in tasks if choice is not None and choice.config_index == config_index]


def select(group: Group) -> Selection:
    """Choose each task's configuration of ``group`` on validation and gather its test numbers."""
    selection = Selection(group)
    rec = choose(group, "validation", recon_mse, lower_is_better=True)
    if rec is not None:
        rec.values = {"mse": aggregate(rec.runs, "test", recon_mse), "fid": aggregate(rec.runs, "test", recon_fid)}
        selection.reconstruction = rec
    for sampler in group.samplers():
        gen = choose(group, "validation", generation_score(sampler, "fid"), lower_is_better=True)
        if gen is not None:
            gen.values = {"fid": aggregate(gen.runs, "test", generation_score(sampler, "fid")),
                          "is": aggregate(gen.runs, "test", generation_score(sampler, "is"))}
            selection.generation[sampler] = gen
    cls = choose(group, "test", field_of("classification", "validation_accuracy_mean"), lower_is_better=False)
    if cls is not None:
        own = (field_of("classification", "test_accuracy_std"), "classifier runs")
        cls.values = {"accuracy": aggregate(cls.runs, "test", field_of("classification", "test_accuracy_mean"), own)}
        selection.classification = cls
    clu = choose(group, "test", field_of("clustering", "accuracy_mean"), lower_is_better=False)
    if clu is not None:
        own = (field_of("clustering", "accuracy_std"), "k-means runs")
        clu.values = {"accuracy": aggregate(clu.runs, "test", field_of("clustering", "accuracy_mean"), own)}
        selection.clustering = clu
    return selection


def select_study(study: Study) -> list[Selection]:
    """:func:`select` for every group of the study, in report order."""
    return [select(group) for group in study.groups()]
