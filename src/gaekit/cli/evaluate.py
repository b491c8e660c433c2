"""``gaekit evaluate``: run the benchmark's evaluation tasks on a saved model folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from gaekit.cli.generate import _load_model, _sampler_configs
from gaekit.cli.inputs import _check_shape, _json_object, _load
from gaekit.errors import ConfigError

# evaluate flags that only some tasks use (dest, flag, tasks): given without any of them they are refused.
_FID = ("reconstruction", "generation")
TASK_FLAGS = (("sampler", "--sampler", ("generation",)), ("sampler_config", "--sampler-config", ("generation",)),
              ("num_components", "--num-components/--n-components", ("generation",)),
              ("num_samples", "--num-samples", ("generation",)),
              ("classification_runs", "--classification-runs", ("classification",)),
              ("clustering_runs", "--clustering-runs", ("clustering",)),
              ("num_importance_samples", "--num-importance-samples/--nll-samples", ("nll",)),
              ("nll_num_test", "--nll-num-test", ("nll",)), ("extractor", "--extractor", _FID),
              ("inception_weights", "--inception-weights", _FID),
              ("disentanglement_metrics", "--disentanglement-metrics", ("disentanglement",)),
              ("disentanglement_num_train", "--disentanglement-num-train", ("disentanglement",)),
              ("disentanglement_num_test", "--disentanglement-num-test", ("disentanglement",)),
              ("disentanglement_batch_size", "--disentanglement-batch-size", ("disentanglement",)))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gaekit.metrics import EvaluationConfig, EvaluationData, evaluate

    tasks = [t.strip().lower() for t in args.tasks.split(",") if t.strip()]
    unused = [f"{flag} (a {' / '.join(used)} setting)" for dest, flag, used in TASK_FLAGS
              if getattr(args, dest) is not None and not set(used) & set(tasks)]
    if unused:
        raise ConfigError(f"{', '.join(unused)}: not used by --tasks {args.tasks}; add the task or leave the flag "
                          "out")
    if args.inception_weights is not None and args.extractor not in (None, "auto", "inception-v3"):
        raise ConfigError(f"--inception-weights: --extractor {args.extractor} does not use them; leave one out")
    model = _load_model(args.model_dir)
    samplers = _sampler_configs(args.sampler or "normal", args.sampler_config, args.num_components)
    settings = {key: value for key, value in (
        ("classification_runs", args.classification_runs), ("clustering_runs", args.clustering_runs),
        ("num_generated", args.num_samples), ("num_importance_samples", args.num_importance_samples),
        ("nll_num_test", args.nll_num_test), ("batch_size", args.batch_size), ("seed", args.seed),
        ("disentanglement_num_train", args.disentanglement_num_train),
        ("disentanglement_num_test", args.disentanglement_num_test),
        ("disentanglement_batch_size", args.disentanglement_batch_size)) if value is not None}
    if args.disentanglement_metrics is not None:
        settings["disentanglement_metrics"] = [m.strip() for m in args.disentanglement_metrics.split(",") if m.strip()]
    config = EvaluationConfig.from_dict(_json_object(args.config, "--config")) if args.config else EvaluationConfig()
    data = None
    if set(tasks) - {"disentanglement"}:  # the disentanglement metrics draw from the dataset's factor source
        train = _load(args.dataset, "train", args.data_dir)
        _check_shape(model.input_dim, train, args.dataset)
        data = EvaluationData(train, *(_load(args.dataset, split, args.data_dir) for split in ("validation", "test")))
    out = Path(args.out)
    result = evaluate(model, data, tasks=tasks, sampler=samplers, extractor=args.extractor or "auto", config=config,
                      output_dir=out, dataset=args.dataset, data_dir=args.data_dir, cache_dir=args.cache_dir,
                      inception_weights=args.inception_weights, download=not args.no_download,
                      show_progress=not args.no_progress, **settings)
    print(result.summary())
    for kind, path in result.files.items():
        print(f"  {kind:32s} {path}")
    print("seconds per task: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    return 0
