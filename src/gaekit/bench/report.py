"""``gaekit bench report``: the study's results as the paper presents them, in Markdown and HTML.

After Chadebec et al. 2022, "Pythae: Unifying Generative Autoencoders in Python" (arXiv:2206.08309):
analogues of Table 1 (reconstruction), Table 2 (classification and clustering), Table 3 (generation
with N(0, I), GMM and the VampPrior) and Table 7 (every sampler), metrics against the latent
dimension (Fig. 2), sample grids (Fig. 10), interpolations (Figs. 3-8), training time (Fig. 14), and
every run's configuration and numbers. Configurations are chosen on validation as in
:mod:`gaekit.bench.select`. Where the study's dataset, network and latent dimension are one of the
paper's settings, the published value and our difference to it stand beside our number.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gaekit.bench import figures, layout, paper
from gaekit.bench.render import Block, Code, Figure, Heading, Image, Table, Text, is_png, to_html, to_markdown
from gaekit.bench.select import (
    Choice,
    Selection,
    Stat,
    Study,
    aggregate,
    fid_key,
    field_of,
    generation_entries,
    generation_score,
    load_study,
    recon_fid,
    recon_mse,
    sampler_label,
    select_study,
    sort_key,
)

Setting = tuple[str, str, int]  # dataset, network, latent_dim

SELECTION_TEXT = (
    "Configurations are selected as in the paper (Section 4.2): for each model and setting, "
    "reconstruction uses the configuration with the lowest validation MSE, generation the lowest "
    "validation FID per sampler, classification the highest mean validation accuracy of the linear "
    "probes, clustering the highest mean k-means accuracy on the training embeddings; the numbers shown "
    "are on the test split. With several seeds a configuration is judged on its mean over seeds and "
    "shown as mean (std over seeds); with one seed the std is over the 20 classifier runs or the 100 "
    "k-means runs, as in the paper's Table 2. Only finished runs are used."
)
PAPER_TEXT = (
    "Paper values (Chadebec et al. 2022, arXiv:2206.08309, Tables 1, 2, 3 and 7) are shown beside ours, "
    "with the difference ours - paper, only for settings whose dataset, network and latent dimension are "
    "the paper's (mnist 16, cifar10 256, celeba 64 with convnet or resnet); for any other setting the "
    "paper's numbers measure a different setting and are not shown. A matching setting does not make "
    "the protocols equal: the differences found in study.json are listed below. FID and IS are compared "
    "only when computed with Inception-v3 features, as the paper's are; the paper's numbers for every "
    "setting are in gaekit/bench/data/paper_results.json."
)
# The paper's protocol (Appendix C; CelebA: 50 epochs, lr 1e-3) and evaluation (Section 4.2).
PAPER_PROTOCOL = {"num_epochs": 100, "learning_rate": 1e-4, "batch_size": 100, "optimizer": "Adam"}
PAPER_CELEBA = {"num_epochs": 50, "learning_rate": 1e-3}
PAPER_EVALUATION = {"classification_runs": 20, "clustering_runs": 100}
PAPER_CONFIGS = 10


# ---------------------------------------------------------------------- formatting
def _stat(stat: Stat | None, scale: float = 1.0, digits: int = 2) -> str | None:
    if stat is None:
        return None
    text = f"{stat.mean * scale:.{digits}f}"
    return text if stat.std is None else f"{text} ({stat.std * scale:.{digits}f})"


def _diff(stat: Stat | None, published: float | None, scale: float = 1.0) -> str | None:
    return None if stat is None or published is None else f"{stat.mean * scale - published:+.2f}"


def _num(value: float | None, digits: int = 2) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def _config(choice: Choice | None) -> str | None:
    if choice is None:
        return None
    seeds = len(choice.runs)
    return f"c{choice.config_index:02d}" + (f" ({seeds} seeds)" if seeds > 1 else "")


def _setting_title(setting: Setting) -> str:
    dataset, network, latent_dim = setting
    return f"{network} / {dataset} / latent {latent_dim}"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _sampler_title(sampler: str) -> str:
    return paper.SAMPLER_TITLES.get(sampler, sampler)


def _sampler_order(samplers: list[str]) -> list[str]:
    known = list(paper.SAMPLER_TITLES)
    return sorted(set(samplers), key=lambda s: (known.index(s), "") if s in known else (len(known), s))


def _first_run(choice: Choice):
    return min(choice.runs, key=lambda r: (int(r.record.get("seed") or 0), r.run_id))


def _spec_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The StudySpec dict inside ``study.json`` (stored whole or under ``"spec"``)."""
    return raw["spec"] if isinstance(raw.get("spec"), dict) else raw


def protocol_differences(spec: dict[str, Any], datasets: list[str]) -> list[str]:
    """What the study's spec does differently from the paper's protocol (Appendix C, Section 4.2)."""
    out = []
    training = spec.get("training") or {}
    for dataset in datasets:
        used = {**training, **((training.get("overrides") or {}).get(dataset) or {})}
        expected = {**PAPER_PROTOCOL, **(PAPER_CELEBA if dataset == "celeba" else {})}
        for key, value in expected.items():
            if key in used and used[key] != value:
                out.append(f"{dataset}: {key} = {used[key]} (paper: {value})")
    for split, limit in sorted((spec.get("data") or {}).items()):
        if split.startswith("max_") and limit is not None:
            out.append(f"only the first {limit} images of the {split[4:]} split (paper: the whole split)")
    models = spec.get("models") or []
    fewer = [m.get("label", "?") for m in models if len(m.get("configs") or [{}]) < PAPER_CONFIGS]
    if fewer:
        out.append(f"{len(fewer)} of {len(models)} models explore fewer than the paper's {PAPER_CONFIGS} "
                   f"configurations ({', '.join(fewer)})")
    evaluation = spec.get("evaluation") or {}
    for key, value in PAPER_EVALUATION.items():
        if key in evaluation and evaluation[key] != value:
            out.append(f"evaluation: {key} = {evaluation[key]} (paper: {value})")
    if spec.get("extractor") not in (None, "auto", "inception"):
        out.append(f"FID/IS features: {spec['extractor']} (paper: Inception-v3)")
    return out


# ---------------------------------------------------------------------- the report
class _Report:
    """Builds the report's blocks from a loaded study; images are copied into ``figures_dir``."""

    def __init__(self, study: Study, figures_dir: Path):
        self.study, self.figures_dir = study, figures_dir
        self.spec = _spec_of(study.spec)
        self.selections = select_study(study)
        self.settings: dict[Setting, list[Selection]] = {}
        for selection in self.selections:
            self.settings.setdefault(selection.group.setting, []).append(selection)
        self.blocks: list[Block] = []
        self._copied: dict[Path, Image] = {}

    # -- helpers -------------------------------------------------------------------
    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def fid_keys(self, setting: Setting) -> set[str]:
        return {k for s in self.settings[setting] for runs in s.group.configs.values() for r in runs
                if (k := fid_key(r.results.get("test"))) is not None}

    def inception(self, setting: Setting) -> bool:
        """Whether every FID of the setting uses Inception-v3 features (comparable with the paper)."""
        return self.fid_keys(setting) == {"fid"}

    def fid_header(self, setting: Setting, what: str = "FID") -> str:
        keys = self.fid_keys(setting)
        if keys == {"fid"} or not keys:
            return what
        return f"{what} ({', '.join(sorted(k.removeprefix('fid_') + ' features' for k in keys))})"

    def image(self, source: Path, name: str, alt: str) -> Image | None:
        """Copy a PNG into the report's figures folder (once); None when it is not a PNG."""
        if source in self._copied:
            return self._copied[source]
        if not is_png(source):
            return None
        target = self.figures_dir / _safe(name)
        shutil.copyfile(source, target)
        self._copied[source] = Image(target, alt)
        return self._copied[source]

    def run_image(self, choice: Choice | None, pick: Callable[[dict[str, Any]], str | None], alt: str) -> Image | None:
        """An image file named in the chosen configuration's (first seed's) test, else validation, result."""
        if choice is None:
            return None
        run = _first_run(choice)
        for split in ("test", "validation"):
            raw = pick(run.results.get(split) or {})
            if raw:
                source = _resolve(run.path, raw, split)
                if source is not None:
                    return self.image(source, f"{run.run_id}-{split}-{Path(raw).name}", alt)
        return None

    def plot(self, name: str, draw: Callable[[Path], Path], caption: str) -> Block:
        """A figure drawn into the figures folder, or a note when matplotlib is missing."""
        if not figures.available():
            return Text(f"({caption}: not drawn, {figures.MISSING})")
        path = draw(self.figures_dir / _safe(name))
        return Figure(Image(path, caption), caption)

    # -- sections ------------------------------------------------------------------
    def build(self) -> list[Block]:
        self.header()
        if not self.selections:
            self.add(Text("No finished run yet: nothing to select or compare."))
        else:
            self.table1()
            self.table2()
            self.table3()
            self.table7()
            self.latent_figures()
            self.samples()
            self.interpolations()
            self.training_time()
        self.per_configuration()
        self.failed_and_unfinished()
        self.study_settings()
        return self.blocks

    def header(self) -> None:
        study = self.study
        title = self.spec.get("study") or study.path.name
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.add(Heading(f"gaekit benchmark report: {title}", 1),
                 Text(f"Study folder {study.path.resolve()}; report written {now}. Runs: {len(study.runs)} "
                      f"({len(study.finished)} finished, {len(study.failed)} failed, {len(study.unfinished)} not "
                      f"finished and ignored)."),
                 Text(SELECTION_TEXT), Heading("Comparison with the paper", 2), Text(PAPER_TEXT))
        matched = [s for s in self.settings if paper.matches(*s)]
        if self.settings:
            self.add(Text("Settings of this study matching a paper setting: "
                          + (", ".join(_setting_title(s) for s in matched) if matched else
                             "none (paper setting differs: no paper value is shown)") + "."))
        diffs = protocol_differences(self.spec, sorted({s[0] for s in self.settings}))
        if self.spec:
            self.add(Table(["difference from the paper's protocol (Appendix C, Section 4.2)"],
                           [[d] for d in diffs] or [["none found in study.json"]]))
        if study.notes:
            self.add(Table(["note while reading the study"], [[n] for n in study.notes]))

    def table1(self) -> None:
        self.add(Heading("Reconstruction (Table 1 analogue)", 2),
                 Text("Test MSE per pixel (x 1e-3) and FID of the test reconstructions, for the configuration "
                      "with the lowest validation MSE."))
        for setting, selections in self.settings.items():
            matched, inception = paper.matches(*setting), self.inception(setting)
            header = ["model", "config", "MSE (1e-3)", self.fid_header(setting)]
            header += ["paper MSE", "diff MSE"] if matched else []
            header += ["paper FID", "diff FID"] if matched and inception else []
            rows = []
            for s in selections:
                choice = s.reconstruction
                values = choice.values if choice else {}
                row = [s.group.model, _config(choice), _stat(values.get("mse"), 1e3), _stat(values.get("fid"))]
                for metric, scale, shown in (("mse", 1e3, matched), ("fid", 1.0, matched and inception)):
                    if shown:
                        published = paper.value("reconstruction", *setting, s.group.model, metric)
                        row += [_num(published), _diff(values.get(metric), published, scale)]
                rows.append(row)
            self.add(Heading(_setting_title(setting), 3), Table(header, rows))
            if matched and not inception:
                self.add(Text("FID here is not computed with Inception-v3 features, so the paper's FID is not "
                              "comparable and not shown."))

    def table2(self) -> None:
        present = [(task, title) for task, title in (("classification", "classification accuracy % (std)"),
                                                     ("clustering", "clustering accuracy % (std)"))
                   if any(getattr(s, task) for s in self.selections)]
        if not present:
            return
        self.add(Heading("Classification and clustering (Table 2 analogue)", 2),
                 Text("Classification: mean test accuracy of the single-layer classifiers on the embeddings, for "
                      "the configuration with the highest mean validation accuracy. Clustering: mean accuracy of "
                      "the k-means runs on the training embeddings, for the configuration where it is highest."))
        for setting, selections in self.settings.items():
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
                    row += [_config(choice), _stat(accuracy, 100.0)]
                    if matched:
                        published = paper.value(task, *setting, s.group.model, "mean")
                        spread = paper.value(task, *setting, s.group.model, "std")
                        row += [_stat(None if published is None else Stat(published, spread, 1)),
                                _diff(accuracy, published, 100.0)]
                rows.append(row)
            self.add(Heading(_setting_title(setting), 3), Table(header, rows))

    def generation_rows(self, setting: Setting, samplers: set[str]) -> list[tuple[Selection, str, Choice]]:
        return [(s, sampler, s.generation[sampler]) for s in self.settings[setting]
                for sampler in _sampler_order(list(s.generation)) if sampler in samplers]

    def table3(self) -> None:
        if not any(set(s.generation) & set(paper.TABLE3_SAMPLERS) for s in self.selections):
            return
        self.add(Heading("Generation (Table 3 analogue)", 2),
                 Text("Test FID and Inception Score per sampler (N(0, I), GMM, and VAMP's own prior), for the "
                      "configuration with the lowest validation FID with that sampler."))
        for setting in self.settings:
            rows_in = self.generation_rows(setting, set(paper.TABLE3_SAMPLERS))
            if not rows_in:
                continue
            compare = paper.matches(*setting) and self.inception(setting)
            header = ["model", "sampler", "config", self.fid_header(setting), self.fid_header(setting, "IS")]
            header += ["paper FID", "diff FID", "paper IS", "diff IS"] if compare else []
            rows = []
            for s, sampler, choice in rows_in:
                row = [s.group.model, _sampler_title(sampler), _config(choice), _stat(choice.values.get("fid")),
                       _stat(choice.values.get("is"))]
                if compare:
                    for metric in ("fid", "is"):
                        published = paper.value("generation", *setting, s.group.model, metric, sampler)
                        row += [_num(published, 1), _diff(choice.values.get(metric), published)]
                rows.append(row)
            self.add(Heading(_setting_title(setting), 3), Table(header, rows))

    def table7(self) -> None:
        every = {sampler for s in self.selections for sampler in s.generation}
        if not every - set(paper.TABLE3_SAMPLERS):
            return
        self.add(Heading("Sampler comparison (Table 7 analogue)", 2),
                 Text("Test FID / IS of every sampler, each with the configuration of lowest validation FID for "
                      "that sampler; the paper's values follow in brackets where the setting matches."))
        for setting, selections in self.settings.items():
            samplers = _sampler_order([g for s in selections for g in s.generation])
            compare = paper.matches(*setting) and self.inception(setting)
            rows = []
            for s in selections:
                row: list = [s.group.model]
                for sampler in samplers:
                    choice = s.generation.get(sampler)
                    if choice is None:
                        row.append(None)
                        continue
                    cell = (f"{_stat(choice.values.get('fid')) or 'n/a'} / {_stat(choice.values.get('is')) or 'n/a'}"
                            f" ({_config(choice)})")
                    published = [paper.value("generation", *setting, s.group.model, m, sampler) for m in ("fid", "is")]
                    if compare and published[0] is not None:
                        cell += f" [paper {_num(published[0], 1)} / {_num(published[1], 1)}]"
                    row.append(cell)
                rows.append(row)
            header = ["model"] + [f"{_sampler_title(x)}: FID / IS" for x in samplers]
            self.add(Heading(_setting_title(setting), 3), Table(header, rows))

    def latent_figures(self) -> None:
        sweeps: dict[tuple[str, str], list[Selection]] = {}
        for selection in self.selections:
            sweeps.setdefault(selection.group.setting[:2], []).append(selection)
        sweeps = {k: v for k, v in sweeps.items() if len({s.group.latent_dim for s in v}) > 1}
        if not sweeps:
            return
        self.add(Heading("Latent dimension (Fig. 2 analogue)", 2),
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
            self.add(self.plot(f"latent-{dataset}-{network}.png",
                      lambda path, t=title, p=panels: figures.latent_figure(path, t, list(p.items())),
                      f"Metrics against the latent dimension, {title}"))

    def samples(self) -> None:
        blocks: list[Block] = []
        for setting, selections in self.settings.items():
            samplers = _sampler_order([g for s in selections for g in s.generation])
            rows = []
            for s in selections:
                row = [s.group.model]
                for sampler in samplers:
                    row.append(self.run_image(s.generation.get(sampler), _samples_file(sampler),
                                              f"{s.group.model} samples, {_sampler_title(sampler)}"))
                rows.append(row)
            if any(isinstance(c, Image) for row in rows for c in row):
                blocks += [Heading(_setting_title(setting), 3),
                           Table(["model"] + [_sampler_title(x) for x in samplers], rows)]
        if blocks:
            self.add(Heading("Generated samples (Fig. 10 analogue)", 2),
                     Text("Samples of each sampler from the configuration selected for that sampler."), *blocks)

    def interpolations(self) -> None:
        blocks: list[Block] = []
        for setting, selections in self.settings.items():
            rows = []
            for s in selections:
                image = self.run_image(s.interpolation, _interpolation_file, f"{s.group.model} interpolation")
                if image is not None:
                    rows.append([s.group.model, _config(s.interpolation), image])
            if rows:
                blocks += [Heading(_setting_title(setting), 3), Table(["model", "config", "interpolation"], rows)]
        if blocks:
            self.add(Heading("Interpolations (Figs. 3-8 analogue)", 2),
                     Text("Decoded linear paths between the codes of test images (one row per pair: start image, "
                          "path, end image), from the configuration with the lowest validation FID with the GMM "
                          "sampler (else the prior, else the reconstruction choice)."), *blocks)

    def training_time(self) -> None:
        blocks: list[Block] = []
        for setting, selections in self.settings.items():
            rows, bars = [], []
            for s in selections:
                choice, seconds = s.training, s.train_seconds()
                if choice is None:
                    continue
                why = ("generation, GMM" if choice is s.generation.get("gmm") else
                       f"generation, {_sampler_title(s.best_sampler)}" if s.best_sampler else "reconstruction")
                run = _first_run(choice)
                rows.append([s.group.model, why, _config(choice), _stat(seconds, digits=1),
                             _lr(run.record),
                             _attempts(run.record)])
                if seconds is not None:
                    bars.append((s.group.model, seconds.mean, seconds.std))
            if not rows:
                continue
            blocks.append(Heading(_setting_title(setting), 3))
            if bars:
                title = f"training time, {_setting_title(setting)}"
                blocks.append(self.plot(f"training-time-{'-'.join(map(str, setting))}.png",
                                        lambda path, t=title, b=bars: figures.bar_figure(path, t, "seconds", b),
                                        f"Total {title}"))
            blocks.append(Table(["model", "selected for", "config", "train seconds", "learning rate", "attempts"],
                                rows))
        if blocks:
            self.add(Heading("Training time (Fig. 14 analogue)", 2),
                     Text("Training seconds of the configuration selected for generation with the GMM sampler (else "
                          "the best sampler on validation, else the reconstruction choice)."), *blocks)

    def per_configuration(self) -> None:
        if not self.study.runs:
            return
        chosen = {s.group.setting + (s.group.model,): s for s in self.selections}
        has_nll = any((r.results.get("test") or {}).get("nll") for r in self.study.runs)
        header = ["run", "status", "config", "seed", "fields", "learning rate", "attempts", "train s",
                  "val MSE (1e-3)", "test MSE (1e-3)", "test rec. FID", "test FID per sampler",
                  "classification %", "clustering %"] + (["NLL"] if has_nll else []) + ["selected for"]
        self.add(Heading("Per-configuration results", 2),
                 Text("Every run with its configuration, learning-rate attempts (instability protocol) and headline "
                      "numbers; the last column names the tasks for which its configuration was selected."))
        runs = sorted(self.study.runs, key=lambda r: (sort_key(r.key), r.config_index, r.record.get("seed") or 0))
        by_model: dict[tuple, list] = {}
        for run in runs:
            by_model.setdefault(run.key, []).append(run)
        for key, model_runs in by_model.items():
            rows = []
            for run in model_runs:
                test = run.results.get("test")
                selection = chosen.get(key) if run.status == layout.FINISHED else None
                gen = "; ".join(f"{_sampler_title(g)} {_num(generation_score(g, 'fid')(test))}"
                                for g in generation_entries(test)) or None
                row = [run.run_id, run.status, f"c{run.config_index:02d}", str(run.record.get("seed", "?")),
                       _fields(run.record.get("config")),
                       _lr(run.record),
                       _attempts(run.record), _num(run.record.get("train_seconds"), 1),
                       _num(_scaled(run.value("validation", recon_mse), 1e3)),
                       _num(_scaled(run.value("test", recon_mse), 1e3)), _num(run.value("test", recon_fid)), gen,
                       _stat(aggregate([run], "test", field_of("classification", "test_accuracy_mean")), 100.0),
                       _stat(aggregate([run], "test", field_of("clustering", "accuracy_mean")), 100.0)]
                if has_nll:
                    row.append(_num(run.value("test", field_of("nll", "nll"))))
                row.append(", ".join(selection.chosen_for(run.config_index)) if selection else "")
                rows.append(row)
            dataset, network, latent_dim, model = key
            self.add(Heading(f"{model}: {_setting_title((dataset, network, latent_dim))}", 3), Table(header, rows))

    def failed_and_unfinished(self) -> None:
        if self.study.failed:
            self.add(Heading("Failed runs", 2), Table(
                ["run", "attempts", "error"],
                [[r.run_id, _attempts(r.record), str(r.record.get("error") or "no error recorded")]
                 for r in self.study.failed]))
        if self.study.unfinished:
            self.add(Heading("Runs not finished (ignored)", 2),
                     Text(f"{len(self.study.unfinished)} run(s) pending or running when the report was written; "
                          "they take no part in the selection. Rerun the study, then the report."),
                     Table(["run", "status", "attempts so far"],
                           [[r.run_id, r.status, _attempts(r.record)] for r in self.study.unfinished]))

    def study_settings(self) -> None:
        if not self.spec:
            return
        summary = {k: (v if len(json.dumps(v)) <= 400 else f"<{len(v)} entries: see {layout.STUDY_FILE}>")
                   for k, v in self.spec.items()}
        if "spec_hash" in self.study.spec:
            summary["spec_hash"] = self.study.spec["spec_hash"]
        self.add(Heading("Study settings", 2), Code(json.dumps(summary, indent=2)))


# ---------------------------------------------------------------------- small helpers
def _lr(record: dict[str, Any]) -> str | None:
    value = record.get("learning_rate")
    return f"{value:g}" if isinstance(value, (int, float)) else None


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def _fields(config: Any) -> str:
    if not config:
        return "defaults"
    if isinstance(config, dict):
        return ", ".join(f"{k}={json.dumps(v)}" for k, v in config.items())
    return json.dumps(config)


def _attempts(record: dict[str, Any]) -> str | None:
    """The learning-rate attempts of the instability protocol, e.g. "lr 0.001: non_finite at epoch 3; ..."."""
    parts = []
    for attempt in record.get("attempts") or []:
        text = f"lr {_lr(attempt) or '?'}: {attempt.get('outcome', '?')}"
        if attempt.get("outcome") != "finished" and attempt.get("epoch") is not None:
            text += f" at epoch {attempt['epoch']}"
        parts.append(text)
    return "; ".join(parts) or None


def _samples_file(sampler: str) -> Callable[[dict[str, Any]], str | None]:
    def pick(result: dict[str, Any]) -> str | None:
        files = result.get("files") or {}
        return next((path for key, path in files.items()
                     if key.startswith("samples_") and sampler_label(key[len("samples_"):]) == sampler), None)

    return pick


def _interpolation_file(result: dict[str, Any]) -> str | None:
    return (result.get("files") or {}).get("interpolation") or (result.get("interpolation") or {}).get(
        "interpolation_png")


def _resolve(run_dir: Path, raw: str, split: str) -> Path | None:
    """An image path from a result: relative to the run folder, absolute, or moved with the run folder."""
    path = Path(raw)
    candidates = [path] if path.is_absolute() else [run_dir / path]
    candidates += [run_dir / layout.IMAGES_DIR / split / path.name]
    candidates += sorted(run_dir.rglob(path.name))
    return next((c for c in candidates if c.is_file()), None)


def write_report(study_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write ``report.md``, ``report.html`` (self-contained) and ``figures/*.png`` for a study folder.

    Parameters
    ----------
    study_dir : str or Path
        A study folder written by ``gaekit bench`` (see :mod:`gaekit.bench.layout`).
    out_dir : str or Path, optional
        Where to write; default ``<study_dir>/report``.

    Returns
    -------
    Path
        The report folder.

    Raises
    ------
    DataError
        ``study_dir`` is not a study folder.
    """
    study = load_study(study_dir)
    out = Path(out_dir) if out_dir is not None else study.path / layout.REPORT_DIR
    figures_dir = out / "figures"
    if figures_dir.is_dir():
        for old in figures_dir.glob("*.png"):
            old.unlink()
    figures_dir.mkdir(parents=True, exist_ok=True)
    report = _Report(study, figures_dir)
    blocks = report.build()
    title = blocks[0].text if blocks and isinstance(blocks[0], Heading) else "gaekit benchmark report"
    (out / "report.md").write_text(to_markdown(blocks, out))
    (out / "report.html").write_text(to_html(blocks, title))
    return out

