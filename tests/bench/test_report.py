"""``write_report``: Markdown tables, a self-contained HTML page, figures, paper comparison, robustness."""

from __future__ import annotations

import base64
import importlib.util
import re
from html.parser import HTMLParser

import pytest
from bench.study_factory import png, result, write_run, write_study

from gaekit.bench import layout
from gaekit.bench.render import PNG_SIGNATURE
from gaekit.bench.report import write_report

needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="matplotlib not installed (pip install 'gaekit[report]')")
VOID = {"meta", "img", "br", "hr", "link", "input"}


class _Checker(HTMLParser):
    """Collects <img> sources and checks that every non-void tag is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        elif tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")


def _parse(html_text: str) -> _Checker:
    checker = _Checker()
    checker.feed(html_text)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)
    return checker


def _section(markdown: str, heading: str) -> str:
    """The text of a ``## heading`` section up to the next ``## ``."""
    start = markdown.index(f"## {heading}")
    end = markdown.find("\n## ", start + 3)
    return markdown[start:end if end > 0 else None]


def _row(markdown: str, *cells: str) -> bool:
    return any(all(f"| {c} |" in line for c in cells) for line in markdown.splitlines())


def _study(tmp_path, latent_dims=(16,), network="convnet", extractor=None, images=("normal", "gmm", "interpolation")):
    write_study(tmp_path, {"study": "synthetic", "training": {"num_epochs": 2, "learning_rate": 1e-4,
                                                              "batch_size": 100, "overrides": {}},
                           "data": {"max_train": 300, "max_validation": None, "max_test": None}})
    kwargs = {} if extractor is None else {"extractor": extractor}
    for d in latent_dims:
        for model, base in (("VAE", 0.01685), ("AE", 0.00547)):
            for c, shift in ((1, 0.002), (2, 0.001)):
                gen = {"normal": (30.0 + c, 2.0), "gmm": (20.0 - c, 2.1)}
                write_run(tmp_path, model=model, config_index=c, latent_dim=d, network=network,
                          config={"beta": c}, train_seconds=10.0 * c, images=images,
                          validation=result(mse=base + shift, rec_fid=10.0, gen=gen, **kwargs),
                          test=result(mse=base + shift, rec_fid=31.71 - c, gen=gen, cls=(0.8 + c / 100, 0.9, 0.01),
                                      clu=(0.7, 0.02), nll=95.0 if model == "VAE" else None, **kwargs))
    return tmp_path


def test_markdown_has_the_tables_with_the_selected_numbers(tmp_path):
    out = write_report(_study(tmp_path))
    md = (out / "report.md").read_text()
    for title in ("Reconstruction (Table 1 analogue)", "Classification and clustering (Table 2 analogue)",
                  "Generation (Table 3 analogue)", "Per-configuration results"):
        assert f"## {title}" in md
    # c2 has the lower validation MSE (base + 0.001): test MSE 17.85e-3, reconstruction FID 29.71
    assert _row(_section(md, "Reconstruction"), "VAE", "c02", "17.85", "29.71")
    # classification: c2 has the higher validation accuracy; test 90.00 % with the classifier-run std 1.00
    assert _row(_section(md, "Classification"), "VAE", "c02", "90.00 (1.00)")
    # generation: N(0, I) lowest validation FID at c1 (31), GMM at c2 (18)
    assert _row(_section(md, "Generation"), "VAE", "N(0, I)", "c01", "31.00")
    assert _row(_section(md, "Generation"), "AE", "GMM", "c02", "18.00")
    assert "Table 7" not in md  # no sampler beyond N(0, I) and GMM
    assert "## Latent dimension" not in md  # a single latent dimension
    assert "num_epochs = 2 (paper: 100)" in md and "first 300 images of the train split" in md


def test_paper_values_and_differences_at_a_paper_setting(tmp_path):
    md = (write_report(_study(tmp_path)) / "report.md").read_text()
    # mnist / convnet / 16: Table 1's VAE 16.85 and FID 30.71; ours 17.85 and 29.71
    assert _row(_section(md, "Reconstruction"), "VAE", "17.85", "16.85", "+1.00", "29.71", "30.71", "-1.00")
    assert _row(_section(md, "Reconstruction"), "AE", "6.47", "5.47", "+1.00")
    assert _row(_section(md, "Classification"), "AE", "90.00 (1.00)", "93.81 (0.02)", "-3.81")
    assert _row(_section(md, "Generation"), "VAE", "N(0, I)", "31.00", "28.5", "+2.50")
    assert "matching a paper setting: convnet / mnist / latent 16" in md


def test_another_setting_shows_no_paper_value(tmp_path):
    md = (write_report(_study(tmp_path, network="mlp")) / "report.md").read_text()
    assert "paper MSE" not in md and "16.85" not in md and "93.81" not in md
    assert "paper setting differs" in md


def test_fid_from_other_features_is_not_compared_with_the_paper(tmp_path):
    extractor = {"name": "mnist", "fid_key": "fid_mnist", "is_key": "is_mnist", "description": "classifier"}
    md = (write_report(_study(tmp_path, extractor=extractor)) / "report.md").read_text()
    reconstruction = _section(md, "Reconstruction")
    assert "paper MSE" in reconstruction and "paper FID" not in reconstruction
    assert "FID (mnist features)" in reconstruction and "not computed with Inception-v3" in reconstruction
    assert "paper FID" not in _section(md, "Generation")


def test_html_parses_and_embeds_every_image_as_png(tmp_path):
    out = write_report(_study(tmp_path))
    md = (out / "report.md").read_text()
    checker = _parse((out / "report.html").read_text())
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert linked and all((out / path).is_file() for path in linked)
    assert len(checker.images) == len(linked)
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_SIGNATURE)
    # sample grids per model and sampler, interpolation per model
    assert len([p for p in linked if "samples_" in p]) == 4 and len([p for p in linked if "interpolation" in p]) == 2


@needs_matplotlib
def test_latent_figure_only_with_several_latent_dims_and_training_time_chart(tmp_path):
    out = write_report(_study(tmp_path / "one"))
    assert not list((out / "figures").glob("latent-*.png"))
    assert (out / "figures" / "training-time-mnist-convnet-16.png").is_file()
    out = write_report(_study(tmp_path / "two", latent_dims=(8, 16)))
    figure = out / "figures" / "latent-mnist-convnet.png"
    assert figure.read_bytes().startswith(PNG_SIGNATURE)
    assert "## Latent dimension (Fig. 2 analogue)" in (out / "report.md").read_text()


def test_without_matplotlib_the_report_says_how_to_get_figures(tmp_path, monkeypatch):
    from gaekit.bench import figures

    monkeypatch.setattr(figures, "available", lambda: False)
    out = write_report(_study(tmp_path, latent_dims=(8, 16)))
    md = (out / "report.md").read_text()
    assert "not drawn, figures need matplotlib: pip install 'gaekit[report]'" in md
    assert not list((out / "figures").glob("latent-*.png")) and not list((out / "figures").glob("training-*.png"))
    _parse((out / "report.html").read_text())


def test_failed_unfinished_and_missing_metrics(tmp_path):
    write_run(tmp_path, model="VAE", config_index=1, validation=result(mse=0.02), test=result(mse=0.02))
    write_run(tmp_path, model="AE", config_index=1, test=None, validation=None)  # finished, metrics missing
    write_run(tmp_path, model="VAE", config_index=2, status=layout.FAILED, error="RuntimeError: loss is nan",
              attempts=[{"learning_rate": 1e-3, "outcome": "non_finite", "epoch": 3},
                        {"learning_rate": 1e-4, "outcome": "error", "epoch": 1}])
    write_run(tmp_path, model="VAE", config_index=3, status=layout.RUNNING, validation=result(mse=0.0001))
    md = (write_report(tmp_path) / "report.md").read_text()
    failed = _section(md, "Failed runs")
    assert "RuntimeError: loss is nan" in failed and "lr 0.001: non_finite at epoch 3; lr 0.0001: error" in failed
    assert "mnist-convnet-VAE-c03-d16-s0" in _section(md, "Runs not finished (ignored)")
    assert _row(_section(md, "Reconstruction"), "AE", "n/a", "n/a", "n/a")
    assert _row(_section(md, "Reconstruction"), "VAE", "c01", "20.00")  # not the unfinished c03
    assert "## Classification" not in md and "## Generation" not in md  # tasks the study does not have
    assert "NLL" not in md  # no model with an NLL


def test_seeds_are_reported_as_mean_and_std(tmp_path):
    for seed, mse in ((0, 0.010), (1, 0.014)):
        write_run(tmp_path, seed=seed, validation=result(mse=mse), test=result(mse=mse))
    md = (write_report(tmp_path) / "report.md").read_text()
    assert _row(_section(md, "Reconstruction"), "VAE", "c01 (2 seeds)", "12.00 (2.00)")


def test_images_moved_with_their_run_folder_are_found_and_non_png_files_skipped(tmp_path):
    gen = {"gmm": (10.0, 2.0), "normal": (12.0, 2.0)}
    folder = write_run(tmp_path, validation=result(gen=gen), test=result(gen=gen, files={
        "samples_GaussianMixtureSampler": "/elsewhere/runs/x/images/test/samples_gmm.png",
        "samples_NormalSampler": "images/test/samples_normal.png"}))
    png(folder / layout.IMAGES_DIR / "test" / "samples_gmm.png")
    (folder / layout.IMAGES_DIR / "test" / "samples_normal.png").write_text("not a png")
    out = write_report(tmp_path, tmp_path / "elsewhere")
    md = (out / "report.md").read_text()
    assert re.search(r"\| VAE \| n/a \| !\[VAE samples, GMM\]\(figures/[^)]+samples_gmm\.png\) \|", md)
    assert (out / "report.html").is_file() and not (tmp_path / layout.REPORT_DIR).exists()


def test_an_empty_study_gives_a_report(tmp_path):
    write_study(tmp_path)
    out = write_report(tmp_path)
    assert "No finished run yet" in (out / "report.md").read_text()
    _parse((out / "report.html").read_text())


def test_report_of_a_real_tiny_study(tmp_path, mnist_dir):
    from gaekit.bench.executors import run_study
    from gaekit.bench.presets import smoke

    spec = smoke()
    spec = spec.replace(models=spec.models[:1], tasks=["reconstruction", "classification", "interpolation"])
    run_study(spec, tmp_path, data_dir=str(mnist_dir.parent), show_progress=False, echo=lambda _: None)
    out = write_report(tmp_path)
    md = (out / "report.md").read_text()
    assert _row(_section(md, "Reconstruction"), "VAE", "c01")
    assert "## Interpolations" in md
    assert len(_parse((out / "report.html").read_text()).images) >= 1
