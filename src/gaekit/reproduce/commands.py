"""The ``gaekit reproduce`` command line: ``list``, ``[run] RECIPE``, ``report DIR``.

``gaekit.cli`` adds these with :func:`add_reproduce_parser`; ``run`` may be left out
(:func:`default_reproduce_command`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gaekit.bench.commands import positive_int

REPRODUCE_COMMANDS = ("list", "run", "report")

DESCRIPTION = """\
Each model checked against the number its original paper published.

  gaekit reproduce list
      every recipe: its reference, the data it needs, and its estimated cost on this machine.
  gaekit reproduce [run] RECIPE [--out DIR] [--device cuda] [--repeats N] [--smoke]
      train with the paper's schedule (resumable), measure with the paper's protocol, and write
      result.json and a Markdown row (obtained vs reference, and whether the data is the paper's).
  gaekit reproduce report DIR
      gather the rows under DIR into one table (report.md)."""


def add_reproduce_parser(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser("reproduce", help="check models against their papers' published numbers",
                         description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep_sub = rep.add_subparsers(dest="reproduce_command", required=True)
    listing = rep_sub.add_parser("list", help="the recipes, their references, data and cost")
    listing.set_defaults(func=cmd_reproduce_list)
    run = rep_sub.add_parser("run", help="train and measure one recipe")
    run.add_argument("recipe", help="a recipe key (gaekit reproduce list)")
    run.add_argument("--out", help="the run's folder (default: gaekit_reproduce/RECIPE); a folder of an earlier "
                                   "run continues where it stopped")
    run.add_argument("--device", default="cpu", help="the trainer's device (default: %(default)s)")
    run.add_argument("--repeats", type=positive_int, help="training runs (default: the recipe's)")
    run.add_argument("--smoke", action="store_true", help="seconds-long end-to-end check, not a reproduction")
    run.add_argument("--data-dir", help="where the dataset is looked up first")
    run.add_argument("--inception-weights", help="the FID Inception-v3 weights file (fid rows; default: gaekit's "
                                                 "cache, downloaded once and checksummed when missing)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_reproduce_run)
    report = rep_sub.add_parser("report", help="gather the rows under DIR into report.md")
    report.add_argument("dir", help="a folder holding recipe runs (their result.json files)")
    report.set_defaults(func=cmd_reproduce_report)


def default_reproduce_command(argv: list[str]) -> list[str]:
    """``gaekit reproduce RECIPE ...`` -> ``gaekit reproduce run RECIPE ...``."""
    if len(argv) > 1 and argv[0] == "reproduce" and argv[1] not in (*REPRODUCE_COMMANDS, "-h", "--help"):
        return ["reproduce", "run", *argv[1:]]
    return argv


def cmd_reproduce_list(args: argparse.Namespace) -> int:
    from gaekit.reproduce.recipe import load_recipes

    print("| recipe | model | data | metric | reference | source | needs | CPU hours |")
    print("|---|---|---|---|---|---|---|---|")
    for r in load_recipes().values():
        data = r.dataset if r.data_matches_paper else f"{r.dataset} (stand-in)"
        reference = f"{r.reference:g}" + (f" ± {r.reference_std:g}" if r.reference_std is not None else "")
        metric = f"{r.metric}, {r.num_importance_samples} IS" if r.metric == "nll" else r.metric
        hours = "?" if r.cpu_hours is None else f"{r.cpu_hours:g} x {r.repeats}"
        print(f"| `{r.recipe}` | {r.model} | {data} | {metric} | {reference} | {r.source} | "
              f"{', '.join(r.needs) or '-'} | {hours} |")
    return 0


def cmd_reproduce_run(args: argparse.Namespace) -> int:
    from gaekit.reproduce.recipe import ROW_HEADER, get_recipe
    from gaekit.reproduce.runner import run_recipe

    recipe = get_recipe(args.recipe)
    out = Path(args.out or f"gaekit_reproduce/{recipe.recipe}{'-smoke' if args.smoke else ''}")
    result = run_recipe(recipe, out, repeats=args.repeats, device=args.device, data_dir=args.data_dir,
                        smoke=args.smoke, show_progress=not args.no_progress,
                        inception_weights=args.inception_weights)
    print(f"{ROW_HEADER}\n{result.row()}\nresult: {out / 'result.json'}")
    return 0


def cmd_reproduce_report(args: argparse.Namespace) -> int:
    from gaekit.reproduce.report import write_report

    print(f"report: {write_report(Path(args.dir))}")
    return 0
