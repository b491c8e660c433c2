"""``gaekit generate``: sample from a saved model folder; and the sampler and model lookups that
``gaekit evaluate`` shares."""

from __future__ import annotations

import argparse
from pathlib import Path

from gaekit.cli.inputs import _check_shape, _json_object, _load
from gaekit.errors import ConfigError


def _sampler_configs(names: str, config_file: str | None, num_components: int | None) -> list:
    """Configs of the comma-separated sampler ``names``, from ``--sampler-config`` and ``--num-components``."""
    from gaekit.samplers import resolve_sampler

    fields = _json_object(config_file, "--sampler-config") if config_file is not None else {}
    classes = [resolve_sampler(name, "--sampler") for name in (s.strip() for s in names.split(",") if s.strip())]
    if not classes:
        raise ConfigError(f"--sampler {names!r} names no sampler")
    takes = [c for c in classes if "num_components" in c.config_class.accepted_keys()]
    if num_components is not None and not takes:
        raise ConfigError(f"--num-components/--n-components applies to mixture samplers (gmm); --sampler {names} "
                          "has none")
    return [c.config_class.from_dict({**c.config_class.resolve_aliases(fields),
                                      **({"num_components": num_components} if num_components is not None and c in takes
                                         else {})})
            for c in classes]


def _load_model(folder: str):
    from gaekit.models import AutoModel

    return AutoModel.load_from_folder(folder)


def cmd_generate(args: argparse.Namespace) -> int:
    from gaekit.pipelines import GenerationPipeline
    from gaekit.samplers import sampler_for_config

    model = _load_model(args.model_dir)
    (sampler_config,) = _sampler_configs(args.sampler, args.sampler_config, args.num_components)
    train = None
    if sampler_for_config(sampler_config).needs_fit:
        dataset = args.dataset or "digits"
        train = _load(dataset, "train", args.data_dir)
        _check_shape(model.input_dim, train, dataset)
    elif args.dataset is not None or args.data_dir is not None:
        raise ConfigError(f"--dataset/--data-dir: the {args.sampler} sampler is not fitted on data, so they do not "
                          "apply; leave them out")
    out = Path(args.output_dir)
    samples = GenerationPipeline(model=model, sampler_config=sampler_config)(
        num_samples=args.num_samples, batch_size=args.batch_size, output_dir=str(out), train_data=train,
        seed=args.seed)
    png = out / "samples.png"
    print(f"wrote {len(samples)} samples to {out / 'samples.safetensors'}" + (f" and {png}" if png.exists() else ""))
    return 0
