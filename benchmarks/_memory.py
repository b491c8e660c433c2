"""Peak resident memory of a block of code, shared by the benchmark scripts (``with PeakRSS() as mem: ...``,
then ``mem.peak_mb``)."""

from __future__ import annotations

import ctypes
import os
import threading


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the growth during the block."""

    def __enter__(self):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed memory back so each run starts level
        self._page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.peak_mb = (self.peak - self.start) / 2**20
