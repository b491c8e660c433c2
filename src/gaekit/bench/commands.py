"""The ``gaekit bench`` command line: ``gaekit bench [run] [SPEC] ...``, ``gaekit bench plan``,
``gaekit bench report``. ``gaekit.cli`` adds these with :func:`add_bench_parser`."""

from __future__ import annotations

import argparse
from pathlib import Path

BENCH_COMMANDS = ("run", "plan", "report")

DESCRIPTION = """\
The benchmark study of the Pythae paper (Chadebec et al. 2022, Section 4) as one command.

  gaekit bench [run] [SPEC] [--preset NAME] [--out DIR] [--workers N] [--shard i/n]
               [--executor local|ray] [--ray-address ADDR] [--no-report]
      train and evaluate every run of the study (skipping finished runs, resuming interrupted
      ones), then write the report; "run" may be left out.
  gaekit bench plan [SPEC] [--preset NAME] [--no-calibrate] [--workers N]
      print the number of runs and a time estimate from a short calibration.
  gaekit bench report DIR
      write DIR/report/ (Markdown and HTML) from a study folder.

SPEC is a JSON or YAML StudySpec file; presets: paper, paper-latent, cpu-quick, smoke, disentanglement,
disentanglement-cpu-quick.
Run "gaekit bench run --help" (or plan/report) for every option."""


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (used by every ``gaekit`` command's count flags)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _spec_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", default=None, help="a StudySpec file (.json, .yaml or .yml)")
    parser.add_argument("--preset", choices=["paper", "paper-latent", "cpu-quick", "smoke", "disentanglement",
                                             "disentanglement-cpu-quick"],
                        help="a built-in study instead of SPEC")


def _load_spec(args: argparse.Namespace):
    from gaekit.bench.presets import preset
    from gaekit.bench.spec import StudySpec
    from gaekit.errors import ConfigError

    if (args.spec is None) == (args.preset is None):
        raise ConfigError("give exactly one of SPEC (a study file) or --preset NAME")
    return preset(args.preset) if args.preset else StudySpec.from_file(args.spec)


def _write_report(study_dir: Path) -> None:
    from gaekit.bench import report  # helper module of the report side (select/aggregate/render)

    path = report.write_report(study_dir)
    print(f"report: {path}")


def cmd_bench_run(args: argparse.Namespace) -> int:
    from gaekit.bench.executors import run_study

    spec = _load_spec(args)
    out = Path(args.out or f"gaekit_bench/{args.preset or Path(args.spec).stem}")
    results = run_study(spec, out, workers=args.workers, shard_text=args.shard, executor=args.executor,
                        ray_address=args.ray_address, data_dir=args.data_dir, show_progress=not args.no_progress)
    print(f"study folder: {out} ({sum(r['status'] == 'finished' for r in results)} finished, "
          f"{sum(r['status'] == 'failed' for r in results)} failed of {len(results)} runs"
          + (f" in shard {args.shard}" if args.shard else "") + ")")
    if not args.no_report:
        _write_report(out)
    return 0


def cmd_bench_plan(args: argparse.Namespace) -> int:
    from gaekit.bench.plan import make_plan

    plan = make_plan(_load_spec(args), calibrate=not args.no_calibrate)
    print(plan.describe(workers=args.workers))
    return 0


def cmd_bench_report(args: argparse.Namespace) -> int:
    _write_report(Path(args.study_dir))
    return 0


def add_bench_parser(sub: argparse._SubParsersAction) -> None:

    bench = sub.add_parser("bench", help="the paper's benchmark study: run, plan, report",
                           description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = bench.add_subparsers(dest="bench_command", required=True, metavar="{run,plan,report}")

    run = commands.add_parser("run", help="run a study (the default: `gaekit bench SPEC` is `gaekit bench run SPEC`)",
                              description="Train and evaluate every run of a study into --out (one folder per "
                                          "run), skipping finished runs and resuming interrupted ones from their "
                                          "last checkpoint, then write the report.")
    _spec_args(run)
    run.add_argument("--out", help="study folder (default: gaekit_bench/<preset or spec name>)")
    run.add_argument("--workers", type=positive_int, default=1,
                     help="runs in parallel: local worker processes, torch threads split between them; with "
                          "--executor ray, the CPUs of a local Ray cluster (default: %(default)s)")
    run.add_argument("--shard", metavar="i/n", help="run only shard i of n (runs i, i+n, i+2n, ... of the study's "
                                                    "fixed run order), e.g. one SLURM array task each")
    run.add_argument("--executor", choices=["local", "ray"], default="local",
                     help="local processes, or one Ray task per run (pip install 'gaekit[ray]') "
                          "(default: %(default)s)")
    run.add_argument("--ray-address", help="address of a running Ray cluster (default: start a local one)")
    run.add_argument("--data-dir", default=None, help="folder holding the datasets' folders (default: "
                                                      "$GAEKIT_DATA_DIR, then the user data dir)")
    run.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_bench_run)

    plan = commands.add_parser("plan", help="print the run count and a time estimate",
                               description="Print the number of runs of a study (by dataset, network and model) "
                                           "and a time ESTIMATE from a short calibration on this machine.")
    _spec_args(plan)
    plan.add_argument("--no-calibrate", action="store_true", help="only count the runs")
    plan.add_argument("--workers", type=positive_int, default=1,
                      help="divide the estimate by this (default: %(default)s)")
    plan.set_defaults(func=cmd_bench_plan)

    report = commands.add_parser("report", help="write the report of a study folder",
                                 description="Write DIR/report/report.md and report.html from a study folder.")
    report.add_argument("study_dir", metavar="DIR", help="a study folder written by gaekit bench")
    report.set_defaults(func=cmd_bench_report)


def default_bench_command(argv: list[str]) -> list[str]:
    """``gaekit bench SPEC ...`` -> ``gaekit bench run SPEC ...`` (``run`` may be left out)."""
    if len(argv) > 1 and argv[0] == "bench" and argv[1] not in (*BENCH_COMMANDS, "-h", "--help"):
        return ["bench", "run", *argv[1:]]
    return argv

