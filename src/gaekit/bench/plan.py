"""``gaekit bench plan``: the size of a study and an estimate of its duration on this machine.

The estimate comes from a short calibration per (dataset, network): a few timed training steps of the
spec's first model at the study's batch size, and one evaluation of that model on a small slice of
data, both on random images of the dataset's shape, extrapolated linearly to every run's number of
steps and images. Models differ in cost (IWAE, VAEGAN, ...), and fitting the MAF / two-stage samplers
is not timed: it is an estimate, printed as such.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

from gaekit.bench.runs import RunSpec, expand
from gaekit.bench.spec import StudySpec
from gaekit.config import check_count

# (train, validation, test) sizes of the paper's splits (Section 4.1), for datasets not loaded here.
SPLIT_SIZES = {"mnist": (50000, 10000, 10000), "fashion-mnist": (50000, 10000, 10000),
               "cifar10": (40000, 10000, 10000), "celeba": (162770, 19867, 19962)}
CALIBRATION_IMAGES = 200
# the disentanglement task draws its own samples (disentanglement_num_train / _num_test), whatever the splits:
# it is timed at this fraction of its counts and scaled by the inverse (its metrics cost about linearly in them)
DISENTANGLEMENT_CALIBRATION_FRACTION = 0.1


@dataclass
class Plan:
    """Run counts of a study and, when calibrated, seconds per (dataset, network)."""

    spec: StudySpec
    runs: list[RunSpec]
    step_seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    eval_seconds: dict[tuple[str, str], float] = field(default_factory=dict)

    def counts(self) -> Counter:
        return Counter((r.dataset, r.network, r.model) for r in self.runs)

    def split_sizes(self, dataset: str) -> tuple[int, int, int]:
        sizes = SPLIT_SIZES.get(dataset)
        if sizes is None:
            from gaekit.bench.runner import load_split

            sizes = tuple(len(load_split(dataset, s, None, None)) for s in ("train", "validation", "test"))
        limits = (self.spec.data.max_train, self.spec.data.max_validation, self.spec.data.max_test)
        return tuple(n if lim is None else min(n, lim) for n, lim in zip(sizes, limits))

    def estimate_seconds(self) -> tuple[float, float]:
        """(training, evaluation) seconds of the whole run list on one worker."""
        train = evaluation = 0.0
        for run in self.runs:
            key = (run.dataset, run.network)
            protocol = self.spec.training.for_dataset(run.dataset)
            steps = math.ceil(self.split_sizes(run.dataset)[0] / protocol.batch_size) * protocol.num_epochs
            train += steps * self.step_seconds.get(key, 0.0)
            evaluation += self.eval_seconds.get(key, 0.0)
        return train, evaluation

    def describe(self, workers: int = 1) -> str:
        workers = check_count(workers, "workers")
        spec = self.spec
        n_configs = sum(len(m.configs) for m in spec.models)
        n_latent = sum(len(spec.latent_dims[d]) for d in spec.datasets)
        lines = [f"study: {spec.study}",
                 f"{len(self.runs)} trainings = {len(spec.networks)} network(s) x {n_latent} (dataset, latent dim) "
                 f"pair(s) x {n_configs} model configurations ({len(spec.models)} models) x {len(spec.seeds)} seed(s)",
                 "runs by dataset / network / model:"]
        counts = self.counts()
        for dataset in spec.datasets:
            for network in spec.networks:
                per_model = [f"{m.label} {counts[(dataset, network, m.label)]}" for m in spec.models]
                total = sum(counts[(dataset, network, m.label)] for m in spec.models)
                lines.append(f"  {dataset} / {network}: {total} ({', '.join(per_model)})")
        if self.step_seconds:
            train, evaluation = self.estimate_seconds()
            total = (train + evaluation) / workers
            lines.append(f"ESTIMATE from a short calibration on this machine (first model per dataset/network; "
                         f"model costs differ, sampler fitting not timed): training ~{_human(train)}, evaluation "
                         f"~{_human(evaluation)}, total ~{_human(total)} with {workers} worker(s)")
            for (dataset, network), s in self.step_seconds.items():
                lines.append(f"  {dataset} / {network}: {s * 1000:.1f} ms per training step, "
                             f"~{_human(self.eval_seconds[(dataset, network)])} per evaluation")
        return "\n".join(lines)


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h ({seconds / 86400:.1f} days)"


def _calibrate_one(spec: StudySpec, run: RunSpec, steps: int, sizes: tuple[int, int, int]) -> tuple[float, float]:
    """Seconds per training step, and seconds of one evaluation extrapolated to the run's data sizes."""
    import torch

    from gaekit.bench.runner import build_model
    from gaekit.data import ArrayDataset
    from gaekit.errors import GaekitError
    from gaekit.metrics import evaluate
    from gaekit.nn.factory import DATASET_INPUT_DIMS
    from gaekit.trainers import Trainer, set_seed

    shape = DATASET_INPUT_DIMS[run.dataset]
    protocol = spec.training.for_dataset(run.dataset)
    generator = torch.Generator().manual_seed(0)
    set_seed(0)
    model = build_model(spec, run, shape)
    config = protocol.trainer_config(run.dataset, protocol.learning_rate, 0, None).replace(
        num_epochs=1, checkpoint_every_n_epochs=None, scheduler=None, scheduler_params={})
    trainer = Trainer(model, config, torch.rand(protocol.batch_size * steps, *shape, generator=generator))
    start = time.perf_counter()
    trainer.train()
    step = (time.perf_counter() - start) / steps
    cfg = spec.evaluation_config()
    split_tasks = [task for task in spec.tasks if task != "disentanglement"]
    seconds = 0.0
    if split_tasks:
        n = CALIBRATION_IMAGES
        small = ArrayDataset(torch.rand(n, *shape, generator=generator), torch.arange(n) % 10)
        generated = cfg.num_generated or sizes[2]
        samplers = [spec.sampler_config(s) for s in spec.samplers_for(run.model) if s in ("normal", "gmm", "vamp")]
        kwargs = {"tasks": split_tasks, "sampler": samplers or ["normal"], "config": cfg.replace(num_generated=n),
                  "dataset": run.dataset}
        start = time.perf_counter()
        try:
            evaluate(model, (small, small, small), extractor=spec.extractor, **kwargs)
        except GaekitError:  # e.g. no FID/IS extractor for this shape here: time the other work
            evaluate(model, (small, small, small), extractor="none", **kwargs)
        # images touched by the validation and test evaluations of a run, against the calibration's
        images = sizes[0] + 2 * sizes[1] + sizes[2] + 2 * generated * len(spec.samplers)
        seconds = (time.perf_counter() - start) * images / (3 * n + n * len(kwargs["sampler"]))
    if "disentanglement" in spec.tasks:  # once a run, on the test side, at the study's sample counts
        fraction = DISENTANGLEMENT_CALIBRATION_FRACTION
        counts = {name: max(2, round(getattr(cfg, name) * fraction))
                  for name in ("disentanglement_num_train", "disentanglement_num_test")}
        start = time.perf_counter()
        evaluate(model, tasks="disentanglement", config=cfg.replace(**counts), dataset=run.dataset)
        seconds += (time.perf_counter() - start) / fraction
    return step, seconds


def make_plan(spec: StudySpec, calibrate: bool = True, steps: int = 5) -> Plan:
    """Count the runs of ``spec``; with ``calibrate``, time ``steps`` training steps and one small
    evaluation per (dataset, network) for the estimate."""
    plan = Plan(spec, expand(spec))
    if calibrate:
        for dataset in spec.datasets:
            for network in spec.networks:
                first = next(r for r in plan.runs if r.dataset == dataset and r.network == network)
                plan.step_seconds[(dataset, network)], plan.eval_seconds[(dataset, network)] = _calibrate_one(
                    spec, first, steps, plan.split_sizes(dataset))
    return plan
