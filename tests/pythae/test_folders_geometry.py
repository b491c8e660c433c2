"""Pythae 0.1.2's PoincareVAE (both posteriors, both priors) and VAE_IAF (any number of MADE blocks) folders load
with the same densities and the same flow: gaekit's ``posterior_location="embedding"``,
``riemannian_scale_bounds`` and ``made_orderings="reverse_before_each"`` compute Pythae's maths."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

pythae = pytest.importorskip("pythae", reason="the published peer pythae==0.1.2 is installed by the pythae extra")

import pythae.models as pm  # noqa: E402
from pythae.data.datasets import DatasetOutput  # noqa: E402
from pythae.models.pvae.pvae_utils import RiemannianNormal, WrappedNormal  # noqa: E402

from gaekit.errors import CheckpointError, ConfigError  # noqa: E402
from gaekit.flows import IAF  # noqa: E402
from gaekit.models import AutoModel, create_model  # noqa: E402

INPUT_DIM, LATENT = (1, 8, 8), 3
NORMALS = {"wrapped_normal": WrappedNormal, "riemannian_normal": RiemannianNormal}


def _binary(n, seed):
    return (torch.rand(n, *INPUT_DIM, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def _trained(model, steps=3, lr=1e-3):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    data = _binary(48, 0)
    for step in range(steps):
        out = model(DatasetOutput(data=data[16 * step:16 * step + 16]))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    return model.eval()


def _loaded(model, tmp_path):
    model.save(str(tmp_path / "pythae_model"))
    return AutoModel.load_from_folder(tmp_path / "pythae_model").eval()


def _close(actual, expected, what, atol=1e-5):
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=atol, msg=lambda m: f"{what}: {m}")


def _poincare(posterior, prior, seed=0):
    torch.manual_seed(seed)
    config = pm.PoincareVAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT, posterior_distribution=posterior,
                                  prior_distribution=prior, reconstruction_loss="bce")
    with warnings.catch_warnings():  # Pythae warns that a Riemannian posterior needs a 1-d log_concentration
        warnings.simplefilter("ignore")
        return _trained(pm.PoincareVAE(config))


COMBOS = [(q, p) for q in NORMALS for p in NORMALS]


@pytest.mark.parametrize("posterior, prior", [c if c == ("riemannian_normal", "riemannian_normal")
                                              else pytest.param(*c, marks=pytest.mark.slow) for c in COMBOS])
def test_poincare_folders_load_with_pythaes_posterior_prior_and_decoder(posterior, prior, tmp_path):
    theirs = _poincare(posterior, prior)
    ours = _loaded(theirs, tmp_path)
    config = ours.model_config
    assert (config.posterior_location, config.riemannian_scale_bounds) == ("embedding", (0.1, 7.0))
    assert (config.posterior_distribution, config.prior_distribution) == (posterior, prior)
    x = _binary(8, 3)
    with torch.no_grad():
        enc = theirs.encoder(x)
        riemannian = posterior == "riemannian_normal"
        log_var = enc.log_concentration if riemannian else enc.log_covariance  # Pythae: std = exp(log_var / 2)
        assert enc.embedding.norm(dim=-1).max() < 1  # inside the ball, where Pythae's formulas are a distribution
        std = torch.exp(0.5 * log_var)
        q_theirs = NORMALS[posterior](loc=enc.embedding, scale=std, manifold=theirs.latent_manifold)
        q_ours = ours.posterior_distribution(x)
        _close(q_ours.loc, enc.embedding, "posterior location")
        _close(q_ours.scale, std.clamp(0.1, 7.0).squeeze(-1) if riemannian else std, "posterior scale")
        z = q_theirs.sample(torch.Size([1]))  # Pythae's own draws, (1, B, d)
        _close(q_ours.log_prob(z[0]), q_theirs.log_prob(z).sum(-1)[0], "log q(z|x)", atol=1e-4)
        p_theirs = NORMALS[prior](loc=theirs._pz_mu, scale=theirs._pz_logvar.exp(), manifold=theirs.latent_manifold)
        _close(ours.log_prior(z[0]), p_theirs.log_prob(z).sum(-1)[0], "log p(z)", atol=1e-4)
        _close(ours.decode(z[0]), theirs.decoder(z[0]).reconstruction, "decoder")
        _close(ours.reconstruct(x), theirs.decoder(enc.embedding).reconstruction, "reconstruction")


@pytest.mark.parametrize("posterior", ["riemannian_normal", pytest.param("wrapped_normal", marks=pytest.mark.slow)])
def test_poincare_log_likelihood_matches_pythae_get_nll(posterior, tmp_path):
    theirs = _poincare(posterior, posterior)
    ours = _loaded(theirs, tmp_path)
    x = _binary(6, 5)
    torch.manual_seed(0)
    reference = theirs.get_nll(x, n_samples=400, batch_size=400)  # mean importance-sampled log p(x), sound here
    mine = ours.log_likelihood(x, num_importance_samples=400, generator=torch.Generator().manual_seed(0))
    assert abs(float(mine.mean()) - reference) < 0.15, (float(mine.mean()), reference)


def test_an_embedding_outside_the_ball_is_projected_inside():
    """Pythae takes the embedding as the location even outside the ball (its conformal factor is then clamped: no
    distribution); gaekit keeps points inside as they are and pulls the others just inside."""
    model = create_model("PoincareVAE", input_dim=INPUT_DIM, latent_dim=LATENT, posterior_location="embedding",
                         curvature=4.0)
    x, radius = _binary(16, 1), 1 / math.sqrt(4.0)
    with torch.no_grad():  # the mean head scaled so that about half of the embeddings lie outside the ball
        head = model.encoder.head
        factor = radius / model.encoder(x).embedding.norm(dim=-1).median()
        head.weight[:LATENT] *= factor
        head.bias[:LATENT] *= factor
        raw = model.encoder(x).embedding
        loc = model.encode(x).embedding
    outside, inside = raw.norm(dim=-1) >= radius, raw.norm(dim=-1) < 0.99 * radius
    assert outside.sum() >= 4 and inside.sum() >= 4
    assert torch.equal(loc[inside], raw[inside])
    assert (loc.norm(dim=-1) < radius).all()
    _close(loc[outside] / loc[outside].norm(dim=-1, keepdim=True),
           raw[outside] / raw[outside].norm(dim=-1, keepdim=True), "direction kept")
    with pytest.raises(ConfigError, match="riemannian_scale_bounds"):
        create_model("PoincareVAE", input_dim=INPUT_DIM, latent_dim=LATENT, riemannian_scale_bounds=(2.0, 1.0))


def test_a_pythae_prior_gaekit_does_not_have_is_refused(tmp_path):
    theirs = _poincare("wrapped_normal", "wrapped_normal")
    with torch.no_grad():
        theirs._pz_mu.fill_(0.1)
    with pytest.raises(CheckpointError, match=r"PoincareVAE prior is at .*0\.1.*origin"):
        _loaded(theirs, tmp_path)


@pytest.mark.parametrize("blocks, hidden_layers", [(1, 1), (2, 3), (3, 2), (4, 1)])
def test_vae_iaf_folders_give_pythaes_flow_for_any_number_of_blocks(blocks, hidden_layers, tmp_path):
    torch.manual_seed(blocks)
    config = pm.VAE_IAF_Config(input_dim=INPUT_DIM, latent_dim=LATENT, n_made_blocks=blocks,
                               n_hidden_in_made=hidden_layers, hidden_size=8)
    theirs = _trained(pm.VAE_IAF(config), lr=1e-2)  # weights well away from their initial values
    ours = _loaded(theirs, tmp_path)
    assert ours.model_config.made_orderings == "reverse_before_each"
    assert ours.flow.reverse_output == (blocks % 2 == 1)
    eps = torch.randn(32, LATENT, generator=torch.Generator().manual_seed(7))
    x = _binary(32, 4)
    with torch.no_grad():
        enc = theirs.encoder(x)
        z0 = enc.embedding + eps * torch.exp(0.5 * enc.log_covariance)  # the same draw of q(z_0|x)
        mean, log_var = ours.posterior(x)
        _close(mean + eps * torch.exp(0.5 * log_var), z0, "z_0")
        flowed = theirs.iaf_flow.inverse(z0)
        z_k, log_det = ours.apply_flow(z0)
        _close(z_k, flowed.out, "z_K")
        _close(log_det, flowed.log_abs_det_jac, "log-det")
        _close(ours.decode(z_k), theirs.decoder(flowed.out).reconstruction, "decoder")
        _close(ours.flow.inverse(z_k)[0], z0, "inverse", atol=1e-4)  # still invertible, exactly the inverse


def test_reversed_first_ordering_and_output_reversal_keep_the_flow_a_flow():
    flow = IAF(4, num_made_blocks=3, num_made_hidden_layers=1, hidden_size=8, first_ordering="reverse",
               reverse_output=True)
    assert [layer.made.ordering for layer in flow.layers] == ["reverse", "sequential", "reverse"]
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
        u = torch.randn(16, 4)
        x, log_det = flow(u)
        back, inverse_log_det = flow.inverse(x)
    _close(back, u, "inverse", atol=1e-4)
    _close(inverse_log_det, -log_det, "log-det of the inverse", atol=1e-4)
    jacobian = torch.autograd.functional.jacobian(lambda v: flow(v.unsqueeze(0))[0][0], u[0])
    _close(torch.linalg.slogdet(jacobian).logabsdet, log_det[0], "log-det is the Jacobian's", atol=1e-4)
    with pytest.raises(ConfigError, match="first_ordering='random' is invalid"):
        IAF(4, first_ordering="random")
    with pytest.raises(ConfigError, match="made_orderings"):
        create_model("VAE_IAF", input_dim=INPUT_DIM, latent_dim=LATENT, made_orderings="random")


class _RiemannianEncoder(pythae.models.nn.BaseEncoder):
    """A custom Pythae encoder for the Riemannian posterior: an embedding and a 1-d log_concentration."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.Tanh())
        self.embedding, self.log_concentration = torch.nn.Linear(16, LATENT), torch.nn.Linear(16, 1)

    def forward(self, x):
        h = self.body(x)
        return pythae.models.base.base_utils.ModelOutput(embedding=0.1 * self.embedding(h),
                                                         log_concentration=self.log_concentration(h))


def test_a_custom_riemannian_encoder_with_a_log_concentration_is_read(tmp_path):
    torch.manual_seed(0)
    config = pm.PoincareVAEConfig(input_dim=INPUT_DIM, latent_dim=LATENT, posterior_distribution="riemannian_normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pm.PoincareVAE(config, encoder=_RiemannianEncoder()).eval()
    theirs.save(str(tmp_path / "pythae_model"))
    with pytest.raises(CheckpointError, match=r"custom encoder .*encoder\.pkl"):
        AutoModel.load_from_folder(tmp_path / "pythae_model")
    ours = AutoModel.load_from_folder(tmp_path / "pythae_model", encoder=_RiemannianEncoder()).eval()
    x = _binary(8, 3)
    with torch.no_grad():
        enc = theirs.encoder(x)
        q = ours.posterior_distribution(x)
        _close(q.loc, enc.embedding, "posterior location")
        _close(q.scale, torch.exp(0.5 * enc.log_concentration).clamp(0.1, 7.0).squeeze(-1), "posterior scale")
