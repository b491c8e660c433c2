"""The per-run sections of the benchmark report: every configuration's numbers, and the failed and unfinished
runs."""

from __future__ import annotations

from gaekit.bench import layout
from gaekit.bench.render import Heading, Table, Text
from gaekit.bench.report.cells import (
    attempts_cell,
    fields_cell,
    lr_cell,
    num_cell,
    sampler_title,
    scaled,
    setting_title,
    stat_cell,
)
from gaekit.bench.report.context import ReportContext
from gaekit.bench.select import (
    aggregate,
    field_of,
    generation_entries,
    generation_score,
    recon_fid,
    recon_mse,
    sort_key,
)


def per_configuration(report: ReportContext) -> None:
    if not report.study.runs:
        return
    chosen = {s.group.setting + (s.group.model,): s for s in report.selections}
    has_nll = any((r.results.get("test") or {}).get("nll") for r in report.study.runs)
    header = ["run", "status", "config", "seed", "fields", "learning rate", "attempts", "train s",
              "val MSE (1e-3)", "test MSE (1e-3)", "test rec. FID", "test FID per sampler",
              "classification %", "clustering %"] + (["NLL"] if has_nll else []) + ["selected for"]
    report.add(Heading("Per-configuration results", 2),
               Text("Every run with its configuration, learning-rate attempts (instability protocol) and headline "
                    "numbers; the last column names the tasks for which its configuration was selected."))
    runs = sorted(report.study.runs, key=lambda r: (sort_key(r.key), r.config_index, r.record.get("seed") or 0))
    by_model: dict[tuple, list] = {}
    for run in runs:
        by_model.setdefault(run.key, []).append(run)
    tables: list[tuple[str, list[list]]] = []
    for key, model_runs in by_model.items():
        rows = []
        for run in model_runs:
            test = run.results.get("test")
            selection = chosen.get(key) if run.status == layout.FINISHED else None
            gen = "; ".join(f"{sampler_title(g)} {num_cell(generation_score(g, 'fid')(test))}"
                            for g in generation_entries(test)) or None
            row = [run.run_id, run.status, f"c{run.config_index:02d}", str(run.record.get("seed", "?")),
                   fields_cell(run.record.get("config")),
                   lr_cell(run.record),
                   attempts_cell(run.record), num_cell(run.record.get("train_seconds"), 1),
                   num_cell(scaled(run.value("validation", recon_mse), 1e3)),
                   num_cell(scaled(run.value("test", recon_mse), 1e3)), num_cell(run.value("test", recon_fid)), gen,
                   stat_cell(aggregate([run], "test", field_of("classification", "test_accuracy_mean")), 100.0),
                   stat_cell(aggregate([run], "test", field_of("clustering", "accuracy_mean")), 100.0)]
            if has_nll:
                row.append(num_cell(run.value("test", field_of("nll", "nll"))))
            row.append(", ".join(selection.chosen_for(run.config_index)) if selection else "")
            rows.append(row)
        dataset, network, latent_dim, model = key
        tables.append((f"{model}: {setting_title((dataset, network, latent_dim))}", rows))
    # the metric columns that no run of the study has (e.g. MSE in a disentanglement study) are left out
    keep = [i for i, name in enumerate(header)
            if name in _ALWAYS_SHOWN or any(row[i] is not None for _, rows in tables for row in rows)]
    for title, rows in tables:
        report.add(Heading(title, 3), Table([header[i] for i in keep], [[row[i] for i in keep] for row in rows]))


_ALWAYS_SHOWN = ("run", "status", "config", "seed", "fields", "learning rate", "attempts", "train s", "selected for")


def failed_and_unfinished(report: ReportContext) -> None:
    if report.study.failed:
        report.add(Heading("Failed runs", 2), Table(
            ["run", "attempts", "error"],
            [[r.run_id, attempts_cell(r.record), str(r.record.get("error") or "no error recorded")]
             for r in report.study.failed]))
    if report.study.unfinished:
        report.add(Heading("Runs not finished (ignored)", 2),
                   Text(f"{len(report.study.unfinished)} run(s) pending or running when the report was written; "
                        "they take no part in the selection. Rerun the study, then the report."),
                   Table(["run", "status", "attempts so far"],
                         [[r.run_id, r.status, attempts_cell(r.record)] for r in report.study.unfinished]))
