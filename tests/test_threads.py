"""Threads and the OpenMP wait policy (``gaekit._threads``): what is decided, and who applies it when.

The ``gaekit`` command sets ``OMP_WAIT_POLICY=PASSIVE`` before torch is imported (checked in a fresh
interpreter), bench workers start with it, a user's own values win, and ``import gaekit`` changes nothing.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest
import torch

import gaekit
from gaekit import _threads
from gaekit._threads import (
    available_cores,
    cgroup_cpu_limit,
    configure_threads,
    decide_threads,
    set_wait_policy,
    worker_environment,
)
from gaekit.bench.executors import _set_threads
from gaekit.cli import main
from gaekit.errors import ConfigError


def _env(**values: str) -> dict[str, str]:
    """This environment without the two OpenMP variables, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    return {**env, **values}


def _python(code: str, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cgroup_quota_files_are_read(tmp_path):
    v2, quota, period = tmp_path / "cpu.max", tmp_path / "quota", tmp_path / "period"
    missing = (tmp_path / "no_quota", tmp_path / "no_period")
    v2.write_text("150000 100000\n")
    assert cgroup_cpu_limit(v2, missing) == 1.5
    v2.write_text("max 100000\n")
    assert cgroup_cpu_limit(v2, missing) is None
    quota.write_text("200000\n")
    period.write_text("100000\n")
    assert cgroup_cpu_limit(tmp_path / "none", (quota, period)) == 2.0
    quota.write_text("-1\n")
    assert cgroup_cpu_limit(tmp_path / "none", (quota, period)) is None
    assert cgroup_cpu_limit(tmp_path / "none", missing) is None


def test_available_cores_follow_the_affinity_and_the_quota(monkeypatch):
    cores = available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity") and cgroup_cpu_limit() is None:
        assert cores == len(os.sched_getaffinity(0))
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: 1.5)
    assert available_cores() == 1
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: 0.5)
    assert available_cores() == 1  # at least one


def test_decide_threads_honours_omp_num_threads_then_divides_the_cores():
    assert decide_threads(environ={"OMP_NUM_THREADS": "3"}) == 3
    assert decide_threads(4, environ={"OMP_NUM_THREADS": "3"}) == 3  # the user's choice wins
    assert decide_threads(environ={"OMP_NUM_THREADS": "4,2"}) == 4  # nested form: the outer level
    assert decide_threads(environ={}) == available_cores()
    assert decide_threads(2, environ={}) == max(1, available_cores() // 2)
    assert decide_threads(10_000, environ={}) == 1
    for bad in ("abc", "0", "-2", "1.5"):
        with pytest.raises(ConfigError, match="OMP_NUM_THREADS=.*not a positive integer.*unset it"):
            decide_threads(environ={"OMP_NUM_THREADS": bad})
    with pytest.raises(ConfigError, match="workers=0"):
        decide_threads(0)


def test_configure_threads_sets_torch_and_checks_its_argument():
    before = torch.get_num_threads()
    try:
        assert configure_threads(1) == 1 and torch.get_num_threads() == 1
        assert configure_threads() == decide_threads() == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    for bad in (0, 2.0, True):
        with pytest.raises(ConfigError, match="threads=.*positive int"):
            configure_threads(bad)
    assert gaekit.configure_threads is configure_threads


def test_set_wait_policy_keeps_a_users_value():
    environ: dict[str, str] = {}
    assert set_wait_policy(environ) is True and environ == {"OMP_WAIT_POLICY": "PASSIVE"}
    environ = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert set_wait_policy(environ) is False and environ == {"OMP_WAIT_POLICY": "ACTIVE"}


def test_importing_gaekit_changes_no_global_setting():
    code = ("import json, os, torch\ntorch.set_num_threads(1)\n"
            "import gaekit, gaekit.trainers, gaekit.cli\n"
            "print(json.dumps({'threads': torch.get_num_threads(), 'policy': os.environ.get('OMP_WAIT_POLICY')}))")
    assert _python(code, _env()) == {"threads": 1, "policy": None}


_CLI_PROBE = """
import json, os, sys
import gaekit._threads as threads
real, seen = threads.set_wait_policy, []

def spy(environ=None):  # the real function, recording whether torch was loaded when it ran
    seen.append("torch" in sys.modules)
    return real(environ)

threads.set_wait_policy = spy
from gaekit.cli import main
imported_early = "torch" in sys.modules
code = main(["bench", "plan", "--preset", "smoke", "--no-calibrate"])
import torch
print(json.dumps({"code": code, "imported_early": imported_early, "torch_when_set": seen,
                  "policy": os.environ.get("OMP_WAIT_POLICY"), "threads": torch.get_num_threads()}))
"""


def test_the_cli_sets_the_wait_policy_before_torch_loads():
    result = _python(_CLI_PROBE, _env())
    assert result["code"] == 0 and result["imported_early"] is False
    assert result["torch_when_set"] == [False] and result["policy"] == "PASSIVE"
    assert result["threads"] == available_cores()


def test_the_cli_keeps_the_users_values(monkeypatch, capsys):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    try:
        assert main(["bench", "plan", "--preset", "smoke", "--no-calibrate"]) == 0
        assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_the_cli_refuses_a_bad_omp_num_threads_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert main(["bench", "plan", "--preset", "smoke", "--no-calibrate"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("gaekit bench: error: OMP_NUM_THREADS='many' is not a positive integer")


def test_bench_workers_start_passive_with_their_share_of_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    workers = 2  # the share of one of two workers, measured in one (a second would only cost time)
    with worker_environment(), ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(
            "spawn"), initializer=_set_threads, initargs=(workers,)) as pool:
        policy = pool.submit(functools.partial(os.getenv, "OMP_WAIT_POLICY")).result(timeout=300)
        threads = pool.submit(torch.get_num_threads).result(timeout=300)
    assert policy == "PASSIVE" and threads == max(1, available_cores() // workers)
    assert "OMP_WAIT_POLICY" not in os.environ  # restored in this process
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    with worker_environment():
        assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
