"""Threads and the OpenMP wait policy: how many intra-op threads torch uses, and how idle ones wait.

Importing gaekit changes neither. The ``gaekit`` command and the worker processes of ``gaekit bench
--workers N`` call :func:`set_wait_policy` before torch is imported and :func:`configure_threads` once it
is; from Python, call ``gaekit.configure_threads()`` yourself and set ``OMP_WAIT_POLICY=PASSIVE`` in the
environment before starting Python (OpenMP reads it once, when torch loads).

- Threads: ``OMP_NUM_THREADS`` when set (the user's choice wins), else the cores this process may use
  (its CPU affinity, capped by a cgroup CPU quota) divided by the number of worker processes.
- Wait policy: OpenMP threads that spin while waiting for work take the cores from each other and from
  other jobs on a shared machine (an autoencoder that trains in 22.5 s took 529 s with two spinning
  threads); ``PASSIVE`` makes them sleep instead. A value the user set is kept.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from gaekit.errors import ConfigError

__all__ = ["available_cores", "cgroup_cpu_limit", "configure_threads", "decide_threads", "set_wait_policy",
           "worker_environment"]

WAIT_POLICY = "OMP_WAIT_POLICY"
NUM_THREADS = "OMP_NUM_THREADS"
CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1 = (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


def cgroup_cpu_limit(v2: Path = CGROUP_V2, v1: tuple[Path, Path] = CGROUP_V1) -> float | None:
    """The CPUs a cgroup quota allows this process (e.g. 1.5), or None without a quota or a readable file."""
    try:
        quota, period = v2.read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota, period = (path.read_text().strip() for path in v1)
        except OSError:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def available_cores() -> int:
    """The cores this process may run on: its affinity (``os.cpu_count()`` without one), capped by a quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, math.floor(limit))
    return max(1, cores)


def _user_threads(environ: MutableMapping[str, str]) -> int | None:
    text = environ.get(NUM_THREADS, "").strip()
    if not text:
        return None
    first = text.split(",")[0].strip()  # OpenMP's nested form "4,2": the outer level
    if not first.isdigit() or int(first) < 1:
        raise ConfigError(f"{NUM_THREADS}={text!r} is not a positive integer; unset it (gaekit then uses the "
                          f"cores available) or set e.g. {NUM_THREADS}=2")
    return int(first)


def decide_threads(workers: int = 1, environ: MutableMapping[str, str] | None = None) -> int:
    """Intra-op threads for one of ``workers`` processes sharing this machine.

    Parameters
    ----------
    workers : int
        Processes that train at the same time (``gaekit bench --workers``); workers x threads <= cores.
    environ : mapping, optional
        Default ``os.environ``; its ``OMP_NUM_THREADS``, when set, is returned as is.

    Raises
    ------
    ConfigError
        ``workers`` is not a positive int, or ``OMP_NUM_THREADS`` is set but not a positive integer.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"workers={workers!r} is invalid: expected a positive int")
    user = _user_threads(os.environ if environ is None else environ)
    return user if user is not None else max(1, available_cores() // workers)


def configure_threads(threads: int | None = None, *, workers: int = 1) -> int:
    """Set torch's intra-op threads (``torch.set_num_threads``) and return the number set.

    Parameters
    ----------
    threads : int, optional
        The number to use; default :func:`decide_threads` (``OMP_NUM_THREADS``, else the cores available
        divided by ``workers``).
    workers : int
        Processes sharing the cores (only when ``threads`` is None).

    Raises
    ------
    ConfigError
        ``threads`` is not a positive int, or see :func:`decide_threads`.
    """
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise ConfigError(f"configure_threads: threads={threads!r} is invalid: expected a positive int or None")
    count = decide_threads(workers) if threads is None else threads
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


def set_wait_policy(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless it is set; True when this call set it.

    It takes effect in this process only when torch is not imported yet (``"torch" in sys.modules`` is
    then False), and in every process started afterwards.
    """
    environ = os.environ if environ is None else environ
    if environ.get(WAIT_POLICY, "").strip():
        return False
    environ[WAIT_POLICY] = "PASSIVE"
    return True


@contextmanager
def worker_environment() -> Iterator[None]:
    """While active, processes started from here see ``OMP_WAIT_POLICY=PASSIVE`` (unless the user set it).

    For worker pools started from Python, where this process may have torch loaded already; the variable
    is removed again on exit.
    """
    added = set_wait_policy()
    try:
        yield
    finally:
        if added:
            os.environ.pop(WAIT_POLICY, None)

