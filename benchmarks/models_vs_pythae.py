"""Every model gaekit shares with Pythae 0.1.2: training, NLL and generation speed of both, in one run.

Protocol (issue 17, point 1). For each selected model, both libraries get:

- the same model settings: Pythae's config (its defaults, ``input_dim`` of the data, ``--latent-dim``, BCE
  where the config has a ``reconstruction_loss``, but for ``MSE_ONLY``) and gaekit's config read from that
  very dict with ``gaekit.models.pythae_config.model_config_from_pythae``, so hyper-parameters and default
  networks agree (Pythae's default MLPs, 512 hidden units; gaekit's ``mlp`` with ``hidden_dims=(512,)``; the
  test suite checks that Pythae folders load in gaekit with identical outputs);
- the same images (the first ``--num-images`` MNIST training images from ``$GAEKIT_DATA_DIR``; Pythae gets them
  as float in [0, 1], its documented input, gaekit as the uint8 it loads), batch ``--batch-size`` (100),
  Adam with ``--lr`` for every optimizer (Pythae's trainer chosen as its ``TrainingPipeline`` chooses it:
  coupled optimizers for RAE_L2 and PIWAE, adversarial for Adversarial_AE and FactorVAE, both for VAEGAN), one
  epoch, each library's default progress bar (written to a log file);
- the evaluation side on the model just trained: importance-sampled NLL (Pythae's ``get_nll`` against
  gaekit's ``log_likelihood``, ``--nll-samples`` samples on the first ``--nll-images`` test images; models that
  have it on both sides), and generation with the GMM (10 components) and MAF (Pythae's default flow,
  ``--maf-epochs`` epochs, same lr and batch) samplers: fit, then ``--gen-samples`` samples.

Each library runs in its own long-lived worker interpreter (this script with ``--worker``), started with
``OMP_WAIT_POLICY=PASSIVE`` (unless set) and ``--threads`` OpenMP/intra-op threads each. Only one worker
computes at a time: the parent alternates them, Pythae first on even repeats and gaekit first on odd ones, so a
change in machine load hits both alike. Both workers first run one warm-up round of every task (1,000 images,
the first model). Throughput is measured from the epoch's begin hook to its end hook (set-up and Pythae's final
save are excluded); peak memory is the growth of the worker's resident set over the whole ``train()`` call
(sampled every 5 ms after ``malloc_trim``, as ``train_throughput.py`` does).

    python benchmarks/models_vs_pythae.py [--models VAE,IWAE] [--repeats 3] [--num-images 10000] [--quick]

Prints a Markdown table per side: samples/s of both, the ratio gaekit / Pythae (median and min-max over the
repeats), peak memory, then the NLL and generation times. A model that fails on one side is listed with its error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmarks' shared helpers, when imported too
from _memory import PeakRSS  # noqa: E402

# gaekit name -> (Pythae model class, Pythae config class); the 25 models both libraries have
SHARED = {
    "AE": ("AE", "AEConfig"), "VAE": ("VAE", "VAEConfig"), "BetaVAE": ("BetaVAE", "BetaVAEConfig"),
    "DisentangledBetaVAE": ("DisentangledBetaVAE", "DisentangledBetaVAEConfig"),
    "BetaTCVAE": ("BetaTCVAE", "BetaTCVAEConfig"), "IWAE": ("IWAE", "IWAEConfig"),
    "MIWAE": ("MIWAE", "MIWAEConfig"), "PIWAE": ("PIWAE", "PIWAEConfig"), "CIWAE": ("CIWAE", "CIWAEConfig"),
    "MSSSIM_VAE": ("MSSSIM_VAE", "MSSSIM_VAEConfig"), "InfoVAE_MMD": ("INFOVAE_MMD", "INFOVAE_MMD_Config"),
    "WAE_MMD": ("WAE_MMD", "WAE_MMD_Config"), "RAE_L2": ("RAE_L2", "RAE_L2_Config"),
    "RAE_GP": ("RAE_GP", "RAE_GP_Config"), "VAMP": ("VAMP", "VAMPConfig"), "SVAE": ("SVAE", "SVAEConfig"),
    "PoincareVAE": ("PoincareVAE", "PoincareVAEConfig"), "HVAE": ("HVAE", "HVAEConfig"),
    "RHVAE": ("RHVAE", "RHVAEConfig"), "VAE_IAF": ("VAE_IAF", "VAE_IAF_Config"),
    "VAE_LinNF": ("VAE_LinNF", "VAE_LinNF_Config"), "VQVAE": ("VQVAE", "VQVAEConfig"),
    "FactorVAE": ("FactorVAE", "FactorVAEConfig"), "VAEGAN": ("VAEGAN", "VAEGANConfig"),
    "Adversarial_AE": ("Adversarial_AE", "Adversarial_AE_Config"),
}
# kept at Pythae's MSE: its VAEGAN reads no reconstruction_loss; its HVAE's Bernoulli refuses non-binary pixels
MSE_ONLY = ("VAEGAN", "HVAE")
RESULT = "@@result@@ "  # prefix of a worker's answer line (libraries may print to stdout too)
TASKS = ("train", "nll", "gmm", "maf")


def timed(fn):
    """``(result, seconds, peak MB)`` of ``fn()``."""
    with PeakRSS() as mem:
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    return out, seconds, mem.peak_mb


# ---------------------------------------------------------------------------------------------- the workers
class _Side:
    """One library's side of a job; ``run`` returns the measurements of every requested task."""

    def run(self, job: dict) -> dict:
        import numpy as np
        import torch

        torch.manual_seed(job["seed"])
        train = torch.from_numpy(np.load(job["train"]))
        train = train[: job.get("limit") or len(train)]
        model, n = self.build(job["config"]), len(train)
        train, test = self.prepare(train), self.prepare(torch.from_numpy(np.load(job["test"])))  # before measuring
        out = {}
        epoch, seconds, peak = timed(lambda: self.train(model, train, job))
        out["train"] = {"samples_per_s": n / epoch, "seconds": seconds, "peak_mb": peak}
        tasks = set(job["tasks"])
        if "nll" in tasks and self.has_nll(model):
            nll, seconds, peak = timed(lambda: self.nll(model, test, job["nll_samples"]))
            out["nll"] = {"nll": nll, "seconds": seconds, "peak_mb": peak}
        for sampler in [s for s in ("gmm", "maf") if s in tasks]:
            (fit, sample), seconds, peak = timed(lambda s=sampler: self.generate(model, train, s, job))
            out[sampler] = {"fit_s": fit, "sample_s": sample, "seconds": seconds, "peak_mb": peak}
        return out


class _EpochClock:
    begin = end = None

    def on_epoch_begin(self, *args, **kwargs):
        self.begin = time.perf_counter()

    def on_epoch_end(self, *args, **kwargs):
        self.end = time.perf_counter()


class PythaeSide(_Side):
    def __init__(self):
        import pythae.models as pm
        import pythae.samplers as ps
        import pythae.trainers as pt
        from pythae.data.preprocessors import DataProcessor
        from pythae.trainers.training_callbacks import TrainingCallback

        self.pm, self.ps, self.pt, self.to_dataset = pm, ps, pt, DataProcessor().to_dataset
        self.clock = type("PythaeEpochClock", (_EpochClock, TrainingCallback), {})

    def config(self, job: dict) -> dict:
        model_cls, config_cls = SHARED[job["model"]]
        cls = getattr(self.pm, config_cls)
        fields = {"input_dim": tuple(job["input_dim"]), "latent_dim": job["latent_dim"]}
        if "reconstruction_loss" in cls.__dataclass_fields__ and job["model"] not in MSE_ONLY:
            fields["reconstruction_loss"] = "bce"
        # unset optional fields (None, e.g. Adversarial_AE's discriminator_input_dim) are left to the config
        return {k: v for k, v in json.loads(cls(**fields).to_json_string()).items() if v is not None}

    def build(self, config: dict):
        fields = {k: v for k, v in config.items() if k != "name"}
        config_cls = next(c for m, c in SHARED.values() if c == config["name"])
        model_cls = next(m for m, c in SHARED.values() if c == config["name"])
        return getattr(self.pm, model_cls)(getattr(self.pm, config_cls)(**fields))

    def trainer(self, model, dataset, job: dict, callbacks):
        pt, lr, name = self.pt, job["lr"], model.model_name
        common = dict(output_dir=job["tmp"], num_epochs=1, per_device_train_batch_size=job["batch"],
                      steps_saving=None, no_cuda=True, seed=job["seed"])
        if name in ("RAE_L2", "PIWAE"):
            decoder = {"weight_decay": model.model_config.reg_weight} if name == "RAE_L2" else None
            config = pt.CoupledOptimizerTrainerConfig(**common, encoder_learning_rate=lr, decoder_learning_rate=lr,
                                                      decoder_optimizer_params=decoder)
            return pt.CoupledOptimizerTrainer(model, dataset, training_config=config, callbacks=callbacks)
        if name in ("Adversarial_AE", "FactorVAE"):
            config = pt.AdversarialTrainerConfig(**common, autoencoder_learning_rate=lr, discriminator_learning_rate=lr)
            return pt.AdversarialTrainer(model, dataset, training_config=config, callbacks=callbacks)
        if name == "VAEGAN":
            config = pt.CoupledOptimizerAdversarialTrainerConfig(**common, encoder_learning_rate=lr,
                                                                 decoder_learning_rate=lr,
                                                                 discriminator_learning_rate=lr)
            return pt.CoupledOptimizerAdversarialTrainer(model, dataset, training_config=config, callbacks=callbacks)
        config = pt.BaseTrainerConfig(**common, learning_rate=lr)
        return pt.BaseTrainer(model, dataset, training_config=config, callbacks=callbacks)

    @staticmethod
    def prepare(x):
        """Images as Pythae takes them: float in [0, 1]."""
        return x.float() if x.dtype.is_floating_point else x.float() / 255

    def train(self, model, train, job: dict) -> float:
        clock = self.clock()
        self.trainer(model, self.to_dataset(train), job, [clock]).train()
        return clock.end - clock.begin

    def has_nll(self, model) -> bool:
        return hasattr(model, "get_nll")

    def nll(self, model, test, samples: int) -> float:
        model.eval()
        return -float(model.get_nll(test, n_samples=samples))

    def generate(self, model, train, sampler: str, job: dict):
        ps, x = self.ps, train
        model.eval()
        start = time.perf_counter()
        if sampler == "gmm":
            s = ps.GaussianMixtureSampler(model, ps.GaussianMixtureSamplerConfig(n_components=10))
            s.fit(x)
        else:
            s = ps.MAFSampler(model, ps.MAFSamplerConfig())
            fit_config = self.pt.BaseTrainerConfig(output_dir=job["tmp"], num_epochs=job["maf_epochs"],
                                                   learning_rate=job["lr"], per_device_train_batch_size=job["batch"],
                                                   steps_saving=None, no_cuda=True)
            s.fit(x, training_config=fit_config)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        s.sample(num_samples=job["gen_samples"], return_gen=True)
        return fit, time.perf_counter() - start


class GaekitSide(_Side):
    def __init__(self):
        from gaekit.data import ArrayDataset
        from gaekit.models import create_model
        from gaekit.models.pythae_config import model_config_from_pythae
        from gaekit.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig, MAFSampler, MAFSamplerConfig
        from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig

        self.dataset, self.Trainer, self.TrainerConfig = ArrayDataset, Trainer, TrainerConfig
        self.create = lambda config: create_model(model_config_from_pythae(config))
        self.gmm = lambda m: GaussianMixtureSampler(m, GaussianMixtureSamplerConfig(num_components=10))
        self.maf = lambda m, job: MAFSampler(m, MAFSamplerConfig(
            num_epochs=job["maf_epochs"], learning_rate=job["lr"], batch_size=job["batch"], scheduler_patience=None,
            early_stopping_patience=None))
        self.clock = type("GaekitEpochClock", (_EpochClock, TrainerCallback), {})

    def build(self, config: dict):
        return self.create(config)

    def prepare(self, x):
        """Images as gaekit loads them (MNIST: uint8, scaled per batch) in its ``ArrayDataset``."""
        return self.dataset(x)

    def train(self, model, train, job: dict) -> float:
        clock = self.clock()
        config = self.TrainerConfig(num_epochs=1, batch_size=job["batch"], learning_rate=job["lr"], output_dir=None,
                                    seed=job["seed"])
        self.Trainer(model, config, train, callbacks=[clock]).train()
        return clock.end - clock.begin

    def has_nll(self, model) -> bool:
        return hasattr(model, "log_likelihood")

    def nll(self, model, test, samples: int) -> float:
        import torch

        generator = torch.Generator().manual_seed(1)
        x = test.as_float()  # the images in [0, 1], as log_likelihood takes them
        return -float(model.log_likelihood(x, num_importance_samples=samples, generator=generator).mean())

    def generate(self, model, train, sampler: str, job: dict):
        s = self.gmm(model) if sampler == "gmm" else self.maf(model, job)
        start = time.perf_counter()
        s.fit(train, batch_size=job["batch"] if sampler == "maf" else 500)
        fit = time.perf_counter() - start
        start = time.perf_counter()
        s.sample(job["gen_samples"], seed=0)
        return fit, time.perf_counter() - start


def worker(library: str, threads: int) -> None:
    """Answer the JSON jobs read from stdin, one line each, until stdin closes."""
    import torch

    torch.set_num_threads(threads)
    side = PythaeSide() if library == "pythae" else GaekitSide()
    print(RESULT + json.dumps({"ready": library, "threads": torch.get_num_threads(), "torch": torch.__version__}),
          flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        try:
            answer = side.config(job) if job["kind"] == "config" else side.run(job)
        except Exception as err:  # a model that fails on one side is reported, the others still run
            answer = {"error": f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"}
        print(RESULT + json.dumps(answer), flush=True)


# ---------------------------------------------------------------------------------------------- the parent
class Worker:
    """A worker interpreter for one library."""

    def __init__(self, library: str, threads: int, log: Path):
        env = dict(os.environ)
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        self.library, self._log = library, open(log, "w")
        command = [sys.executable, os.path.abspath(__file__), "--worker", library, "--threads", str(threads)]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, env=env, cwd=log.parent)
        self.info = self._answer()

    def _answer(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(RESULT):
                return json.loads(line[len(RESULT):])
        self._log.flush()
        tail = Path(self._log.name).read_text()[-2000:]
        raise SystemExit(f"the {self.library} worker stopped (exit status {self.proc.wait()}); its log ends:\n{tail}")

    def ask(self, job: dict) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        self._log.close()


def _spread(values):
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def _median(rows, side, task, key):
    values = [r[side][task][key] for r in rows if task in r[side]]
    return statistics.median(values) if values else None


def _target(met: bool) -> str:
    return "met" if met else "not met"


def _as_printed(value, digits):
    """``value`` rounded as the table prints it, so that a target is judged on the number the reader sees."""
    return None if value is None else round(value, digits)


def _fmt(value, spec=".0f"):
    return "n/a" if value is None else format(value, spec)


def report(results: dict, args) -> None:
    print(f"\n## Training: one epoch of {args.num_images} images, batch {args.batch_size}, Adam lr {args.lr}, "
          f"{args.repeats} repeat(s)\n")
    print("| model | Pythae samples/s | gaekit samples/s | gaekit / Pythae, median [min-max] | Pythae peak MB | "
          "gaekit peak MB | target (>= 1.5x, peak <= Pythae's) |\n|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        if isinstance(rows, str):
            print(f"| {name} | failed: {rows} | | | | |")
            continue
        ratios = [r["gaekit"]["train"]["samples_per_s"] / r["pythae"]["train"]["samples_per_s"] for r in rows]
        peaks = _median(rows, 'pythae', 'train', 'peak_mb'), _median(rows, 'gaekit', 'train', 'peak_mb')
        shown = _as_printed(statistics.median(ratios), 2), _as_printed(peaks[0], 0), _as_printed(peaks[1], 0)
        print(f"| {name} | {_fmt(_median(rows, 'pythae', 'train', 'samples_per_s'))} | "
              f"{_fmt(_median(rows, 'gaekit', 'train', 'samples_per_s'))} | {_spread(ratios)} | "
              f"{_fmt(peaks[0])} | {_fmt(peaks[1])} | "
              f"{_target(shown[0] >= 1.5 and None not in shown and shown[2] <= shown[1])} |")
    if "nll" in args.tasks:
        print(f"\n## NLL: {args.nll_samples} importance samples on {args.nll_images} test images\n")
        print("| model | Pythae s | gaekit s | speed-up Pythae s / gaekit s, median [min-max] | Pythae NLL | "
              "gaekit NLL | Pythae peak MB | gaekit peak MB | target (>= 2x) |\n|---|---|---|---|---|---|---|---|---|")
        for name, rows in results.items():
            rows = [r for r in rows if "nll" in r["pythae"] and "nll" in r["gaekit"]] if isinstance(rows, list) else []
            if rows:
                ratios = [r["pythae"]["nll"]["seconds"] / r["gaekit"]["nll"]["seconds"] for r in rows]
                print(f"| {name} | {_fmt(_median(rows, 'pythae', 'nll', 'seconds'), '.2f')} | "
                      f"{_fmt(_median(rows, 'gaekit', 'nll', 'seconds'), '.2f')} | {_spread(ratios)} | "
                      f"{_fmt(_median(rows, 'pythae', 'nll', 'nll'), '.2f')} | "
                      f"{_fmt(_median(rows, 'gaekit', 'nll', 'nll'), '.2f')} | "
                      f"{_fmt(_median(rows, 'pythae', 'nll', 'peak_mb'))} | "
                      f"{_fmt(_median(rows, 'gaekit', 'nll', 'peak_mb'))} | "
                      f"{_target(_as_printed(statistics.median(ratios), 2) >= 2)} |")
    samplers = [s for s in ("gmm", "maf") if s in args.tasks]
    if samplers:
        print(f"\n## Generation: fit on the {args.num_images} training images, then {args.gen_samples} samples "
              f"(MAF: {args.maf_epochs} epoch(s))\n")
        print("| model | sampler | Pythae fit s | gaekit fit s | Pythae sample s | gaekit sample s | "
              "speed-up (fit + sample), median [min-max] |\n|---|---|---|---|---|---|---|")
        for name, rows in results.items():
            for s in samplers:
                ok = [r for r in rows if s in r["pythae"] and s in r["gaekit"]] if isinstance(rows, list) else []
                if ok:
                    ratios = [r["pythae"][s]["seconds"] / r["gaekit"][s]["seconds"] for r in ok]
                    print(f"| {name} | {s.upper()} | {_fmt(_median(ok, 'pythae', s, 'fit_s'), '.2f')} | "
                          f"{_fmt(_median(ok, 'gaekit', s, 'fit_s'), '.2f')} | "
                          f"{_fmt(_median(ok, 'pythae', s, 'sample_s'), '.3f')} | "
                          f"{_fmt(_median(ok, 'gaekit', s, 'sample_s'), '.3f')} | {_spread(ratios)} |")


def load_images(args):
    """(train uint8-or-float array, test array) of the chosen data set."""
    from gaekit.data import load_digits, load_mnist

    load = load_digits if args.dataset == "digits" else (lambda split: load_mnist(split, root=args.data_dir))
    train, test = load("train"), load("test")
    return train.data[: args.num_images].numpy(), test.data[: args.nll_images].numpy()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(SHARED), help="comma-separated gaekit names (default: all 25)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--nll-images", type=int, default=100)
    parser.add_argument("--nll-samples", type=int, default=100)
    parser.add_argument("--gen-samples", type=int, default=1000)
    parser.add_argument("--maf-epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of each worker (default 1)")
    parser.add_argument("--dataset", choices=("mnist", "digits"), default="mnist",
                        help="mnist ($GAEKIT_DATA_DIR or --data-dir) or scikit-learn's bundled 8x8 digits")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="a seconds-long check: 300 images, 1 repeat, tiny NLL and generation")
    parser.add_argument("--worker", choices=("gaekit", "pythae"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.num_images, args.repeats, args.nll_images, args.nll_samples = 300, 1, 5, 10
        args.gen_samples, args.maf_epochs = 50, 1
    args.tasks = [t for t in args.tasks.split(",") if t]
    args.models = [m for m in args.models.split(",") if m]
    unknown = [m for m in args.models if m not in SHARED] + [t for t in args.tasks if t not in TASKS]
    if unknown:
        parser.error(f"unknown model(s) or task(s) {unknown}; models: {', '.join(SHARED)}; tasks: {', '.join(TASKS)}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker, args.threads)
        return
    import numpy as np

    train, test = load_images(args)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "train.npy", train)
        np.save(tmp / "test.npy", test)
        workers = {lib: Worker(lib, args.threads, tmp / f"{lib}.log") for lib in ("pythae", "gaekit")}
        print(f"torch {workers['gaekit'].info['torch']}, {args.threads} thread(s) per side, OMP_WAIT_POLICY="
              f"{os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')}, {len(train)} {args.dataset} images "
              f"{tuple(train.shape[1:])}, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
        base = {"train": str(tmp / "train.npy"), "test": str(tmp / "test.npy"), "lr": args.lr,
                "batch": args.batch_size, "nll_samples": args.nll_samples, "gen_samples": args.gen_samples,
                "maf_epochs": args.maf_epochs, "tmp": str(tmp / "pythae_out")}
        results: dict = {}
        warm = True
        for name in args.models:
            config = workers["pythae"].ask({"kind": "config", "model": name, "input_dim": list(train.shape[1:]),
                                            "latent_dim": args.latent_dim})
            if "error" in config:
                results[name] = f"Pythae config: {config['error']}"
                continue
            if warm:  # one warm-up round of every task on each side (allocator, kernels, lazy imports)
                for w in workers.values():
                    w.ask({**base, "kind": "run", "config": config, "seed": 0, "tasks": args.tasks, "limit": 1000})
                warm = False
            rows = []
            for r in range(args.repeats):
                order = ("pythae", "gaekit") if r % 2 == 0 else ("gaekit", "pythae")
                row = {lib: workers[lib].ask({**base, "kind": "run", "config": config, "seed": r,
                                              "tasks": args.tasks}) for lib in order}
                failed = {lib: a["error"] for lib, a in row.items() if "error" in a}
                if failed:
                    rows = "; ".join(f"{lib}: {e}" for lib, e in failed.items())
                    break
                rows.append(row)
            results[name] = rows
            print(f"  {name} done", file=sys.stderr, flush=True)
        for w in workers.values():
            w.close()
    report(results, args)


if __name__ == "__main__":
    main()
