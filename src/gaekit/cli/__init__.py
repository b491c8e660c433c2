"""The ``gaekit`` command: ``demo``, ``train``, ``generate``, ``evaluate``, ``bench`` and ``reproduce``.

Run ``gaekit <command> --help`` for the options of each. Bad input is one ``gaekit <command>: error:``
line on stderr and exit code 2 (no traceback); Ctrl-C is one line (for ``train``: where the
checkpoint went and how to resume) and exit code 130.

The command is a package: :mod:`~gaekit.cli.parser` (the flags of every command), :mod:`~gaekit.cli.inputs`
(datasets, JSON files and checks shared by the commands), and one module per command:
:mod:`~gaekit.cli.demo`, :mod:`~gaekit.cli.train` (also ``--resume``), :mod:`~gaekit.cli.generate`,
:mod:`~gaekit.cli.evaluate`; ``gaekit bench`` lives in :mod:`gaekit.bench.commands` and ``gaekit reproduce`` in
:mod:`gaekit.reproduce.commands`.
"""

from __future__ import annotations

import sys

from gaekit.cli.inputs import _check_output_dir
from gaekit.cli.parser import build_parser
from gaekit.errors import GaekitError

__all__ = ["build_parser", "main"]


# The folders that commands write to (dest, flag), checked before any work starts.
OUTPUT_FLAGS = (("output_dir", "--output-dir"), ("out", "--out"), ("cache_dir", "--cache-dir"))


def main(argv: list[str] | None = None) -> int:
    from gaekit._threads import configure_threads, set_wait_policy

    set_wait_policy()  # before anything imports torch (importing this package does not), see gaekit._threads
    from gaekit.bench.commands import default_bench_command
    from gaekit.reproduce.commands import default_reproduce_command

    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # building the parser imports torch and the models: seconds in which Ctrl-C may come
        args = build_parser().parse_args(default_reproduce_command(default_bench_command(argv)))
    except KeyboardInterrupt:
        print("gaekit: interrupted while starting; nothing was run or written", file=sys.stderr)
        return 130
    try:
        configure_threads()  # OMP_NUM_THREADS, else the cores available; bench workers set their own
        for dest, flag in OUTPUT_FLAGS:
            if getattr(args, dest, None) is not None:
                _check_output_dir(getattr(args, dest), flag)
        return args.func(args)
    except GaekitError as err:  # one line, also for messages that list places searched on lines of their own
        message = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"gaekit {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # Ctrl-C: one line (where the checkpoint went), not a traceback
        print(f"gaekit {args.command}: interrupted" + (f"; {err}" if str(err) else ""), file=sys.stderr)
        return 130
