"""The tables of the benchmark report: analogues of the paper's Table 1 (reconstruction), Table 2 (classification
and clustering), Table 3 (generation) and Table 7 (every sampler), with the published values where they apply."""

from __future__ import annotations

from gaekit.bench import paper
from gaekit.bench.render import Heading, Table, Text
from gaekit.bench.report.cells import (
    Setting,
    config_cell,
    diff_cell,
    num_cell,
    sampler_order,
    sampler_title,
    setting_title,
    stat_cell,
)
from gaekit.bench.report.context import ReportContext
from gaekit.bench.select import Choice, Selection, Stat


def table1(report: ReportContext) -> None:
    if not any(s.reconstruction for s in report.selections):
        return
    report.add(Heading("Reconstruction (Table 1 analogue)", 2),
               Text("Test MSE per pixel (x 1e-3) and FID of the test reconstructions, for the configuration "
                    "with the lowest validation MSE."))
    for setting, selections in report.settings.items():
        matched, inception = paper.matches(*setting), report.inception(setting)
        header = ["model", "config", "MSE (1e-3)", report.fid_header(setting)]
        header += ["paper MSE", "diff MSE"] if matched else []
        header += ["paper FID", "diff FID"] if matched and inception else []
        rows = []
        for s in selections:
            choice = s.reconstruction
            values = choice.values if choice else {}
            row = [s.group.model, config_cell(choice), stat_cell(values.get("mse"), 1e3), stat_cell(values.get("fid"))]
            for metric, scale, shown in (("mse", 1e3, matched), ("fid", 1.0, matched and inception)):
                if shown:
                    published = paper.value("reconstruction", *setting, s.group.model, metric)
                    row += [num_cell(published), diff_cell(values.get(metric), published, scale)]
            rows.append(row)
        report.add(Heading(setting_title(setting), 3), Table(header, rows))
        if matched and not inception:
            report.add(Text("FID here is not computed with Inception-v3 features, so the paper's FID is not "
                            "comparable and not shown."))


def table2(report: ReportContext) -> None:
    present = [(task, title) for task, title in (("classification", "classification accuracy % (std)"),
                                                 ("clustering", "clustering accuracy % (std)"))
               if any(getattr(s, task) for s in report.selections)]
    if not present:
        return
    report.add(Heading("Classification and clustering (Table 2 analogue)", 2),
               Text("Classification: mean test accuracy of the single-layer classifiers on the embeddings, for "
                    "the configuration with the highest mean validation accuracy. Clustering: mean accuracy of "
                    "the k-means runs on the training embeddings, for the configuration where it is highest."))
    for setting, selections in report.settings.items():
        matched = paper.matches(*setting)
        header = ["model"]
        for _, title in present:
            header += ["config", title] + (["paper", "diff"] if matched else [])
        rows = []
        for s in selections:
            row: list = [s.group.model]
            for task, _ in present:
                choice = getattr(s, task)
                accuracy = choice.values.get("accuracy") if choice else None
                row += [config_cell(choice), stat_cell(accuracy, 100.0)]
                if matched:
                    published = paper.value(task, *setting, s.group.model, "mean")
                    spread = paper.value(task, *setting, s.group.model, "std")
                    row += [stat_cell(None if published is None else Stat(published, spread, 1)),
                            diff_cell(accuracy, published, 100.0)]
            rows.append(row)
        report.add(Heading(setting_title(setting), 3), Table(header, rows))


def generation_rows(report: ReportContext, setting: Setting, samplers: set[str]) -> list[tuple[Selection, str, Choice]]:
    return [(s, sampler, s.generation[sampler]) for s in report.settings[setting]
            for sampler in sampler_order(list(s.generation)) if sampler in samplers]


def table3(report: ReportContext) -> None:
    if not any(set(s.generation) & set(paper.TABLE3_SAMPLERS) for s in report.selections):
        return
    report.add(Heading("Generation (Table 3 analogue)", 2),
               Text("Test FID and Inception Score per sampler (N(0, I), GMM, and VAMP's own prior), for the "
                    "configuration with the lowest validation FID with that sampler."))
    for setting in report.settings:
        rows_in = generation_rows(report, setting, set(paper.TABLE3_SAMPLERS))
        if not rows_in:
            continue
        compare = paper.matches(*setting) and report.inception(setting)
        header = ["model", "sampler", "config", report.fid_header(setting), report.fid_header(setting, "IS")]
        header += ["paper FID", "diff FID", "paper IS", "diff IS"] if compare else []
        rows = []
        for s, sampler, choice in rows_in:
            row = [s.group.model, sampler_title(sampler), config_cell(choice), stat_cell(choice.values.get("fid")),
                   stat_cell(choice.values.get("is"))]
            if compare:
                for metric in ("fid", "is"):
                    published = paper.value("generation", *setting, s.group.model, metric, sampler)
                    row += [num_cell(published, 1), diff_cell(choice.values.get(metric), published)]
            rows.append(row)
        report.add(Heading(setting_title(setting), 3), Table(header, rows))


def table7(report: ReportContext) -> None:
    every = {sampler for s in report.selections for sampler in s.generation}
    if not every - set(paper.TABLE3_SAMPLERS):
        return
    report.add(Heading("Sampler comparison (Table 7 analogue)", 2),
               Text("Test FID / IS of every sampler, each with the configuration of lowest validation FID for "
                    "that sampler; the paper's values follow in brackets where the setting matches."))
    for setting, selections in report.settings.items():
        samplers = sampler_order([g for s in selections for g in s.generation])
        compare = paper.matches(*setting) and report.inception(setting)
        rows = []
        for s in selections:
            row: list = [s.group.model]
            for sampler in samplers:
                choice = s.generation.get(sampler)
                if choice is None:
                    row.append(None)
                    continue
                cell = (f"{stat_cell(choice.values.get('fid')) or 'n/a'} / "
                        f"{stat_cell(choice.values.get('is')) or 'n/a'} ({config_cell(choice)})")
                published = [paper.value("generation", *setting, s.group.model, m, sampler) for m in ("fid", "is")]
                if compare and published[0] is not None:
                    cell += f" [paper {num_cell(published[0], 1)} / {num_cell(published[1], 1)}]"
                row.append(cell)
            rows.append(row)
        header = ["model"] + [f"{sampler_title(x)}: FID / IS" for x in samplers]
        report.add(Heading(setting_title(setting), 3), Table(header, rows))
