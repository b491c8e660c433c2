"""A loaded machine on demand for the benchmarks: ``CPUHogs(n)`` runs ``n`` CPU-bound processes (a pure Python
loop each, one core's worth of work) while its ``with`` block runs, as "a second CPU-bound process" of issue 17."""

from __future__ import annotations

import multiprocessing


def _spin() -> None:
    while True:
        pass


class CPUHogs:
    """``with CPUHogs(n): ...``: ``n`` busy processes for the block (none for ``n = 0``), killed at its end."""

    def __init__(self, count: int):
        if count < 0:
            raise ValueError(f"count={count} is invalid: expected an int >= 0")
        self.count, self.processes = count, []

    def __enter__(self) -> CPUHogs:
        context = multiprocessing.get_context("spawn")
        self.processes = [context.Process(target=_spin, daemon=True) for _ in range(self.count)]
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.join()
        self.processes = []
