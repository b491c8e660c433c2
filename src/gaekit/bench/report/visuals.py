"""The figures of the benchmark report: metrics against the latent dimension (Fig. 2), sample grids (Fig. 10),
interpolations (Figs. 3-8) and training time (Fig. 14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaekit.bench import figures
from gaekit.bench.render import Block, Heading, Image, Table, Text
from gaekit.bench.report.cells import (
    attempts_cell,
    config_cell,
    lr_cell,
    sampler_order,
    sampler_title,
    setting_title,
    stat_cell,
)
from gaekit.bench.report.context import ReportContext, first_run
from gaekit.bench.select import Selection, sampler_label


def latent_figures(report: ReportContext) -> None:
    sweeps: dict[tuple[str, str], list[Selection]] = {}
    for selection in report.selections:
        sweeps.setdefault(selection.group.setting[:2], []).append(selection)
    sweeps = {k: v for k, v in sweeps.items() if len({s.group.latent_dim for s in v}) > 1}
    if not sweeps:
        return
    report.add(Heading("Latent dimension (Fig. 2 analogue)", 2),
               Text("Test metrics of each model's selected configuration against the latent dimension; generation "
                    "uses, per latent dimension, the sampler with the lowest validation FID."))
    for (dataset, network), selections in sweeps.items():
        panels: dict[str, dict[str, list[tuple[float, float]]]] = {
            "reconstruction MSE (1e-3)": {}, "generation FID (best sampler)": {},
            "classification accuracy (%)": {}, "clustering accuracy (%)": {}}
        for s in selections:
            best = s.best_sampler
            values = [(s.reconstruction, "mse", 1e3), (s.generation.get(best) if best else None, "fid", 1.0),
                      (s.classification, "accuracy", 100.0), (s.clustering, "accuracy", 100.0)]
            for (series, (choice, key, scale)) in zip(panels.values(), values):
                stat = choice.values.get(key) if choice else None
                if stat is not None:
                    series.setdefault(s.group.model, []).append((s.group.latent_dim, stat.mean * scale))
        title = f"{network} / {dataset}"
        report.add(report.plot(f"latent-{dataset}-{network}.png",
                               lambda path, t=title, p=panels: figures.latent_figure(path, t, list(p.items())),
                               f"Metrics against the latent dimension, {title}"))


def samples(report: ReportContext) -> None:
    blocks: list[Block] = []
    for setting, selections in report.settings.items():
        samplers = sampler_order([g for s in selections for g in s.generation])
        rows = []
        for s in selections:
            row = [s.group.model]
            for sampler in samplers:
                row.append(report.run_image(s.generation.get(sampler), _samples_file(sampler),
                                            f"{s.group.model} samples, {sampler_title(sampler)}"))
            rows.append(row)
        if any(isinstance(c, Image) for row in rows for c in row):
            blocks += [Heading(setting_title(setting), 3),
                       Table(["model"] + [sampler_title(x) for x in samplers], rows)]
    if blocks:
        report.add(Heading("Generated samples (Fig. 10 analogue)", 2),
                   Text("Samples of each sampler from the configuration selected for that sampler."), *blocks)


def interpolations(report: ReportContext) -> None:
    blocks: list[Block] = []
    for setting, selections in report.settings.items():
        rows = []
        for s in selections:
            image = report.run_image(s.interpolation, _interpolation_file, f"{s.group.model} interpolation")
            if image is not None:
                rows.append([s.group.model, config_cell(s.interpolation), image])
        if rows:
            blocks += [Heading(setting_title(setting), 3), Table(["model", "config", "interpolation"], rows)]
    if blocks:
        report.add(Heading("Interpolations (Figs. 3-8 analogue)", 2),
                   Text("Decoded linear paths between the codes of test images (one row per pair: start image, "
                        "path, end image), from the configuration with the lowest validation FID with the GMM "
                        "sampler (else the prior, else the reconstruction choice)."), *blocks)


def training_time(report: ReportContext) -> None:
    blocks: list[Block] = []
    for setting, selections in report.settings.items():
        rows, bars = [], []
        for s in selections:
            choice, seconds = s.training, s.train_seconds()
            if choice is None:
                continue
            why = ("generation, GMM" if choice is s.generation.get("gmm") else
                   f"generation, {sampler_title(s.best_sampler)}" if s.best_sampler else "reconstruction")
            run = first_run(choice)
            rows.append([s.group.model, why, config_cell(choice), stat_cell(seconds, digits=1),
                         lr_cell(run.record),
                         attempts_cell(run.record)])
            if seconds is not None:
                bars.append((s.group.model, seconds.mean, seconds.std))
        if not rows:
            continue
        blocks.append(Heading(setting_title(setting), 3))
        if bars:
            title = f"training time, {setting_title(setting)}"
            blocks.append(report.plot(f"training-time-{'-'.join(map(str, setting))}.png",
                                      lambda path, t=title, b=bars: figures.bar_figure(path, t, "seconds", b),
                                      f"Total {title}"))
        blocks.append(Table(["model", "selected for", "config", "train seconds", "learning rate", "attempts"],
                            rows))
    if blocks:
        report.add(Heading("Training time (Fig. 14 analogue)", 2),
                   Text("Training seconds of the configuration selected for generation with the GMM sampler (else "
                        "the best sampler on validation, else the reconstruction choice)."), *blocks)


def _samples_file(sampler: str) -> Callable[[dict[str, Any]], str | None]:
    def pick(result: dict[str, Any]) -> str | None:
        files = result.get("files") or {}
        return next((path for key, path in files.items()
                     if key.startswith("samples_") and sampler_label(key[len("samples_"):]) == sampler), None)

    return pick


def _interpolation_file(result: dict[str, Any]) -> str | None:
    return (result.get("files") or {}).get("interpolation") or (result.get("interpolation") or {}).get(
        "interpolation_png")
