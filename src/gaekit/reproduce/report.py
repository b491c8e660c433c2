"""``gaekit reproduce report``: the rows of every recipe run under a folder, gathered into one table."""

from __future__ import annotations

from pathlib import Path

from gaekit.errors import ConfigError
from gaekit.reproduce.recipe import ROW_HEADER, RecipeResult


def read_results(folder: Path) -> list[RecipeResult]:
    """Every ``result.json`` under ``folder`` (any depth), by recipe key."""
    from gaekit.serialization import read_json

    found = []
    for path in sorted(Path(folder).rglob("result.json")):
        data = read_json(path, "recipe result")
        try:
            # fields added later have defaults: a result.json of an earlier gaekit reads as it was
            found.append(RecipeResult(**{k: data[k] for k in RecipeResult.__dataclass_fields__ if k in data}))
        except (KeyError, TypeError):
            raise ConfigError(f"{path} is not a gaekit reproduce result (missing or unexpected fields)") from None
    return sorted(found, key=lambda r: (r.recipe, r.smoke))


def write_report(folder: Path) -> Path:
    """Write ``folder/report.md``: one row per recipe run found under ``folder``; return its path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"gaekit reproduce report: {folder} is not a folder")
    results = read_results(folder)
    if not results:
        raise ConfigError(f"gaekit reproduce report: no result.json under {folder} (run gaekit reproduce RECIPE "
                          "--out DIR first)")
    reproduced = sum(r.within_tolerance and not r.smoke for r in results)
    lines = ["# gaekit reproduce", "",
             f"{len(results)} recipe run(s); {reproduced} within the tolerance of the published value.", "",
             ROW_HEADER, *(r.row() for r in results), "", _figure(folder, results), "",
             "Sources: " + "; ".join(f"`{r.recipe}`: {r.source}" for r in results), ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path


def _figure(folder: Path, results: list[RecipeResult]) -> str:
    """``folder/report.png``: obtained (mean ± std) against the reference, one point per run, on the line
    ``obtained = reference`` with each run's tolerance; the Markdown that shows it (or why it is missing)."""
    from gaekit.bench import figures

    if not figures.available():
        return f"(obtained against reference: not drawn, {figures.MISSING})"
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    for r in results:
        ax.errorbar([r.reference], [r.mean], yerr=[r.std] if r.std else None, fmt="o" if r.within_tolerance else "x",
                    color="tab:green" if r.within_tolerance else "tab:red", capsize=3)
        ax.vlines(r.reference, r.reference - r.tolerance, r.reference + r.tolerance, colors="0.7", linewidth=6,
                  alpha=0.5)
        ax.annotate(r.recipe + (" (smoke)" if r.smoke else ""), (r.reference, r.mean), textcoords="offset points",
                    xytext=(5, 5), fontsize=7)
    low = min(min(r.reference - r.tolerance, r.mean) for r in results)
    high = max(max(r.reference + r.tolerance, r.mean) for r in results)
    ax.plot([low, high], [low, high], color="0.4", linewidth=0.8, linestyle="--")
    ax.set_xlabel("published value")
    ax.set_ylabel("obtained (grey: the tolerance)")
    ax.set_title("gaekit reproduce: obtained against published")
    fig.tight_layout()
    fig.savefig(folder / "report.png", dpi=120)
    return "![obtained against published](report.png)"
