"""The hyper-parameter grids of the studies: the paper's (Chadebec et al. 2022, arXiv:2206.08309, Appendix D, Tables
8-21) and Locatello et al. 2019's disentanglement study (``LOCATELLO_GRIDS``).

One place, as data: each entry is the paper's model label, the registered gaekit model, the fields
every configuration shares, the ten configurations (in the table's order: config 1 is the first
column) and the table they come from. Values are transcribed as printed; where a printed value looks
like a typo it is kept and flagged in the entry's ``note``. ``PAPER_MODEL_ORDER`` is the order of the
paper's result tables.
"""

from __future__ import annotations

from typing import Any

PAPER_MODEL_ORDER = ("VAE", "VAMP", "IWAE", "VAE-lin-NF", "VAE-IAF", "beta-VAE", "beta-TC-VAE", "FactorVAE",
                     "InfoVAE-IMQ", "InfoVAE-RBF", "AAE", "MSSSIM-VAE", "VAEGAN", "AE", "WAE-IMQ", "WAE-RBF",
                     "VQVAE", "RAE-L2", "RAE-GP")

NUM_PAPER_CONFIGS = 10

_REPEATS_NOTE = ("no table in the paper, which still counts 10 configurations for this model (1140 = 19 x 10 x 6): "
                 "10 repetitions of the default configuration, each trained with its own seed")


def _columns(**rows: list[Any]) -> list[dict[str, Any]]:
    """Turn table rows (field -> ten values) into the ten configuration dicts (columns)."""
    lengths = {len(v) for v in rows.values()}
    assert lengths == {NUM_PAPER_CONFIGS}, f"every row of a paper table has 10 values, got {lengths}"
    return [{k: v[i] for k, v in rows.items()} for i in range(NUM_PAPER_CONFIGS)]


# Table 15 (InfoVAE) and Table 19 (WAE): kernel bandwidth sigma and lambda, shared by the IMQ and RBF variants.
_INFOVAE = _columns(kernel_bandwidth=[1e-2, 1e-1, 0.5, 1e-2, 1e-1, 1, 100, 100, 10, 10],
                    lbd=[10, 10, 10, 1e-2, 1e-1, 10, 100, 100, 10, 10])
_WAE = _columns(kernel_bandwidth=[1e-2, 1e-1, 0.5, 1e-2, 1e-1, 1, 1, 1, 2, 5],
                reg_weight=[1, 1, 1, 1e-2, 1e-1, 1, 10, 100, 1, 1])
# Table 21 (RAE, both variants): beta -> embedding_weight, lambda -> reg_weight.
_RAE = _columns(embedding_weight=[1e-6, 1e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-2, 1e-1, 1],
                reg_weight=[1e-3, 1e-3, 1e-6, 1e-4, 1e-2, 1e-1, 1, 1e-3, 1e-3, 1e-3])
# Table 18 (VAEGAN): the paper's alpha weighs the decoder's feature reconstruction loss; gaekit's
# adversarial_loss_scale s weighs its GAN term, (1 - s) the reconstruction, so s = 1 - alpha.
_VAEGAN_ALPHA = [0.3, 0.5, 0.7, 0.8, 0.8, 0.8, 0.9, 0.9, 0.99, 0.999]

PAPER_GRIDS: dict[str, dict[str, Any]] = {
    "VAE": {"model": "VAE", "configs": [{}] * NUM_PAPER_CONFIGS, "source": None, "note": _REPEATS_NOTE},
    "VAMP": {"model": "VAMP", "source": "Table 8", "sampler_overrides": {"normal": "vamp"},
             # Table 8's fourth value is printed as 500 (likely a typo for 50); kept as printed.
             "configs": _columns(num_components=[10, 20, 30, 500, 100, 150, 200, 250, 300, 500]),
             "note": "num_components = K; config 4 printed as 500 (likely 50), kept as printed; "
                     "samples from its own VAMP prior instead of N(0, I)"},
    "IWAE": {"model": "IWAE", "source": "Table 9",
             "configs": _columns(num_importance_samples=[2, 3, 4, 5, 6, 7, 8, 9, 10, 12]),
             "note": "num_importance_samples = L"},
    "VAE-lin-NF": {"model": "VAE_LinNF", "source": "Table 10",
                   "configs": _columns(flows=["PPPPP", "RRRRR", "PRPRP", "10P", "15P", "20P", "30P", "PRPRPRPRPR",
                                              "PPP", "PRPRPRPPPR"]),
                   "note": "flow sequence, P planar and R radial (the config expands the shorthand)"},
    "VAE-IAF": {"model": "VAE_IAF", "source": "Table 11",
                "configs": _columns(hidden_size=[32, 32, 32, 32, 32, 32, 32, 32, 64, 128],
                                    num_made_hidden_layers=[2, 2, 2, 2, 2, 2, 4, 6, 2, 2],
                                    num_made_blocks=[1, 2, 5, 10, 20, 4, 4, 4, 4, 4]),
                "note": "hidden size in MADE = hidden_size, number of hidden units (layers) in MADE = "
                        "num_made_hidden_layers, number of IAF blocks = num_made_blocks"},
    "beta-VAE": {"model": "BetaVAE", "source": "Table 12",
                 "configs": _columns(beta=[1e-3, 1e-2, 1e-1, 0.5, 2, 5, 10, 20, 1e2, 1e3])},
    "beta-TC-VAE": {"model": "BetaTCVAE", "source": "Table 13", "fields": {"alpha": 1.0, "gamma": 1.0},
                    "configs": _columns(beta=[1e-3, 1e-2, 1e-1, 0.5, 1, 2, 5, 10, 50, 1e2]),
                    "note": "alpha = gamma = 1 as the paper; only beta varies"},
    "FactorVAE": {"model": "FactorVAE", "source": "Table 14",
                  "configs": _columns(gamma=[1, 2, 5, 10, 15, 20, 30, 40, 50, 100])},
    "InfoVAE-IMQ": {"model": "InfoVAE_MMD", "source": "Table 15", "fields": {"kernel_choice": "imq", "alpha": 0.0},
                    "configs": _INFOVAE, "note": "kernel bandwidth sigma = kernel_bandwidth, lambda = lbd, alpha = 0"},
    "InfoVAE-RBF": {"model": "InfoVAE_MMD", "source": "Table 15", "fields": {"kernel_choice": "rbf", "alpha": 0.0},
                    "configs": _INFOVAE, "note": "kernel bandwidth sigma = kernel_bandwidth, lambda = lbd, alpha = 0"},
    "AAE": {"model": "Adversarial_AE", "source": "Table 16",
            "configs": _columns(adversarial_loss_scale=[1e-3, 1e-2, 1e-1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]),
            "note": "alpha = adversarial_loss_scale (L = reconstruction + alpha * L_GAN)"},
    "MSSSIM-VAE": {"model": "MSSSIM_VAE", "source": "Table 17",
                   "configs": _columns(beta=[1e-2, 1e-2, 1e-2, 1e-1, 1e-1, 1e-1, 1, 1, 1, 1],
                                       window_size=[3, 5, 11, 5, 3, 11, 11, 5, 3, 15])},
    "VAEGAN": {"model": "VAEGAN", "source": "Table 18",
               "configs": _columns(adversarial_loss_scale=[round(1 - a, 6) for a in _VAEGAN_ALPHA],
                                   reconstruction_layer=[3, 3, 3, 3, 2, 4, 3, 3, 3, 3]),
               "note": "adversarial_loss_scale = 1 - alpha (alpha weighs the decoder's reconstruction loss), "
                       "reconstruction_layer = l; configs 7 and 8 are printed identical (0.9, 3)"},
    "AE": {"model": "AE", "configs": [{}] * NUM_PAPER_CONFIGS, "source": None, "note": _REPEATS_NOTE},
    "WAE-IMQ": {"model": "WAE_MMD", "source": "Table 19", "fields": {"kernel_choice": "imq"}, "configs": _WAE,
                "note": "kernel bandwidth sigma = kernel_bandwidth, lambda = reg_weight"},
    "WAE-RBF": {"model": "WAE_MMD", "source": "Table 19", "fields": {"kernel_choice": "rbf"}, "configs": _WAE,
                "note": "kernel bandwidth sigma = kernel_bandwidth, lambda = reg_weight"},
    "VQVAE": {"model": "VQVAE", "source": "Table 20",
              # Table 20's last K is printed as 2948 (likely 2048); kept as printed.
              "configs": _columns(num_embeddings=[128, 256, 512, 512, 512, 512, 512, 512, 1024, 2948],
                                  beta=[0.25, 0.25, 0.9, 0.1, 0.5, 0.25, 0.75, 0.25, 0.25, 0.25]),
              "note": "K = num_embeddings; config 10 printed as 2948 (likely 2048), kept as printed"},
    "RAE-L2": {"model": "RAE_L2", "source": "Table 21", "configs": _RAE,
               "note": "beta = embedding_weight, lambda = reg_weight"},
    "RAE-GP": {"model": "RAE_GP", "source": "Table 21", "configs": _RAE,
               "note": "beta = embedding_weight, lambda = reg_weight"},
}


# Locatello et al. 2019's network (their appendix Table 1) as gaekit's ``conv`` options: 4x4 stride-2 convolutions
# with 32, 32, 64, 64 channels, a 256-unit dense layer, no batch norm (the decoder mirrors it).
LOCATELLO_CONV_OPTIONS: dict[str, Any] = {"channels": [32, 32, 64, 64], "batch_norm": False, "dense_dim": 256}

# Locatello et al. 2019, "Challenging Common Assumptions in the Unsupervised Learning of Disentangled
# Representations" (ICML), Table 2 of the appendix ("Hyperparameters explored for the different models"), in the
# order of their figures (0 = beta-VAE ... 5 = AnnealedVAE). Six values each; every value was trained with 50
# seeds there. AnnealedVAE (Burgess et al. 2018) is gaekit's DisentangledBetaVAE: gamma = beta, c_max = C, and
# its capacity grows per step to C over the paper's 100,000 steps (``warmup_steps``, set by the presets).
LOCATELLO_MODEL_ORDER = ("beta-VAE", "FactorVAE", "beta-TC-VAE", "DIP-VAE-I", "DIP-VAE-II", "AnnealedVAE")
LOCATELLO_GRIDS: dict[str, dict[str, Any]] = {
    "beta-VAE": {"model": "BetaVAE", "source": "Locatello et al. 2019, Table 2",
                 "configs": [{"beta": b} for b in (1, 2, 4, 6, 8, 16)]},
    "FactorVAE": {"model": "FactorVAE", "source": "Locatello et al. 2019, Table 2",
                  "configs": [{"gamma": g} for g in (10, 20, 30, 40, 50, 100)],
                  "note": "gamma weighs the total correlation estimated by the discriminator (6 x 1000 units)"},
    "beta-TC-VAE": {"model": "BetaTCVAE", "source": "Locatello et al. 2019, Table 2",
                    "fields": {"alpha": 1.0, "gamma": 1.0}, "configs": [{"beta": b} for b in (1, 2, 4, 6, 8, 10)],
                    "note": "beta weighs the total correlation; alpha = gamma = 1"},
    "DIP-VAE-I": {"model": "DIPVAE", "source": "Locatello et al. 2019, Table 2", "fields": {"variant": "i"},
                  "configs": [{"lambda_offdiag": v} for v in (1, 2, 5, 10, 20, 50)],
                  "note": "lambda_od = lambda_offdiag; lambda_d = 10 lambda_od (lambda_diag's default)"},
    "DIP-VAE-II": {"model": "DIPVAE", "source": "Locatello et al. 2019, Table 2", "fields": {"variant": "ii"},
                   "configs": [{"lambda_offdiag": v} for v in (1, 2, 5, 10, 20, 50)],
                   "note": "lambda_od = lambda_offdiag; lambda_d = lambda_od (lambda_diag's default)"},
    "AnnealedVAE": {"model": "DisentangledBetaVAE", "source": "Locatello et al. 2019, Table 2",
                    "fields": {"beta": 1000.0}, "configs": [{"C": c} for c in (5, 10, 25, 50, 75, 100)],
                    "note": "gamma = 1000 = beta, c_max = C; the capacity grows per step over warmup_steps"},
}


def paper_models(labels: tuple[str, ...] = PAPER_MODEL_ORDER, configs: dict[str, list[int]] | None = None) -> list:
    """``ModelSpec`` list of the paper's models.

    Parameters
    ----------
    labels : tuple of str
        Paper labels, in the wanted order (default all 19, in the paper's table order).
    configs : dict, optional
        Per label, the 1-based configuration numbers to keep (default: all ten). The kept
        configurations are renumbered from 1 in the study; ``source`` records the original numbers.
    """
    return grid_models(PAPER_GRIDS, labels, configs)


def locatello_models(labels: tuple[str, ...] = LOCATELLO_MODEL_ORDER, configs: dict[str, list[int]] | None = None,
                     fields: dict[str, dict[str, Any]] | None = None) -> list:
    """``ModelSpec`` list of Locatello et al. 2019's six models (``LOCATELLO_GRIDS``); ``labels`` and ``configs``
    as :func:`paper_models`, ``fields`` per label further shared fields (e.g. AnnealedVAE's ``warmup_steps``)."""
    models = grid_models(LOCATELLO_GRIDS, labels, configs)
    return [m.replace(fields={**m.fields, **(fields or {}).get(m.label, {})}) for m in models]


def grid_models(grids: dict[str, dict[str, Any]], labels: tuple[str, ...],
                configs: dict[str, list[int]] | None = None) -> list:
    """``ModelSpec`` list of the ``labels`` entries of ``grids`` (see :func:`paper_models`)."""
    from gaekit.bench.spec import ModelSpec
    from gaekit.errors import ConfigError

    out = []
    for label in labels:
        if label not in grids:
            raise ConfigError(f"unknown model label {label!r}; expected one of {', '.join(grids)}")
        entry = dict(grids[label])
        keep = (configs or {}).get(label)
        if keep is not None:
            bad = [k for k in keep if not 1 <= k <= len(entry["configs"])]
            if bad or not keep:
                raise ConfigError(f"configs[{label!r}]={keep!r} is invalid: "
                                  f"expected numbers in 1..{len(entry['configs'])}")
            entry["configs"] = [entry["configs"][k - 1] for k in keep]
            where = entry["source"] or "default configuration"
            entry["source"] = f"{where}, configs {', '.join(map(str, keep))}"
        out.append(ModelSpec(label=label, model=entry["model"], fields=dict(entry.get("fields", {})),
                             configs=[dict(c) for c in entry["configs"]], source=entry["source"],
                             note=entry.get("note"), sampler_overrides=dict(entry.get("sampler_overrides", {}))))
    return out
