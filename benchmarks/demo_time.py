"""Wall time of ``gaekit demo`` (the README's first command) on this machine, idle and with CPU-bound processes
running beside it (issue 17: a busy machine).

Each repeat runs the demo in a fresh ``gaekit`` process, first with no other load from this script, then with
``--busy`` CPU-bound processes (``benchmarks/_load.py``), alternating the order on odd repeats so that a change
of the machine's own load hits both alike. The demo's environment is left as a user's would be: no
``OMP_NUM_THREADS`` or ``OMP_WAIT_POLICY`` unless you set them (the command sets its wait policy itself).

    python benchmarks/demo_time.py [--repeats 3] [--busy 1] [--epochs N]

Prints each run's seconds and the median per condition, with the machine's load average before each run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmarks' shared helpers
from _load import CPUHogs  # noqa: E402


def demo_seconds(extra: list[str]) -> float:
    """Seconds of one ``gaekit demo`` run in its own process (into a temporary folder)."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gaekit", "demo", "--quiet", "--output-dir", out, *extra], check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=1, help="CPU-bound processes beside the loaded runs (default 1)")
    parser.add_argument("--epochs", type=int, default=None, help="demo epochs (default: the demo's own)")
    args = parser.parse_args(argv)
    extra = [] if args.epochs is None else ["--epochs", str(args.epochs)]
    times: dict[str, list[float]] = {"idle": [], f"{args.busy} busy": []}
    print(f"{os.cpu_count()} CPUs; demo {' '.join(extra) or '(defaults)'}; {args.repeats} repeats")
    for repeat in range(args.repeats):
        order = [0, args.busy] if repeat % 2 == 0 else [args.busy, 0]
        for busy in order:
            load = os.getloadavg()[0]
            with CPUHogs(busy):
                seconds = demo_seconds(extra)
            key = "idle" if busy == 0 else f"{args.busy} busy"
            times[key].append(seconds)
            print(f"repeat {repeat + 1}, {key:7s}: {seconds:7.1f} s (load average before: {load:.2f})")
    print("| condition | median s | min-max s |\n|---|---|---|")
    for key, values in times.items():
        print(f"| {key} | {statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |")


if __name__ == "__main__":
    main()
