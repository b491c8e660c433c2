"""Write ``docs/bad-inputs.md`` (in ``tests/``: ``python -m bad_inputs.render > ../docs/bad-inputs.md``)."""

from __future__ import annotations

from collections import Counter

from bad_inputs.harness import AREAS, all_cases

HOW_TO_ADD = """\
## Adding a case

A case is one entry in a `cases_*.py` module of `tests/bad_inputs/`: append it to a table there (or
decorate a `make(tmp, fx)` function with `CASES.add(id, area, description, ExpectedError, *mentions)`).
`make` builds the bad input inside the case's empty `tmp` folder, copying what it needs from the shared
fixtures `fx` (`fx.copy("model" | "sampler" | "checkpoint" | "run", tmp / name)`, `fx.x(n)` images,
`fx.model()`, `fx.trainer_config(tmp)`), and returns a callable for a Python case or the argument list
of a `gaekit` command for a CLI case (`kind="cli"`, or `kind="subprocess"` for a real process). The
harness snapshots every file under `tmp`, runs the call, and requires the expected `GaekitError`
subclass (for the CLI: exit code 2 and one `gaekit <command>: error:` line on stderr), a message that
contains every mention, and every file byte-identical afterwards. Then regenerate this page from
`tests/`: `../.venv/bin/python -m bad_inputs.render > ../docs/bad-inputs.md` (a test checks it lists
exactly the suite's cases).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole Markdown page."""
    cases = all_cases()
    counts = Counter(c.area for c in cases)
    lines = ["# Bad inputs", "",
             "Every bad input below must end in a clear `gaekit.errors.GaekitError` (for the command line: exit "
             "code 2 and one line on stderr, no traceback) and leave every file that existed before byte-identical. "
             "The suite is `tests/bad_inputs/`; this page is generated from it by `python -m bad_inputs.render`.",
             "", f"{len(cases)} cases:", "", "| area | cases |", "|---|---|"]
    lines += [f"| {area} | {counts[area]} |" for area in AREAS]
    lines += ["", "| id | area | bad input | expected error |", "|---|---|---|---|"]
    for area in AREAS:
        for c in (c for c in cases if c.area == area):
            lines.append(f"| `{c.id}` | {c.area} | {_cell(c.description)} | `{c.expected_names()}` |")
    return "\n".join([*lines, "", HOW_TO_ADD])


if __name__ == "__main__":
    print(render(), end="")
