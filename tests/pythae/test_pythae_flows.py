"""``gaekit.pythae.models.normalizing_flows`` against the installed Pythae 0.1.2: every public name exists, every
flow config Pythae's ``save_json`` writes loads, Pythae's documented use (an ``NFModel`` with a MAF fitted by
``BaseTrainer`` on 2-D points, then sampled and scored) runs unchanged but for the import root, and each flow is
invertible with the right log-determinant through the Pythae-style calls."""

from __future__ import annotations

import importlib

import pytest
import torch

pythae = pytest.importorskip("pythae", reason="the published peer pythae==0.1.2 is installed by the pythae extra")

import pythae.models.normalizing_flows as pnf  # noqa: E402

import gaekit.pythae.models.normalizing_flows as gnf  # noqa: E402
from gaekit.errors import ConfigError  # noqa: E402

SUBMODULES = ("base", "iaf", "made", "maf", "pixelcnn", "planar_flow", "radial_flow")
# Pythae config class -> non-default field values
NON_DEFAULT = {
    "BaseNFConfig": {"input_dim": (3,)},
    "MAFConfig": {"input_dim": (4,), "n_made_blocks": 3, "n_hidden_in_made": 1, "hidden_size": 16,
                  "include_batch_norm": True},
    "IAFConfig": {"input_dim": (1, 2, 2), "n_made_blocks": 1, "n_hidden_in_made": 2, "hidden_size": 8},
    "MADEConfig": {"input_dim": (3,), "output_dim": (3,), "hidden_sizes": [8, 4]},
    "PlanarFlowConfig": {"input_dim": (2,), "activation": "elu"},
    "RadialFlowConfig": {"input_dim": (5,)},
    "PixelCNNConfig": {"input_dim": (1, 4, 4), "n_embeddings": 16, "n_layers": 3, "kernel_size": 3},
}


def _log_abs_det(fn, x):
    """``log |det J|`` of ``fn`` at each row of ``x``, by autograd."""
    return torch.stack([torch.linalg.slogdet(torch.autograd.functional.jacobian(lambda v: fn(v[None])[0], row))[1]
                        for row in x])


def test_every_public_name_of_pythae_exists():
    assert set(pnf.__all__) <= set(gnf.__all__)
    for name in pnf.__all__:
        assert getattr(gnf, name) is not None
    for sub in SUBMODULES:
        theirs = importlib.import_module(f"pythae.models.normalizing_flows.{sub}")
        ours = importlib.import_module(f"gaekit.pythae.models.normalizing_flows.{sub}")
        assert set(theirs.__all__) == set(ours.__all__), sub
        for name in theirs.__all__:
            assert getattr(ours, name) is getattr(gnf, name)
    from gaekit.pythae.models import normalizing_flows

    assert normalizing_flows is gnf


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
@pytest.mark.parametrize("non_default", [False, True])
def test_pythae_config_json_loads(tmp_path, name, non_default):
    fields = NON_DEFAULT[name] if non_default else {}
    getattr(pnf, name)(**fields).save_json(str(tmp_path), "model_config")
    config = getattr(gnf, name).from_json_file(str(tmp_path / "model_config.json"))
    assert type(config) is getattr(gnf, name)
    theirs = getattr(pnf, name)(**fields)
    for field, value in vars(theirs).items():
        value = tuple(value) if field in ("input_dim", "output_dim") and value is not None else value
        assert getattr(config, field) == value, field


def test_unmapped_fields_are_refused_by_name():
    with pytest.raises(ConfigError, match="degrees_ordering"):
        gnf.MADEConfig(input_dim=(3,), output_dim=(3,), degrees_ordering="random")
    with pytest.raises(ConfigError, match="output_dim"):
        gnf.MADE(gnf.MADEConfig(input_dim=(3,), output_dim=(2,)))
    with pytest.raises(ConfigError, match="input_dim"):
        gnf.MAF(gnf.MAFConfig())
    with pytest.raises(ConfigError, match="input_dim"):
        gnf.PixelCNNConfig(input_dim=(3, 4, 4))
    with pytest.raises(ConfigError, match="include_batch_norm"):
        gnf.IAFConfig(input_dim=(2,), n_made_blocks=1, include_batch_norm=True)
    with pytest.raises(ConfigError, match="flow must be"):
        gnf.NFModel(torch.distributions.Normal(0.0, 1.0), torch.nn.Linear(2, 2))
    with pytest.raises(ConfigError, match="pickle"):
        gnf.MAF(gnf.MAFConfig(input_dim=(2,))).save("unused")


def test_documented_usage_nfmodel_with_maf_through_base_trainer(tmp_path):
    # Pythae's use: fit a flow on (latent) codes with BaseTrainer, then sample through the inverse
    import torch
    from torch.distributions import MultivariateNormal

    from gaekit.pythae.models.normalizing_flows import MAF, MAFConfig, NFModel
    from gaekit.pythae.trainers import BaseTrainer, BaseTrainerConfig

    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
    train_data = centres[torch.randint(0, 2, (256,), generator=gen)] + 0.3 * torch.randn(256, 2, generator=gen)

    prior = MultivariateNormal(torch.zeros(2), torch.eye(2))
    maf = MAF(MAFConfig(input_dim=(2,), n_made_blocks=2, n_hidden_in_made=2, hidden_size=32))
    model = NFModel(prior, maf)
    before = model({"data": train_data}).loss.item()
    training_config = BaseTrainerConfig(output_dir=str(tmp_path), num_epochs=2, learning_rate=1e-2,
                                        per_device_train_batch_size=64, no_cuda=True)
    trainer = BaseTrainer(model=model, train_dataset=train_data, training_config=training_config)
    trainer.train()
    after = model({"data": train_data}).loss.item()
    assert after < before  # the summed negative log-likelihood went down

    model.eval()
    with torch.no_grad():
        u = prior.sample((50,))
        z = maf.inverse(u).out
        flow_output = maf(z)
        log_lik = prior.log_prob(flow_output.out) + flow_output.log_abs_det_jac
    assert z.shape == (50, 2) and torch.isfinite(z).all()
    torch.testing.assert_close(flow_output.out, u, atol=1e-4, rtol=1e-4)
    assert log_lik.shape == (50,) and torch.isfinite(log_lik).all()


@pytest.mark.parametrize("cls", ["MAF", "IAF"])
@pytest.mark.parametrize("blocks,batch_norm", [(1, False), (2, True), (3, False)])
def test_autoregressive_flows_invert_with_the_right_log_det(cls, blocks, batch_norm):
    torch.manual_seed(0)
    flow = getattr(gnf, cls)(getattr(gnf, f"{cls}Config")(input_dim=(3,), n_made_blocks=blocks, n_hidden_in_made=2,
                                                          hidden_size=12, include_batch_norm=batch_norm))
    if batch_norm:
        flow(torch.randn(64, 3))  # batch statistics feed the running averages
        flow.eval()
    x = torch.randn(6, 3, dtype=torch.float64)
    flow.double()
    out = flow(x)
    back = flow.inverse(out.out)
    torch.testing.assert_close(back.out, x)
    torch.testing.assert_close(back.log_abs_det_jac, -out.log_abs_det_jac)
    torch.testing.assert_close(out.log_abs_det_jac, _log_abs_det(lambda v: flow(v).out, x))


@pytest.mark.parametrize("cls", ["MAF", "IAF"])
@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_autoregressive_structure_matches_pythae(cls, blocks):
    """Block by block (the others made the identity), which outputs depend on which inputs is Pythae's: the
    orderings and the reversals between blocks are the same. gaekit's IAF stacks its blocks from the prior side,
    Pythae's from the data side, so IAF block ``k`` is Pythae's block ``blocks - 1 - k``."""
    fields = {"input_dim": (4,), "n_made_blocks": blocks, "n_hidden_in_made": 1, "hidden_size": 32}
    points = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))

    def dependence(step):  # over several points, so that no ReLU unit happens to hide a dependence
        return torch.stack([torch.autograd.functional.jacobian(lambda v: step(v[None]).out[0], x).abs() > 1e-9
                            for x in points]).any(0)

    for active in range(blocks):
        torch.manual_seed(active)
        ours = getattr(gnf, cls)(getattr(gnf, f"{cls}Config")(**fields))
        theirs = getattr(pnf, cls)(getattr(pnf, f"{cls}Config")(**fields))
        for module in (ours, theirs):  # weights off zero so that each allowed dependence shows
            for p in module.parameters():
                torch.nn.init.normal_(p, std=0.3)
        # a MADE whose output layer is zero gives mu = log_var = 0: that block is the identity
        for k in set(range(blocks)) - {active}:
            mine = ours.net.layers[k if cls == "MAF" else blocks - 1 - k]
            for p in (*mine.made.output_layer.parameters(), *theirs.net[k].net[-1].parameters()):
                torch.nn.init.zeros_(p)
        for direction in ("forward", "inverse"):
            assert torch.equal(dependence(getattr(ours, direction)), dependence(getattr(theirs, direction))), \
                (direction, active)
        assert not dependence(ours.forward).all()  # one triangular block: the pattern tells orderings apart


@pytest.mark.parametrize("cls,fields", [("PlanarFlow", {"activation": "tanh"}), ("PlanarFlow", {"activation": "elu"}),
                                        ("PlanarFlow", {"activation": "linear"}), ("RadialFlow", {})])
def test_planar_and_radial_log_det(cls, fields):
    torch.manual_seed(0)
    flow = getattr(gnf, cls)(getattr(gnf, f"{cls}Config")(input_dim=(3,), **fields)).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    out = flow(x)
    assert out.out.shape == (5, 3) and out.log_abs_det_jac.shape == (5,)
    torch.testing.assert_close(out.log_abs_det_jac, _log_abs_det(lambda v: flow(v).out, x))
    with pytest.raises(NotImplementedError):  # as in Pythae: no closed-form inverse
        flow.inverse(out.out)


def test_made_is_autoregressive():
    made = gnf.MADE(gnf.MADEConfig(input_dim=(4,), output_dim=(4,), hidden_sizes=[16, 16]))
    out = made(torch.randn(2, 4))
    assert set(out.keys()) == {"mu", "log_var"} and out.mu.shape == out.log_var.shape == (2, 4)
    jac = torch.autograd.functional.jacobian(lambda v: torch.cat(made(v[None]).to_tuple(), -1)[0], torch.randn(4))
    strictly_lower = torch.tril(torch.ones(4, 4), -1).bool()
    assert not jac[:4][~strictly_lower].any() and not jac[4:][~strictly_lower].any()


def test_pixelcnn_on_index_maps_trains():
    from gaekit.trainers import Trainer, TrainerConfig

    model = gnf.PixelCNN(gnf.PixelCNNConfig(input_dim=(1, 3, 3), n_embeddings=8, n_layers=2, kernel_size=3))
    data = torch.randint(0, 8, (40, 1, 3, 3)).float()
    out = model({"data": data})
    assert model.logits({"data": data}).shape == (40, 8, 1, 3, 3)
    assert abs(out.loss.item() - torch.log(torch.tensor(8.0)).item()) < 0.5  # about uniform at the start
    history = Trainer(model, TrainerConfig(output_dir=None, num_epochs=2, batch_size=20, learning_rate=1e-2,
                                           show_progress=False), train_data=data).train()
    assert len(history) == 2 and all(torch.isfinite(torch.tensor(h["train_loss"])) for h in history)
