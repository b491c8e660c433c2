"""Write model folders and a checkpoint with a gaekit release (run with that release's ``src`` on PYTHONPATH).

How the committed folders were made (gaekit b7c0095, the last release whose ``gaekit.json`` holds
``<part>_network`` specs and whose config holds no ``network`` field)::

    cd tests/data_files/folders_v1 && PYTHONPATH=../../../src OMP_NUM_THREADS=1 python make_folders.py .

Each ``MODELS`` entry is a model folder; ``checkpoint_conv`` is a trainer checkpoint of the conv VAE.
``expected.json`` records, per folder, the model's output on a fixed batch, so that a later release can
check that it loaded the same model, not only that it loaded.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def batch():
    """The fixed input every folder's model is run on: 4 deterministic 8x8 images in [0, 1]."""
    import torch

    return (torch.arange(4 * 64, dtype=torch.float32).reshape(4, 1, 8, 8) % 17) / 16


def models():
    """name -> model (seeded), covering each way a network could be chosen before the config held it."""
    import torch

    from gaekit.models import (
        RHVAE,
        SVAE,
        VAE,
        VAEGAN,
        VQVAE,
        Adversarial_AE,
        Adversarial_AE_Config,
        RHVAEConfig,
        SVAEConfig,
        VAEConfig,
        VAEGANConfig,
        VQVAEConfig,
    )
    from gaekit.nn import MLPEncoder, create_network

    dims = (1, 8, 8)

    def conv(role, latent_dim, model):
        return create_network("conv", dataset=dims, role=role, latent_dim=latent_dim, model=model, channels=(4, 8))

    def build(name):
        torch.manual_seed(0)
        if name == "vae_mlp":  # the default networks: no spec saved
            return VAE(VAEConfig(input_dim=dims, latent_dim=2))
        if name == "vae_conv":  # create_network encoder and decoder with options
            return VAE(VAEConfig(input_dim=dims, latent_dim=2), encoder=conv("encoder", 2, VAE),
                       decoder=conv("decoder", 2, VAE))
        if name == "vae_mixed":  # a create_network encoder beside the default decoder
            return VAE(VAEConfig(input_dim=dims, latent_dim=2), encoder=conv("encoder", 2, VAE))
        if name == "vae_custom":  # a hand-built encoder: recorded by class name, passed again to load
            return VAE(VAEConfig(input_dim=dims, latent_dim=2), encoder=MLPEncoder(dims, 2, hidden_dims=(8,)))
        if name == "vaegan_conv":  # the discriminator follows the encoder's network family
            return VAEGAN(VAEGANConfig(input_dim=dims, latent_dim=2), encoder=conv("encoder", 2, VAEGAN),
                          decoder=conv("decoder", 2, VAEGAN))
        if name == "vqvae_conv":  # a spatial latent map
            return VQVAE(VQVAEConfig(input_dim=dims, latent_dim=4, num_embeddings=8),
                         encoder=conv("encoder", 4, VQVAE), decoder=conv("decoder", 4, VQVAE))
        if name == "svae":  # the default hyperspherical encoder is a create_network spec
            return SVAE(SVAEConfig(input_dim=dims, latent_dim=3))
        if name == "rhvae":  # data-sized buffers
            return RHVAE(RHVAEConfig(input_dim=dims, latent_dim=2))
        if name == "aae":  # the default discriminator is a create_network spec on the latent space
            return Adversarial_AE(Adversarial_AE_Config(input_dim=dims, latent_dim=2))
        raise KeyError(name)

    names = ["vae_mlp", "vae_conv", "vae_mixed", "vae_custom", "vaegan_conv", "vqvae_conv", "svae", "rhvae", "aae"]
    return {name: build(name) for name in names}


def checkpoint_settings(output_dir: str) -> dict:
    """The TrainerConfig fields of the checkpointed run (1 epoch of 4 steps)."""
    return {"output_dir": output_dir, "num_epochs": 2, "batch_size": 16, "learning_rate": 1e-3, "seed": 3,
            "steps_saving": 1, "show_progress": False, "device": "cpu"}


def data():
    from gaekit.data import load_digits

    return load_digits("train").subset(slice(0, 64)), load_digits("validation").subset(slice(0, 32))


def main(out: Path) -> None:
    import torch

    from gaekit.trainers import Trainer, TrainerConfig

    expected = {}
    for name, model in models().items():
        model.save(out / name)
        model.eval()
        with torch.no_grad():
            expected[name] = model.reconstruct(batch()).flatten().tolist()
    train, val = data()
    trainer = Trainer(models()["vae_conv"], TrainerConfig(**checkpoint_settings(str(out / "runs"))), train, val)
    trainer.train()
    shutil.copytree(trainer.run_dir / "checkpoint_epoch_1", out / "checkpoint_conv")
    shutil.rmtree(out / "runs")
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
