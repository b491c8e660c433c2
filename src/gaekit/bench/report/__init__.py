"""``gaekit bench report``: the study's results as the paper presents them, in Markdown and HTML.

After Chadebec et al. 2022, "Pythae: Unifying Generative Autoencoders in Python" (arXiv:2206.08309):
analogues of Table 1 (reconstruction), Table 2 (classification and clustering), Table 3 (generation
with N(0, I), GMM and the VampPrior) and Table 7 (every sampler), metrics against the latent
dimension (Fig. 2), sample grids (Fig. 10), interpolations (Figs. 3-8), training time (Fig. 14), the
disentanglement scores of a disentanglement study (after Locatello et al. 2019, Figs. 2 and 3), and
every run's configuration and numbers. Configurations are chosen on validation as in
:mod:`gaekit.bench.select`. Where the study's dataset, network and latent dimension are one of the
paper's settings, the published value and our difference to it stand beside our number.
"""

from __future__ import annotations

from pathlib import Path

from gaekit.bench import layout
from gaekit.bench.render import Block, Heading, Text, to_html, to_markdown
from gaekit.bench.report.context import ReportContext
from gaekit.bench.report.disentanglement import disentanglement
from gaekit.bench.report.protocol import header, study_settings
from gaekit.bench.report.runs import failed_and_unfinished, per_configuration
from gaekit.bench.report.tables import table1, table2, table3, table7
from gaekit.bench.report.visuals import interpolations, latent_figures, samples, training_time
from gaekit.bench.select import load_study

__all__ = ["write_report"]

# the sections shown once some run has finished, in the order of the report
RESULT_SECTIONS = (table1, table2, table3, table7, latent_figures, samples, interpolations, training_time,
                   disentanglement)


def build(report: ReportContext) -> list[Block]:
    """The report's blocks: header, the result sections (or a note that nothing finished), runs, settings."""
    header(report)
    if not report.selections:
        report.add(Text("No finished run yet: nothing to select or compare."))
    else:
        for section in RESULT_SECTIONS:
            section(report)
    per_configuration(report)
    failed_and_unfinished(report)
    study_settings(report)
    return report.blocks


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
    blocks = build(ReportContext(study, figures_dir))
    title = blocks[0].text if blocks and isinstance(blocks[0], Heading) else "gaekit benchmark report"
    (out / "report.md").write_text(to_markdown(blocks, out))
    (out / "report.html").write_text(to_html(blocks, title))
    return out
