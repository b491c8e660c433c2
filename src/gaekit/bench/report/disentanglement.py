"""The disentanglement section of the benchmark report, after Locatello et al. 2019 ("Challenging Common
Assumptions in the Unsupervised Learning of Disentangled Representations", ICML): every metric per model and
hyper-parameter value (mean and spread over seeds), each metric's distribution per model over all values and
seeds (their Fig. 3), and the Spearman rank correlations between the metrics over all runs (their Fig. 2).

Unlike the paper-study sections, nothing is selected on validation: the study's point is the spread of the
scores across hyper-parameters and seeds.
"""

from __future__ import annotations

import math

from gaekit.bench import figures
from gaekit.bench.render import Heading, Table, Text
from gaekit.bench.report.cells import fields_cell, num_cell, setting_title
from gaekit.bench.report.context import ReportContext
from gaekit.bench.select import Run, sort_key

# The headline scores, in the order of the report, with their titles.
SCORES = (("beta_vae", "BetaVAE score"), ("factor_vae", "FactorVAE score"), ("mig", "MIG"), ("sap", "SAP"),
          ("dci_disentanglement", "DCI disentanglement"), ("dci_completeness", "DCI completeness"),
          ("dci_informativeness", "DCI informativeness"), ("modularity", "Modularity"),
          ("explicitness", "Explicitness"))


def scores_of(run: Run) -> dict[str, float]:
    """A finished run's headline disentanglement scores (test result), ``{}`` when it has none."""
    entry = (run.results.get("test") or {}).get("disentanglement") or {}
    return {k: float(v) for k, v in (entry.get("scores") or {}).items() if isinstance(v, (int, float))}


def _ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in order[i:j + 1]:
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation of two equally long lists (Pearson's of their average ranks); None with fewer
    than three pairs or a constant list."""
    if len(a) != len(b) or len(a) < 3:
        return None
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return None if var == 0 else cov / var


def _mean_std(values: list[float]) -> str | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.3f}"
    return f"{mean:.3f} ({math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)):.3f})"


def disentanglement(report: ReportContext) -> None:
    runs = sorted((r for r in report.study.finished if scores_of(r)),
                  key=lambda r: (sort_key(r.key), r.config_index, int(r.record.get("seed") or 0)))
    if not runs:
        return
    present = [(key, title) for key, title in SCORES if any(key in scores_of(r) for r in runs)]
    report.add(Heading("Disentanglement (Locatello et al. 2019 analogue)", 2),
               Text(f"Test-time disentanglement scores of {len(runs)} finished run(s), the model's embedding (the "
                    "posterior mean) as the representation. Per model and hyper-parameter value: mean (std over "
                    "seeds). Nothing is selected: every value and seed counts."))
    by_setting: dict[tuple, list[Run]] = {}
    for run in runs:
        by_setting.setdefault(run.key[:3], []).append(run)
    for setting, setting_runs in by_setting.items():
        _scores_table(report, setting, setting_runs, present)
        _distributions(report, setting, setting_runs, present)
        _correlations(report, setting, setting_runs, present)


def _scores_table(report: ReportContext, setting: tuple, runs: list[Run], present: list[tuple[str, str]]) -> None:
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.model, run.config_index), []).append(run)
    rows = []
    for (model, index), group in groups.items():
        seconds = [float(r.record["train_seconds"]) for r in group if isinstance(r.record.get("train_seconds"),
                                                                                 (int, float))]
        rows.append([model, f"c{index:02d}", fields_cell(group[0].record.get("config")), str(len(group)),
                     *(_mean_std([scores_of(r)[k] for r in group if k in scores_of(r)]) for k, _ in present),
                     num_cell(sum(seconds) / len(seconds), 0) if seconds else None])
    report.add(Heading(setting_title(setting), 3),
               Table(["model", "config", "fields", "seeds", *(t for _, t in present), "train s"], rows))


def _distributions(report: ReportContext, setting: tuple, runs: list[Run], present: list[tuple[str, str]]) -> None:
    panels: list[tuple[str, dict[str, list[float]]]] = []
    for key, title in present:
        series: dict[str, list[float]] = {}
        for run in runs:
            if key in scores_of(run):
                series.setdefault(run.model, []).append(scores_of(run)[key])
        panels.append((title, series))
    name = "disentanglement-" + "-".join(map(str, setting)) + ".png"
    caption = f"Each metric per model over all hyper-parameter values and seeds, {setting_title(setting)}"
    report.add(report.plot(name, lambda path, p=panels: figures.distribution_figure(path, caption, p), caption))


def rank_correlations(runs: list[Run], keys: list[str]) -> list[list[float | None]]:
    """Spearman correlations between the scores ``keys`` over the runs that have both."""
    matrix: list[list[float | None]] = []
    for a in keys:
        row: list[float | None] = []
        for b in keys:
            pairs = [(s[a], s[b]) for s in map(scores_of, runs) if a in s and b in s]
            row.append(spearman([p[0] for p in pairs], [p[1] for p in pairs]))
        matrix.append(row)
    return matrix


def _correlations(report: ReportContext, setting: tuple, runs: list[Run], present: list[tuple[str, str]]) -> None:
    keys, titles = [k for k, _ in present], [t for _, t in present]
    matrix = rank_correlations(runs, keys)
    caption = f"Spearman rank correlation between the metrics over {len(runs)} run(s), {setting_title(setting)}"
    name = "disentanglement-correlation-" + "-".join(map(str, setting)) + ".png"
    if len(runs) < 3:
        report.add(Text(f"Rank correlations between the metrics need three runs or more; {setting_title(setting)} "
                        f"has {len(runs)}."))
        return
    report.add(Text(caption + " (n/a: a metric constant across the runs)."),
               report.plot(name, lambda path: figures.matrix_figure(path, caption, titles, matrix), caption),
               Table(["metric", *titles], [[t, *(num_cell(v) for v in row)] for t, row in zip(titles, matrix)]))
