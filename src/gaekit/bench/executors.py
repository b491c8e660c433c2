"""Run a study's runs: in this process, in a local process pool (``--workers N``) or as Ray tasks
(``--executor ray``). Whatever executes them, each run writes only its own ``runs/<run_id>/`` folder
(``gaekit.bench.layout``), under a per-run lock, so shards and executors can share one study folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gaekit.bench import layout
from gaekit.bench.runner import run_one
from gaekit.bench.runs import RunSpec, expand, parse_shard, read_record, shard
from gaekit.bench.spec import StudySpec
from gaekit.errors import ConfigError

EXECUTORS = ("local", "ray")


def prepare_study(spec: StudySpec, study_dir: Path) -> None:
    """Create the study folder and its ``study.json``; refuse a folder that holds a different spec."""
    from gaekit.serialization import read_json, write_json

    study_dir.mkdir(parents=True, exist_ok=True)
    (study_dir / layout.RUNS_DIR).mkdir(exist_ok=True)
    path = study_dir / layout.STUDY_FILE
    digest = spec.spec_hash()
    if path.is_file():
        existing = read_json(path, "study file")
        if existing.get("spec_hash") != digest and _resolved_hash(existing.get("spec")) != digest:
            raise ConfigError(f"{study_dir} holds a study with a different spec (spec_hash "
                              f"{existing.get('spec_hash')} != {digest}); use another --out folder")
        return
    write_json(path, {"schema_version": layout.SCHEMA_VERSION, "spec_hash": digest, "spec": spec.to_dict()})


def _resolved_hash(saved: object) -> str | None:
    """The hash of a study folder's saved spec read again, its old field spellings resolved (a study started
    before a config field was renamed continues), or None when it is no valid spec."""
    try:
        return StudySpec.from_dict(saved).spec_hash()
    except (ConfigError, TypeError):
        return None


def _warm_extractors(spec: StudySpec, datasets: list[str], data_dir: str | None) -> None:
    """Build the FID/IS extractor of each dataset that runs will use, once here, so parallel runs find it
    cached instead of all training the same domain classifier (and a missing one fails before any run)."""
    if not {"reconstruction", "generation"} & set(spec.tasks):
        return
    from gaekit.metrics import resolve_extractor
    from gaekit.nn.factory import DATASET_INPUT_DIMS

    for dataset in datasets:
        resolve_extractor(spec.extractor, input_shape=DATASET_INPUT_DIMS.get(dataset), dataset=dataset,
                          data_dir=data_dir)


def _set_threads(workers: int) -> None:
    from gaekit._threads import configure_threads

    configure_threads(workers=workers)  # OMP_NUM_THREADS, else workers x threads <= the cores available


def _local_pool(tasks: list[tuple], workers: int) -> Iterator[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from gaekit._threads import worker_environment

    context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
    with worker_environment(), ProcessPoolExecutor(  # workers start with OMP_WAIT_POLICY=PASSIVE
            max_workers=workers, mp_context=context, initializer=_set_threads, initargs=(workers,)) as pool:
        futures = [pool.submit(run_one, *task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


def _ray(tasks: list[tuple], workers: int, address: str | None) -> Iterator[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'gaekit[ray]'") from None
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_ray_run)
        pending = [remote.remote(*task) for task in tasks]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def _ray_run(*task: Any) -> dict[str, Any]:
    _set_threads(1)
    return run_one(*task)


def status_line(result: dict[str, Any]) -> str:
    """One line per finished run: id, outcome, training seconds, headline test metrics."""
    parts = [result["run_id"], result["status"] + (" (skipped)" if result.get("skipped") else "")]
    if result.get("train_seconds") is not None:
        parts.append(f"train {result['train_seconds']:.1f}s")
    parts += [f"{k} {v:.4g}" for k, v in (result.get("headline") or {}).items() if v is not None]
    if result.get("error"):
        parts.append(f"error: {result['error'][:200]}")
    return " | ".join(parts)


def select_runs(spec: StudySpec, shard_text: str | None = None) -> list[RunSpec]:
    runs = expand(spec)
    return shard(runs, *parse_shard(shard_text)) if shard_text else runs


MAX_WORKERS = 4096  # more processes than any machine runs; an absurd count is refused, not an OverflowError


def run_study(spec: StudySpec, study_dir: str | Path, *, workers: int = 1, shard_text: str | None = None,
              executor: str = "local", ray_address: str | None = None, data_dir: str | None = None,
              show_progress: bool = True, echo: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Run every pending run of ``spec`` (or of one shard) into ``study_dir``; return one result per run.

    Finished and failed runs are skipped, interrupted ones resume from their checkpoint.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor={executor!r} is invalid: expected one of {', '.join(EXECUTORS)}")
    if not (isinstance(workers, int) and not isinstance(workers, bool) and 1 <= workers <= MAX_WORKERS):
        raise ConfigError(f"workers={workers!r} is invalid: expected an int from 1 to {MAX_WORKERS}")
    if ray_address is not None and executor != "ray":
        raise ConfigError(f"ray_address={ray_address!r} applies to executor='ray' only (--executor ray); "
                          f"executor is {executor!r}")
    study_dir = Path(study_dir)
    runs = select_runs(spec, shard_text)
    prepare_study(spec, study_dir)
    results, todo = [], []
    for run in runs:
        record = read_record(study_dir, run)
        if record is not None and record.done:
            results.append({"run_id": run.run_id, "status": record.status, "skipped": True,
                            "train_seconds": record.train_seconds})
        else:
            todo.append(run)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(runs), initial=len(results), desc="bench runs", unit="run", disable=not show_progress,
               dynamic_ncols=True)
    write = echo or bar.write
    if results:
        write(f"{len(results)} of {len(runs)} runs already done (skipped)")
    if todo:
        _warm_extractors(spec, sorted({run.dataset for run in todo}), data_dir)
    tasks = [(str(study_dir), spec.to_dict(), run.to_dict(), data_dir) for run in todo]
    start = time.perf_counter()
    if executor == "ray":
        stream = _ray(tasks, workers, ray_address)
    elif workers > 1:
        stream = _local_pool(tasks, workers)
    else:
        stream = (run_one(*task) for task in tasks)
    try:
        for result in stream:
            results.append(result)
            write(status_line(result))
            bar.update(1)
    finally:
        bar.close()
    if todo:
        counts = {s: sum(r["status"] == s for r in results) for s in (layout.FINISHED, layout.FAILED, "locked")}
        write(f"{len(todo)} run(s) in {time.perf_counter() - start:.1f}s: " +
              ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    return results
