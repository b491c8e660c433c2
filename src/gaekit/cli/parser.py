"""The argument parser of the ``gaekit`` command: one function per command adds its flags."""

from __future__ import annotations

import argparse

from gaekit.bench.commands import add_bench_parser, positive_int
from gaekit.cli.demo import cmd_demo
from gaekit.cli.evaluate import cmd_evaluate
from gaekit.cli.generate import cmd_generate
from gaekit.cli.train import cmd_train
from gaekit.reproduce.commands import add_reproduce_parser


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``gaekit train: error: ...`` (exit 2)."""

    def error(self, message: str):
        command = " ".join(self.prog.split()[:2])  # "gaekit bench run" reports as "gaekit bench", like main()
        self.exit(2, f"{command}: error: {message} (see {self.prog} --help)\n")


def _add_data_args(parser: argparse.ArgumentParser, default: str | None = "digits",
                   default_text: str = "%(default)s") -> None:
    parser.add_argument("--dataset", default=default,
                        help="digits (scikit-learn's bundled 8x8 digits), mnist, fashion-mnist, cifar10, "
                             f"celeba, npz:PATH or images:FOLDER (default: {default_text})")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the files of mnist, fashion-mnist, cifar10 or celeba, or their "
                             "folder; when given it is the only place looked at, an error if it does not hold the "
                             "dataset, and refused with digits, npz:PATH and images:FOLDER (default: "
                             "$GAEKIT_DATA_DIR, then the user data dir)")


def build_parser() -> argparse.ArgumentParser:
    from gaekit import __version__

    parser = _Parser(prog="gaekit", description="Generative autoencoders: train, sample, evaluate.")
    parser.add_argument("--version", action="version", version=f"gaekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_demo, _add_train, _add_generate, _add_evaluate, add_bench_parser, add_reproduce_parser):
        add(sub)
    return parser


def _add_demo(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="train a VAE and an AE, write reconstructions, samples and metrics",
                          description="Train a VAE and an AE on real data (scikit-learn's bundled digits by "
                                      "default, no download), then write reconstructions, samples from the "
                                      "normal and GMM samplers, an interpolation (PNG grids) and metrics.json "
                                      "with the test MSE.")
    _add_data_args(demo)
    demo.add_argument("--output-dir", default="gaekit_demo", help="where everything is written (default: %(default)s)")
    demo.add_argument("--epochs", type=positive_int, default=None, help="default: 60 on digits, 5 on mnist")
    demo.add_argument("--latent-dim", type=positive_int, default=None, help="default: 8 on digits, 16 otherwise")
    demo.add_argument("--batch-size", type=positive_int, default=64, help="default: %(default)s")
    demo.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: %(default)s)")
    demo.add_argument("--num-samples", type=positive_int, default=64, help="samples per sampler (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=cmd_demo)


def _add_train(sub: argparse._SubParsersAction) -> None:
    from gaekit.models import MODELS

    train = sub.add_parser("train", help="train any registered model on a dataset",
                           description="Train a registered model. The model config comes from --model-config "
                                       "(JSON), --latent-dim, --reconstruction-loss and --set KEY=VALUE (flags "
                                       "override the file; two flags that disagree are refused); input_dim "
                                       "defaults to the data's shape. The training config comes from "
                                       "--training-config (JSON) and the flags, which override the file. The "
                                       "dataset's validation split is the eval data. Ctrl-C writes "
                                       "checkpoint_interrupted and prints the command that resumes it.")
    train.add_argument("model", nargs="?", default=None,
                       help="registered model name, one of: " + ", ".join(MODELS.names()) + " (default: VAE)")
    train.add_argument("--model", dest="model_option", metavar="MODEL", help="the same, as an option")
    _add_data_args(train, default=None, default_text="digits; with --resume, the dataset recorded in the "
                                                     "checkpoint, and a different one is refused")
    train.add_argument("--model-config", help="JSON file holding an object of model config fields (a \"name\" "
                                              "in it must be the model's), or a Pythae model config file "
                                              "(\"name\": \"VAEConfig\", ...), which also names the model")
    train.add_argument("--training-config", help="JSON file holding an object of TrainerConfig fields, or a Pythae "
                                                 "trainer config file (\"name\": \"BaseTrainerConfig\", ...)")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="model config field (value parsed as JSON when possible); repeatable")
    train.add_argument("--net", default=None, choices=["mlp", "conv", "convnet", "resnet"],
                       help="encoder/decoder: the default MLP, a convolutional net for any image size, or the "
                            "paper's ConvNet / ResNet (Appendix C; MNIST, CIFAR-10, CelebA shapes) "
                            "(default: mlp)")
    train.add_argument("--latent-dim", type=positive_int)
    train.add_argument("--reconstruction-loss", choices=["mse", "bce"])
    train.add_argument("--epochs", type=positive_int,
                       help="num_epochs; with --resume, train the resumed run on to this many epochs")
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--lr", type=float, help="learning_rate")
    train.add_argument("--seed", type=int)
    train.add_argument("--output-dir", help="TrainerConfig.output_dir, checked before training starts")
    train.add_argument("--no-eval", action="store_true", help="do not evaluate on the validation split")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.add_argument("--resume", metavar="CHECKPOINT_DIR",
                       help="continue exactly from a checkpoint folder: model, configs, run folder and data "
                            "(--dataset, --data-dir, evaluation) are read from it; only --epochs, --data-dir "
                            "(the data moved) and --no-progress may be given with it, any other flag that would "
                            "change the run is refused. Ctrl-C during training writes checkpoint_interrupted "
                            "and prints the command to resume it (exit 130)")
    train.set_defaults(func=cmd_train)


def _add_generate(sub: argparse._SubParsersAction) -> None:
    gen = sub.add_parser("generate", help="sample from a trained model folder",
                         description="Load a saved model folder, draw samples with a sampler and write "
                                     "samples.safetensors (and samples.png for image data).")
    gen.add_argument("model_dir", help="a saved model folder (e.g. .../final_model)")
    gen.add_argument("--sampler", default="normal",
                     help="normal, gmm, vamp (VAMP models), maf, iaf, two_stage or any registered sampler class name "
                          "(default: %(default)s); samplers that need fitting are fitted on --dataset")
    gen.add_argument("--sampler-config", help="JSON file holding an object of the sampler's config fields")
    gen.add_argument("--num-components", "--n-components", dest="num_components", type=positive_int, default=None,
                     help="GMM components (the config's default: 10)")
    _add_data_args(gen, default=None, default_text="digits; only for samplers fitted on data, the dataset must "
                                                   "have the model's input shape")
    gen.add_argument("--num-samples", type=positive_int, default=100, help="default: %(default)s")
    gen.add_argument("--batch-size", type=positive_int, default=500, help="default: %(default)s")
    gen.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    gen.add_argument("--output-dir", default="gaekit_samples", help="default: %(default)s")
    gen.set_defaults(func=cmd_generate)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="run the benchmark's evaluation tasks on a trained model folder",
                        description="Load a saved model folder and run the evaluation tasks of the Pythae "
                                    "benchmark (Section 4.2) on a dataset's train/validation/test splits: "
                                    "reconstruction (per-pixel MSE, FID), generation (FID, IS), classification "
                                    "(linear probe), clustering (k-means), interpolation (PNG grids) and the "
                                    "importance-sampled NLL of variational models; and, when asked for, the "
                                    "disentanglement metrics (beta-VAE, FactorVAE, MIG, SAP, DCI, Modularity, "
                                    "Explicitness) on dsprites, color-dsprites or noisy-dsprites. Writes "
                                    "metrics.json and the PNG grids to --out.")
    ev.add_argument("model_dir", help="a saved model folder (e.g. .../final_model)")
    _add_data_args(ev)
    ev.add_argument("--tasks", default="reconstruction,generation,classification,clustering,interpolation,nll",
                    help="comma-separated tasks among reconstruction, generation, classification, clustering, "
                         "interpolation, nll and disentanglement (default: all but disentanglement); the flags of a "
                         "task not run (e.g. --sampler without generation) are refused")
    ev.add_argument("--sampler", default=None,
                    help="comma-separated samplers for the generation task: normal, gmm, vamp, maf, iaf, two_stage or "
                         "registered sampler class names (default: normal); fitted on the train split")
    ev.add_argument("--sampler-config", help="JSON file holding an object of sampler config fields (applied "
                                             "to every sampler)")
    ev.add_argument("--num-components", "--n-components", dest="num_components", type=positive_int, default=None,
                    help="GMM components (the config's default: 10)")
    ev.add_argument("--extractor", default=None,
                    help="FID/IS feature extractor of the reconstruction and generation tasks: auto (Inception-v3 "
                         "when its weights are here, else the dataset's classifier), inception-v3, "
                         "mnist-classifier, fashion-mnist-classifier, digits-classifier or none (default: auto)")
    ev.add_argument("--inception-weights", metavar="PATH",
                    help="the FID Inception weights (pt_inception-2015-12-05-6726825d.pth or its .safetensors)")
    ev.add_argument("--no-download", action="store_true", help="never download the Inception weights")
    ev.add_argument("--cache-dir", help="gaekit cache folder (default: $GAEKIT_CACHE_DIR or ~/.cache/gaekit)")
    ev.add_argument("--config", help="JSON file holding an object of EvaluationConfig fields")
    ev.add_argument("--classification-runs", type=positive_int, help="linear classifier runs (default: 20)")
    ev.add_argument("--clustering-runs", type=positive_int, help="k-means runs (default: 100)")
    ev.add_argument("--num-samples", type=positive_int,
                    help="generated samples per sampler (default: the test-set size)")
    ev.add_argument("--num-importance-samples", "--nll-samples", dest="num_importance_samples", type=positive_int,
                    help="importance samples per image for the NLL (default: 100)")
    ev.add_argument("--nll-num-test", type=positive_int, help="test images for the NLL (default: all)")
    ev.add_argument("--disentanglement-metrics",
                    help="comma-separated metrics of the disentanglement task: beta_vae, factor_vae, mig, sap, dci, "
                         "modularity_explicitness (default: all)")
    ev.add_argument("--disentanglement-num-train", type=positive_int,
                    help="training samples of each disentanglement metric (default: 10000, Locatello et al. 2019)")
    ev.add_argument("--disentanglement-num-test", type=positive_int,
                    help="evaluation samples of each disentanglement metric (default: 5000)")
    ev.add_argument("--disentanglement-batch-size", type=positive_int,
                    help="observations encoded at once, and the batch of each beta-VAE / FactorVAE point (default: "
                         "64, Locatello et al. 2019; FactorVAE needs >= 2)")
    ev.add_argument("--batch-size", type=positive_int, help="default: 500")
    ev.add_argument("--seed", type=int, help="default: 0")
    ev.add_argument("--out", default="gaekit_eval", help="output folder (default: %(default)s)")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    ev.set_defaults(func=cmd_evaluate)
