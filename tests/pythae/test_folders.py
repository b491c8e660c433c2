"""Pythae 0.1.2 model folders, written by the real Pythae after a few training steps, load in gaekit with
identical outputs (encoder, decoder, reconstruction and each model's own parts; NLL within Monte-Carlo error);
folders with pickled networks need the networks passed; a malicious ``model.pt`` never runs code."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil

import pytest
import torch

pythae = pytest.importorskip("pythae", reason="the published peer pythae==0.1.2 is installed by the pythae extra")

import pythae.models as pm  # noqa: E402
from pythae.data.datasets import DatasetOutput  # noqa: E402
from pythae.models.base.base_model import BaseAE as PythaeBaseAE  # noqa: E402

from gaekit.errors import CheckpointError, ConfigError, UnsafeLoadError  # noqa: E402
from gaekit.models import MODELS, VAE, AutoModel  # noqa: E402
from gaekit.models.pythae_folders import REFUSED, is_pythae_folder  # noqa: E402

INPUT_DIM, LATENT = (1, 8, 8), 3
# every model Pythae 0.1.2 and gaekit share: gaekit name -> (Pythae model class, config class, test-size fields)
SHARED = {
    "AE": ("AE", "AEConfig", {}),
    "VAE": ("VAE", "VAEConfig", {"reconstruction_loss": "bce"}),
    "BetaVAE": ("BetaVAE", "BetaVAEConfig", {"beta": 2.0}),
    "DisentangledBetaVAE": ("DisentangledBetaVAE", "DisentangledBetaVAEConfig", {}),
    "BetaTCVAE": ("BetaTCVAE", "BetaTCVAEConfig", {}),
    "IWAE": ("IWAE", "IWAEConfig", {"number_samples": 3}),
    "MIWAE": ("MIWAE", "MIWAEConfig", {"number_samples": 2, "number_gradient_estimates": 2}),
    "PIWAE": ("PIWAE", "PIWAEConfig", {"number_samples": 2, "number_gradient_estimates": 2}),
    "CIWAE": ("CIWAE", "CIWAEConfig", {"number_samples": 3}),
    "MSSSIM_VAE": ("MSSSIM_VAE", "MSSSIM_VAEConfig", {"window_size": 3}),
    "InfoVAE_MMD": ("INFOVAE_MMD", "INFOVAE_MMD_Config", {}),
    "WAE_MMD": ("WAE_MMD", "WAE_MMD_Config", {}),
    "RAE_L2": ("RAE_L2", "RAE_L2_Config", {}),
    "RAE_GP": ("RAE_GP", "RAE_GP_Config", {}),
    "VAMP": ("VAMP", "VAMPConfig", {"number_components": 5}),
    "SVAE": ("SVAE", "SVAEConfig", {}),
    "PoincareVAE": ("PoincareVAE", "PoincareVAEConfig", {}),
    "HVAE": ("HVAE", "HVAEConfig", {"n_lf": 2, "learn_eps_lf": True, "learn_beta_zero": True}),
    "RHVAE": ("RHVAE", "RHVAEConfig", {"n_lf": 2}),
    "VAE_IAF": ("VAE_IAF", "VAE_IAF_Config", {"hidden_size": 8}),
    "VAE_LinNF": ("VAE_LinNF", "VAE_LinNF_Config", {"flows": ["Planar", "Radial"]}),
    "VQVAE": ("VQVAE", "VQVAEConfig", {"num_embeddings": 16}),
    "FactorVAE": ("FactorVAE", "FactorVAEConfig", {}),
    "VAEGAN": ("VAEGAN", "VAEGANConfig", {}),
    "Adversarial_AE": ("Adversarial_AE", "Adversarial_AE_Config", {}),
}
LOADED = [name for name in SHARED if name not in REFUSED]
FAST = {"AE", "VAE", "VAMP", "Adversarial_AE", "FactorVAE", "RHVAE", "VQVAE", "VAE_LinNF", "SVAE", "PoincareVAE",
        "VAE_IAF"}  # one per family


def _binary(n=64, seed=0):
    return (torch.rand(n, *INPUT_DIM, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def _pythae_model(name, seed=0, **fields):
    """A Pythae model of the shared ``name`` at test size, after three Adam steps on binary 1x8x8 images."""
    model_name, config_name, test_fields = SHARED[name]
    torch.manual_seed(seed)
    config = getattr(pm, config_name)(input_dim=INPUT_DIM, latent_dim=LATENT, **{**test_fields, **fields})
    model = getattr(pm, model_name)(config)
    if name == "VAE_LinNF":  # gaekit's planar flows hold invertible ones only (w.u > -1): start from one
        with torch.no_grad():
            model.net[0].u.mul_(0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = _binary()
    for step in range(3):
        out = model(DatasetOutput(data=data[16 * step:16 * step + 16]), epoch=1, dataset_size=64)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    if name == "RHVAE":
        model.update()  # Pythae's end-of-epoch metric update (what its trainer calls)
    return model.eval()


def _close(actual, expected, what, atol=1e-5):
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=atol, msg=lambda m: f"{what}: {m}")


def _own_parts(name, theirs, ours, x, z):
    """Each model's parts besides the encoder and decoder agree."""
    if name in ("Adversarial_AE", "VAEGAN"):
        inputs = z if name == "Adversarial_AE" else x
        _close(torch.sigmoid(ours.discriminator(inputs)).reshape(-1),
               theirs.discriminator(inputs).embedding.reshape(-1), "discriminator")
    if name == "FactorVAE":
        scores = theirs.discriminator(z)
        _close(ours.discriminator(z).reshape(-1), scores[:, 0] - scores[:, 1], "discriminator logit")
    if name == "VAMP":
        pseudo = theirs.pseudo_inputs(torch.eye(theirs.number_components)).reshape(-1, *INPUT_DIM)
        _close(ours.pseudo_input_values(), pseudo, "pseudo-inputs")
    if name in ("HVAE", "RHVAE"):
        _close(ours.eps_lf, theirs.eps_lf.expand(LATENT) if torch.is_tensor(theirs.eps_lf)
               else torch.full((LATENT,), theirs.eps_lf), "eps_lf")
    if name == "RHVAE":
        _close(ours.metric(x), theirs.metric(x)["L"], "metric L")
        _close(ours.metric_inverse(z), theirs.G_inv(z), "G^-1(z)", atol=1e-4)
    if name == "VAE_LinNF":
        flowed = z
        for layer in theirs.net:
            flowed = layer(flowed).out
        _close(ours.apply_flow(z)[0], flowed, "flows", atol=1e-5)


def _assert_same_outputs(name, theirs, ours, x):
    torch.manual_seed(1)
    z = torch.randn(len(x), LATENT)
    with torch.no_grad():
        enc = theirs.encoder(x)
        if name == "VQVAE":
            out = theirs(DatasetOutput(data=x))
            _close(ours.embed(x), out.z, "quantized codes")
            _close(ours.reconstruct(x), out.recon_x, "reconstruction")
        elif name == "PoincareVAE":  # Pythae's posterior: WrappedNormal(embedding, exp(log_covariance / 2))
            q = ours.posterior_distribution(x)
            _close(q.loc, enc.embedding, "posterior location")
            _close(q.scale, torch.exp(0.5 * enc.log_covariance), "posterior scale")
            _close(ours.reconstruct(x), theirs.decoder(enc.embedding).reconstruction, "reconstruction")
        elif name == "VAE_IAF":  # Pythae's flow: iaf_flow.inverse on the Gaussian draw
            mean, log_var = ours.posterior(x)
            _close(mean, enc.embedding, "embedding")
            _close(log_var, enc.log_covariance, "log_covariance")
            flowed = theirs.iaf_flow.inverse(z)
            z_k, log_det = ours.apply_flow(z)
            _close(z_k, flowed.out, "flow z_K")
            _close(log_det, flowed.log_abs_det_jac, "flow log-det")
            _close(ours.reconstruct(x), theirs.decoder(theirs.iaf_flow.inverse(enc.embedding).out).reconstruction,
                   "reconstruction")
        elif name == "SVAE":  # Pythae's posterior: vMF(embedding / |embedding|, softplus(log_concentration) + 1)
            mean, kappa = ours.posterior(x)
            direction = enc.embedding / enc.embedding.norm(dim=-1, keepdim=True)
            _close(mean, direction, "mean direction")
            _close(kappa, torch.nn.functional.softplus(enc.log_concentration) + 1, "concentration")
            _close(ours.decode(mean), theirs.decoder(direction).reconstruction, "reconstruction")
        else:
            mine = ours.posterior(x) if name == "VAE_LinNF" else ours.encode(x)
            mean, log_var = mine if name == "VAE_LinNF" else (mine.embedding, mine.log_covariance)
            _close(mean, enc.embedding, "embedding")
            if "log_covariance" in enc:
                _close(log_var, enc.log_covariance, "log_covariance")
            else:
                assert log_var is None
            if name != "VAE_LinNF":
                _close(ours.reconstruct(x), theirs.decoder(enc.embedding).reconstruction, "reconstruction")
        _close(ours.decode(z), theirs.decoder(z).reconstruction, "decoder")
        _own_parts(name, theirs, ours, x, z)


def _saved(model, tmp_path, name="pythae_model"):
    folder = tmp_path / name
    model.save(str(folder))
    return folder


def test_shared_models_are_every_pythae_model_gaekit_has():
    pythae_models = {n for n in dir(pm) if isinstance(getattr(pm, n), type) and issubclass(getattr(pm, n), PythaeBaseAE)
                     and n != "BaseAE"}
    assert {SHARED[g][0] for g in SHARED} == pythae_models
    assert set(SHARED) <= set(MODELS.names())
    assert REFUSED == {}  # every shared model's Pythae folders load


@pytest.mark.parametrize("name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in LOADED])
def test_pythae_folder_loads_with_identical_outputs(name, tmp_path):
    theirs = _pythae_model(name)
    folder = _saved(theirs, tmp_path)
    assert is_pythae_folder(folder)
    caller_rng = torch.get_rng_state()
    ours = AutoModel.load_from_folder(folder)
    assert torch.equal(torch.get_rng_state(), caller_rng), "loading drew from the caller's global RNG"
    assert type(ours) is MODELS.get(name) and ours.latent_dim == LATENT
    _assert_same_outputs(name, theirs, ours.eval(), _binary(8, seed=3))
    if name in ("AE", "VAE"):  # a gaekit model class loads its own Pythae folder too, and saves as gaekit
        reloaded = MODELS.get(name).load_from_folder(ours.save(tmp_path / "gaekit"))
        assert torch.equal(reloaded.reconstruct(_binary(4)), ours.reconstruct(_binary(4)))


# Pythae's get_nll and gaekit's log_likelihood, on the same weights; not compared: HVAE (Pythae's get_nll reshapes
# to 1x28x28 whatever the data), RHVAE (Pythae's estimate is 3.6 nats above the plain importance-sampled one here)
# PoincareVAE's and VAE_IAF's get_nll are sound importance-sampled estimates (their densities w.r.t. the same base
# measure; VAE_IAF drops the log(2 pi) of q and p, which cancel)
@pytest.mark.parametrize("name", ["VAE", pytest.param("VAMP", marks=pytest.mark.slow),
                                  pytest.param("VAE_LinNF", marks=pytest.mark.slow), "PoincareVAE", "VAE_IAF"])
def test_log_likelihood_matches_pythae_get_nll_within_monte_carlo_error(name, tmp_path):
    theirs = _pythae_model(name, reconstruction_loss="bce")
    ours = AutoModel.load_from_folder(_saved(theirs, tmp_path))
    x = _binary(6, seed=5)
    torch.manual_seed(0)
    reference = theirs.get_nll(x, n_samples=400, batch_size=400)  # Pythae: mean log p(x) (despite its name)
    mine = ours.log_likelihood(x, num_importance_samples=400, generator=torch.Generator().manual_seed(0))
    # both are importance-sampled log p(x) with 400 draws of the same posterior: a few hundredths of a nat apart
    assert abs(float(mine.mean()) - reference) < 0.15, (float(mine.mean()), reference)


def test_a_folder_written_by_pythaes_trainer_loads(tmp_path):
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.manual_seed(0)
    model = pm.VAE(pm.VAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT, reconstruction_loss="bce"))
    config = BaseTrainerConfig(output_dir=str(tmp_path), num_epochs=1, per_device_train_batch_size=16,
                               no_cuda=True)
    data = _binary()
    BaseTrainer(model, BaseDataset(data, torch.zeros(len(data))), training_config=config).train()
    (run,) = [p for p in tmp_path.iterdir() if p.name.startswith("VAE_training_")]
    ours = AutoModel.load_from_folder(run / "final_model")  # training_config.json sits beside: not read
    _assert_same_outputs("VAE", model.eval(), ours, _binary(8, seed=3))


class _Encoder(pythae.models.nn.BaseEncoder):
    """A custom Pythae encoder (conv), pickled by Pythae's save as encoder.pkl."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.mean, self.log_var = torch.nn.Linear(64, LATENT), torch.nn.Linear(64, LATENT)

    def forward(self, x):
        h = torch.relu(self.conv(x)).flatten(1)
        return pythae.models.base.base_utils.ModelOutput(embedding=self.mean(h), log_covariance=self.log_var(h))


class _Decoder(pythae.models.nn.BaseDecoder):
    """A custom Pythae decoder ending in nn.Sigmoid, as Pythae's decoders do."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(LATENT, 32), torch.nn.ReLU(), torch.nn.Linear(32, 64),
                                       torch.nn.Sigmoid())

    def forward(self, z):
        return pythae.models.base.base_utils.ModelOutput(reconstruction=self.net(z).reshape(-1, *INPUT_DIM))


def test_pickled_custom_networks_are_refused_unless_passed_and_then_get_the_weights(tmp_path):
    torch.manual_seed(0)
    theirs = pm.VAE(pm.VAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT, reconstruction_loss="bce"),
                    encoder=_Encoder(), decoder=_Decoder()).eval()
    folder = _saved(theirs, tmp_path)
    assert (folder / "encoder.pkl").is_file() and (folder / "decoder.pkl").is_file()
    with pytest.raises(CheckpointError, match=r"custom encoder and decoder .*encoder\.pkl, decoder\.pkl.*never "
                                              r"unpickles.*encoder=MyEncoder\(\.\.\.\), decoder=MyDecoder"):
        AutoModel.load_from_folder(folder)
    with pytest.raises(CheckpointError, match=r"custom decoder .*decoder\.pkl"):
        AutoModel.load_from_folder(folder, encoder=_Encoder())
    torch.manual_seed(5)  # other initial weights: the loaded ones must replace them
    ours = AutoModel.load_from_folder(folder, encoder=_Encoder(), decoder=_Decoder())
    assert ours.custom_networks == {"encoder", "decoder"}
    x = _binary(8, seed=3)
    _assert_same_outputs("VAE", theirs, ours, x)
    # the decoder's final nn.Sigmoid is recognised: the model's BCE is computed from its input, the logits
    assert torch.isfinite(ours(x).loss)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_malicious_model_pt_never_runs_code(writer, tmp_path):
    folder = _saved(_pythae_model("AE"), tmp_path)
    marker = tmp_path / "pwned"
    payload = {"model_state_dict": {}, "evil": _Exploit(marker)}
    if writer == "torch.save":
        torch.save(payload, folder / "model.pt")
    else:
        with open(folder / "model.pt", "wb") as fh:
            pickle.dump(payload, fh)
    named = r".*references GLOBAL posix\.system" if writer == "torch.save" else ""  # torch names what it refused
    with pytest.raises(UnsafeLoadError, match=r"model\.pt.*can run arbitrary code.*weights_only=True" + named):
        AutoModel.load_from_folder(folder)
    assert not marker.exists()


def test_bad_files_are_checkpoint_errors(tmp_path):
    folder = _saved(_pythae_model("AE"), tmp_path)
    good = (folder / "environment.json").read_text()
    assert json.loads(good)["python_version"].startswith("3.")
    (folder / "environment.json").write_text('{"name": "EnvironmentConfig", "python_version": 3}')
    with pytest.raises(CheckpointError, match="environment.json is invalid"):
        AutoModel.load_from_folder(folder)
    (folder / "environment.json").unlink()  # optional, as in Pythae
    assert AutoModel.load_from_folder(folder).latent_dim == LATENT
    with pytest.raises(CheckpointError, match="holds a Pythae AE model; load it with AutoModel or AE"):
        VAE.load_from_folder(folder)
    torch.save({"weights": {}}, folder / "model.pt")
    with pytest.raises(CheckpointError, match="expected a dict with 'model_state_dict'"):
        AutoModel.load_from_folder(folder)
    (folder / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="not a readable torch weights file"):
        AutoModel.load_from_folder(folder)


def test_weights_that_do_not_fit_are_named(tmp_path):
    theirs = _pythae_model("VAE")
    folder = _saved(theirs, tmp_path)
    state = theirs.state_dict()
    state["encoder.extra.weight"] = torch.zeros(2)
    torch.save({"model_state_dict": state}, folder / "model.pt")
    with pytest.raises(CheckpointError, match=r"encoder\.extra\.weight.*custom network; pass it again"):
        AutoModel.load_from_folder(folder)
    del state["encoder.extra.weight"]
    state["decoder.layers.1.0.weight"] = torch.zeros(3, 3)
    torch.save({"model_state_dict": state}, folder / "model.pt")
    with pytest.raises(CheckpointError, match="decoder"):
        AutoModel.load_from_folder(folder)


def _cache_snapshot(cache, repo_id, folder, revision="c" * 40):
    """Lay a folder's files out as snapshot_download's cache: models--org--name/{refs/main, snapshots/<rev>/...}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    shutil.copytree(folder, repo / "snapshots" / revision)


def test_pythae_hub_repositories_load_offline(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub", reason="huggingface_hub is installed by the hub extra")
    from huggingface_hub import constants

    theirs = _pythae_model("VAMP")
    _cache_snapshot(tmp_path / "cache", "clementchadebec/reproduced_vamp", _saved(theirs, tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    ours = AutoModel.load_from_hf_hub("clementchadebec/reproduced_vamp", allow_pickle=True,
                                      cache_dir=tmp_path / "cache")
    _assert_same_outputs("VAMP", theirs, ours, _binary(8, seed=3))
    assert type(AutoModel.from_hub("clementchadebec/reproduced_vamp", cache_dir=tmp_path / "cache")) is type(ours)
    custom = pm.VAE(pm.VAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT), encoder=_Encoder())
    _cache_snapshot(tmp_path / "cache", "me/custom", _saved(custom, tmp_path, "custom"))
    with pytest.raises(CheckpointError, match=r"encoder\.pkl.*never unpickles"):
        AutoModel.load_from_hf_hub("me/custom", allow_pickle=True, cache_dir=tmp_path / "cache")
    assert AutoModel.load_from_hf_hub("me/custom", cache_dir=tmp_path / "cache", encoder=_Encoder()).latent_dim == 3


class _Discriminator(pythae.models.nn.BaseDiscriminator):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(LATENT, 1), torch.nn.Sigmoid())

    def forward(self, x):
        return pythae.models.base.base_utils.ModelOutput(embedding=self.net(x))


def test_a_pickled_discriminator_is_refused_unless_passed(tmp_path):
    theirs = pm.Adversarial_AE(pm.Adversarial_AE_Config(input_dim=INPUT_DIM, latent_dim=LATENT),
                               discriminator=_Discriminator())
    folder = _saved(theirs, tmp_path)
    assert (folder / "discriminator.pkl").is_file()
    with pytest.raises(CheckpointError, match=r"custom discriminator .*discriminator\.pkl.*discriminator=My"):
        AutoModel.load_from_folder(folder)
    ours = AutoModel.load_from_folder(folder, discriminator=_Discriminator())
    assert ours.custom_networks == {"discriminator"}
    assert torch.equal(ours.discriminator.net[1].weight, theirs.discriminator.net[1].weight)
    _assert_same_outputs("VAE", theirs.eval(), ours, _binary(8, seed=3))


def test_a_non_invertible_planar_flow_is_refused_by_name(tmp_path):
    theirs = _pythae_model("VAE_LinNF")
    with torch.no_grad():
        w = theirs.net[0].w
        theirs.net[0].u.copy_(-2 * w / (w @ w.T))  # w.u = -2: a planar map gaekit's u_hat cannot express
    with pytest.raises(CheckpointError, match=r"planar flow net\.0 has w\.u = -2 <= -1 \(not invertible\)"):
        AutoModel.load_from_folder(_saved(theirs, tmp_path))


def test_create_model_takes_a_pythae_config_dict_with_pythaes_defaults():
    from gaekit.models import create_model

    config = pm.INFOVAE_MMD_Config(input_dim=INPUT_DIM, latent_dim=LATENT, kernel_choice="rbf")
    model = create_model(dataclasses.asdict(config), latent_dim=4)  # {"name": "INFOVAE_MMD_Config", ...}
    assert type(model).__name__ == "InfoVAE_MMD" and model.latent_dim == 4
    assert model.model_config.kernel_choice == "rbf" and model.model_config.lbd == 1e-3  # Pythae's default lbd
    vae = create_model({"name": "VAEConfig", "input_dim": [1, 8, 8], "latent_dim": 2})
    assert vae.model_config.decoder_variance == 1.0  # Pythae's 0.5 * SSE term
    with pytest.raises(ConfigError, match="no_such_field"):
        create_model({"name": "VAEConfig", "input_dim": [1, 8, 8], "no_such_field": 1})


def test_save_json_writes_dir_filename_json_as_pythae_does(tmp_path):
    from gaekit.models import VAEConfig

    config = VAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT)
    assert config.save_json(str(tmp_path), "model_config") == tmp_path / "model_config.json"
    assert VAEConfig.from_json(tmp_path / "model_config.json") == config
    with pytest.raises(ConfigError, match="not an existing folder"):
        config.save_json(tmp_path / "missing", "model_config")
    with pytest.raises(ConfigError, match="filename='a/b' is invalid"):
        config.save_json(tmp_path, "a/b")
