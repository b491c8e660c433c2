"""gaekit's disentanglement metrics against disentanglement_lib (Locatello et al. 2019's code) on the same work:
time and value of each metric, both sides alternated and repeated.

The work: dSprites' ground-truth source (``DSpritesGroundTruth.cached()``, the 737,280 images in memory) and a
fixed encoder of the images, cheap so that the metrics' own cost is what is timed. By default a random linear
map of the 64x64 images to 10 codes; ``--checkpoint`` takes a beta-VAE of ``betavae_dsprites.py`` instead. Each
side draws its own samples (gaekit a ``numpy.random.Generator``, disentanglement_lib a ``RandomState``), so the
values agree to sampling error, not exactly; ``tests/metrics/test_disentanglement_lib_parity.py`` checks them
exactly on shared draws.

    python benchmarks/disentanglement_vs_reference.py [--repeats 3] [--metrics mig,sap] [--num-train 10000]
        [--num-test 5000] [--dci-num-train 2000] [--checkpoint DIR]

The counts are the protocol's except DCI's (default 2,000 / 1,000: at 10,000 its 113-class boosting takes about
14 minutes a side). Prints, per metric, each side's median seconds and spread, the ratio (disentanglement_lib /
gaekit: above 1, gaekit is faster) and the median of each side's headline score.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def main() -> None:
    from gaekit.metrics.disentanglement import METRICS, DSpritesGroundTruth
    from gaekit.metrics.disentanglement.reference import (
        REFERENCE_KEYS,
        REFERENCE_PROTOCOL,
        load_disentanglement_lib,
        reference_scores,
    )
    from gaekit.metrics.evaluation_disentanglement import HEADLINES, metric_counts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--metrics", default=None, help="comma-separated metric names (default: all six)")
    parser.add_argument("--num-train", type=int, default=10_000)
    parser.add_argument("--num-test", type=int, default=5_000)
    parser.add_argument("--dci-num-train", type=int, default=2_000)
    parser.add_argument("--checkpoint", default=None, help="a beta-VAE checkpoint of betavae_dsprites.py")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    source = DSpritesGroundTruth.cached()
    if args.checkpoint:
        from betavae_dsprites import make_model

        from gaekit.metrics.disentanglement import model_representation
        from gaekit.trainers.checkpoint import read_checkpoint

        model = make_model()
        model.load_state_dict(read_checkpoint(args.checkpoint)[0])
        representation, encoder = model_representation(model.eval()), "the beta-VAE checkpoint"
    else:
        weights = torch.randn(64 * 64, 10, generator=torch.Generator().manual_seed(0)) / 64

        def representation(images):
            return images.reshape(len(images), -1).float() @ weights

        encoder = "a random linear map of the images to 10 codes"
    names = args.metrics.split(",") if args.metrics else list(REFERENCE_PROTOCOL)
    representation(source.observe(source.sample_factors(64, np.random.default_rng(0))))  # loads the images
    load_disentanglement_lib()  # imports (theirs import scikit-learn's estimators) out of the timings
    print(f"dSprites, {encoder}; {args.repeats} repeats a side, alternated; torch threads {args.threads}")
    print(f"{'metric':24s} {'gaekit s':>19s} {'reference s':>19s} {'ratio':>6s}   {'gaekit':>8s} {'reference':>9s}")
    for name in names:
        n_train = args.dci_num_train if name == "dci" else args.num_train
        n_test = n_train // 2 if name == "dci" else args.num_test
        counts = metric_counts(name, n_train, n_test)
        times: dict[str, list[float]] = {"gaekit": [], "reference": []}
        values: dict[str, list[float]] = {"gaekit": [], "reference": []}
        flat, key = HEADLINES[name][0]
        for repeat in range(args.repeats):
            for side in (("gaekit", "reference") if repeat % 2 == 0 else ("reference", "gaekit")):
                start = time.perf_counter()
                if side == "gaekit":
                    value = METRICS[name](source, representation, seed=repeat, **counts)[key]
                else:
                    theirs = reference_scores(source, representation, [name], seed=repeat,
                                              settings={name: counts})[name]
                    value = theirs[REFERENCE_KEYS.get(key, key)]
                times[side].append(time.perf_counter() - start)
                values[side].append(float(value))
        med = {side: statistics.median(t) for side, t in times.items()}
        spread = {side: f"{med[side]:.2f} [{min(t):.2f}-{max(t):.2f}]" for side, t in times.items()}
        print(f"{flat:24s} {spread['gaekit']:>19s} {spread['reference']:>19s} {med['reference'] / med['gaekit']:6.2f}"
              f"   {np.median(values['gaekit']):8.4f} {np.median(values['reference']):9.4f}"
              f"   (at {n_train} / {n_test})", flush=True)


if __name__ == "__main__":
    main()
