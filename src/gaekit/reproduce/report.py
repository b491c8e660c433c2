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
            found.append(RecipeResult(**{k: data[k] for k in RecipeResult.__dataclass_fields__}))
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
             ROW_HEADER, *(r.row() for r in results), "",
             "Sources: " + "; ".join(f"`{r.recipe}`: {r.source}" for r in results), ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path
