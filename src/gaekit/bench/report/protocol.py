"""The opening and closing sections of the benchmark report: how configurations are selected, how the study's
protocol differs from the paper's (Appendix C, Section 4.2) or, for a disentanglement study, from Locatello et
al. 2019's, and the study's settings."""

from __future__ import annotations

import datetime
import json
from typing import Any

from gaekit.bench import layout, paper
from gaekit.bench.grids import LOCATELLO_CONV_OPTIONS
from gaekit.bench.render import Code, Heading, Table, Text
from gaekit.bench.report.cells import setting_title
from gaekit.bench.report.context import ReportContext

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
    out += _data_differences(spec)
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


def _data_differences(spec: dict[str, Any]) -> list[str]:
    data = spec.get("data") or {}
    which = "a random" if data.get("subset") == "random" else "only the first"
    return [f"{which} {limit} images of the {split[4:]} split (paper: the whole split)"
            for split, limit in sorted(data.items()) if split.startswith("max_") and limit is not None]


LOCATELLO_TEXT = (
    "A disentanglement study: every run is scored with the disentanglement metrics of Locatello et al. 2019 "
    "(\"Challenging Common Assumptions in the Unsupervised Learning of Disentangled Representations\", ICML) on "
    "the representation of its trained model; no configuration is selected. Their protocol: 300,000 steps of "
    "batch 64, Adam at 1e-4, their convolutional networks, six hyper-parameter values per model, 50 seeds each, "
    "and each metric on 10,000 training / 5,000 evaluation samples; the differences found in study.json are "
    "listed below."
)
# Locatello et al. 2019's protocol, as the presets write it (33 epochs of dSprites' 80 % split: 300,000 steps).
LOCATELLO_PROTOCOL = {"num_epochs": 33, "learning_rate": 1e-4, "batch_size": 64, "optimizer": "Adam"}
LOCATELLO_EVALUATION = {"disentanglement_num_train": 10000, "disentanglement_num_test": 5000,
                        "disentanglement_batch_size": 64}


def locatello_differences(spec: dict[str, Any]) -> list[str]:
    """What a disentanglement study's spec does differently from Locatello et al. 2019's protocol."""
    training = spec.get("training") or {}
    out = [f"{key} = {training[key]} (Locatello et al.: {value})" for key, value in LOCATELLO_PROTOCOL.items()
           if key in training and training[key] != value]
    theirs = ", ".join(f"{k}={v}" for k, v in LOCATELLO_CONV_OPTIONS.items())
    for network in spec.get("networks") or []:
        options = (spec.get("network_options") or {}).get(network, {})
        if network != "conv" or options != LOCATELLO_CONV_OPTIONS:
            ours = ", ".join(f"{k}={v}" for k, v in options.items())
            out.append(f"network: {network}{f' ({ours})' if ours else ''} (Locatello et al.: their conv network, "
                       f"gaekit's conv with {theirs})")
    out += _data_differences(spec)
    models = spec.get("models") or []
    fewer = [m.get("label", "?") for m in models if len(m.get("configs") or [{}]) < 6]
    if fewer:
        out.append(f"{len(fewer)} of {len(models)} models explore fewer than their 6 values ({', '.join(fewer)})")
    seeds = spec.get("seeds") or [0]
    if len(seeds) < 50:
        out.append(f"{len(seeds)} seed(s) per value (Locatello et al.: 50)")
    evaluation = spec.get("evaluation") or {}
    out += [f"evaluation: {key} = {evaluation[key]} (Locatello et al.: {value})"
            for key, value in LOCATELLO_EVALUATION.items() if key in evaluation and evaluation[key] != value]
    return out


def _disentanglement_header(report: ReportContext) -> None:
    report.add(Text(LOCATELLO_TEXT), Heading("Differences from Locatello et al. 2019's protocol", 2),
               Table(["difference"], [[d] for d in locatello_differences(report.spec)] or [["none found"]]))


def header(report: ReportContext) -> None:
    study = report.study
    title = report.spec.get("study") or study.path.name
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report.add(Heading(f"gaekit benchmark report: {title}", 1),
               Text(f"Study folder {study.path.resolve()}; report written {now}. Runs: {len(study.runs)} "
                    f"({len(study.finished)} finished, {len(study.failed)} failed, {len(study.unfinished)} not "
                    f"finished and ignored)."))
    if report.spec.get("tasks") == ["disentanglement"]:
        _disentanglement_header(report)
    else:
        _paper_header(report)
    if study.notes:
        report.add(Table(["note while reading the study"], [[n] for n in study.notes]))


def _paper_header(report: ReportContext) -> None:
    report.add(Text(SELECTION_TEXT), Heading("Comparison with the paper", 2), Text(PAPER_TEXT))
    matched = [s for s in report.settings if paper.matches(*s)]
    if report.settings:
        report.add(Text("Settings of this study matching a paper setting: "
                        + (", ".join(setting_title(s) for s in matched) if matched else
                           "none (paper setting differs: no paper value is shown)") + "."))
    diffs = protocol_differences(report.spec, sorted({s[0] for s in report.settings}))
    if report.spec:
        report.add(Table(["difference from the paper's protocol (Appendix C, Section 4.2)"],
                         [[d] for d in diffs] or [["none found in study.json"]]))


def study_settings(report: ReportContext) -> None:
    if not report.spec:
        return
    summary = {k: (v if len(json.dumps(v)) <= 400 else f"<{len(v)} entries: see {layout.STUDY_FILE}>")
               for k, v in report.spec.items()}
    if "spec_hash" in report.study.spec:
        summary["spec_hash"] = report.study.spec["spec_hash"]
    report.add(Heading("Study settings", 2), Code(json.dumps(summary, indent=2)))
