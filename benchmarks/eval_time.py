"""How long each evaluation task takes for one MNIST model on this machine.

Trains a VAE (default MLP networks, latent dimension 16, BCE) on the 50k MNIST training split for
a few epochs (or loads a saved model folder), then runs ``gaekit.metrics.evaluate`` with the
paper's settings -- every task, 20 classifier runs, 100 k-means runs, 10,000 generated samples per
sampler (normal and GMM), FID/IS with the MNIST domain classifier, the NLL with 100 importance
samples -- and prints the seconds per task. Also prints the one-off cost of training the MNIST
classifier, of loading it from the cache, and the CPU throughput of the FID Inception-v3 (random
weights; the real weights cost the same), to estimate Inception FID on this machine.

    python benchmarks/eval_time.py [--epochs 2] [--model-dir DIR] [--data-dir ../shared/datasets]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch

from gaekit.data import load_mnist
from gaekit.metrics import EvaluationData, FIDInceptionV3, domain_classifier, evaluate
from gaekit.models import VAE, AutoModel, VAEConfig
from gaekit.trainers import Trainer, TrainerConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--model-dir", help="evaluate this saved model instead of training one")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--nll-num-test", type=int, default=None, help="default: the whole test set")
    parser.add_argument("--inception-images", type=int, default=8)
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    train, val, test = (load_mnist(s, root=args.data_dir) for s in ("train", "validation", "test"))
    with tempfile.TemporaryDirectory() as tmp:
        if args.model_dir:
            model = AutoModel.load_from_folder(args.model_dir)
        else:
            torch.manual_seed(0)
            model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce"))
            t0 = time.perf_counter()
            Trainer(model, TrainerConfig(num_epochs=args.epochs, batch_size=100, learning_rate=1e-3, output_dir=tmp,
                                         show_progress=False), train, val).train()
            print(f"trained a VAE for {args.epochs} epochs on 50k images in {time.perf_counter() - t0:.1f} s")

        cache = os.path.join(tmp, "cache")
        t0 = time.perf_counter()
        clf = domain_classifier("mnist", data_dir=args.data_dir, cache_dir=cache)
        print(f"MNIST classifier: trained in {time.perf_counter() - t0:.1f} s "
              f"(test accuracy {clf.info['test_accuracy']:.4f})")
        t0 = time.perf_counter()
        domain_classifier("mnist", data_dir=args.data_dir, cache_dir=cache)
        print(f"MNIST classifier: loaded from the cache in {time.perf_counter() - t0:.2f} s")

        t0 = time.perf_counter()
        result = evaluate(model, EvaluationData(train, val, test), sampler=["normal", "gmm"], dataset="mnist",
                          output_dir=os.path.join(tmp, "eval"), data_dir=args.data_dir, cache_dir=cache,
                          nll_num_test=args.nll_num_test)
        total = time.perf_counter() - t0
    print(f"\nevaluate(): {total:.1f} s in all")
    for task, seconds in result.timings.items():
        print(f"  {task:16s} {seconds:8.2f} s")
    print()
    print(result.summary())

    net = FIDInceptionV3().eval()
    x = torch.rand(args.inception_images, 1, 28, 28)
    with torch.no_grad():
        net(x[:1])
        t0 = time.perf_counter()
        net(x)
    rate = args.inception_images / (time.perf_counter() - t0)
    print(f"\nFID Inception-v3 on this CPU: {rate:.1f} images/s, so about {20_000 / rate / 60:.0f} min for the "
          "features of 10k test images and 10k samples")


if __name__ == "__main__":
    main()
