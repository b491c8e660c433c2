"""Normalizing flows: log-determinants against the autograd Jacobian, inverses, MADE's
autoregressive masks, parameter constraints, and a MAF fitted on two moons."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from gaekit.errors import ConfigError, DataError
from gaekit.flows import (
    FLOWS,
    IAF,
    MADE,
    MAF,
    AffineAutoregressive,
    BatchNormFlow,
    PlanarFlow,
    RadialFlow,
    SequentialFlow,
)

DIM = 4


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _jacobian_log_dets(flow, z, method="forward"):
    """``log |det J|`` of ``flow.<method>`` at each row of ``z``, from the autograd Jacobian."""
    fn = getattr(flow, method)
    return torch.stack([torch.linalg.slogdet(jacobian(lambda v: fn(v.unsqueeze(0))[0][0], row))[1] for row in z])


def _warm_batch_norm(flow, seed=1):
    """Give every BatchNormFlow non-trivial running statistics and parameters, then eval mode."""
    flow.train()
    with torch.no_grad():
        for k in range(3):
            flow(2 * _randn(64, flow.dim, seed=seed + k) + 1)
        for layer in flow.modules():
            if isinstance(layer, BatchNormFlow):
                layer.log_gamma.copy_(0.3 * _randn(flow.dim, seed=seed + 10))
                layer.beta.copy_(0.3 * _randn(flow.dim, seed=seed + 11))
    return flow.eval()


def _autoregressive(cls, batch_norm):
    return lambda: cls(DIM, num_made_blocks=3, num_made_hidden_layers=2, hidden_size=8, include_batch_norm=batch_norm)


FLOW_CASES = {  # name -> (builder, has batch norm)
    "planar-tanh": (lambda: PlanarFlow(DIM, "tanh"), False),
    "planar-elu": (lambda: PlanarFlow(DIM, "elu"), False),
    "planar-linear": (lambda: PlanarFlow(DIM, "linear"), False),
    "radial": (lambda: RadialFlow(DIM), False),
    "affine-block": (lambda: AffineAutoregressive(DIM, (8, 8), "reverse"), False),
    "MAF": (_autoregressive(MAF, False), False),
    "MAF-bn": (_autoregressive(MAF, True), True),
    "IAF": (_autoregressive(IAF, False), False),
    "IAF-bn": (_autoregressive(IAF, True), True),
    "batch-norm": (lambda: BatchNormFlow(DIM), True),
}
INVERTIBLE = [k for k in FLOW_CASES if not k.startswith(("planar", "radial"))]


def _build(case):
    builder, batch_norm = FLOW_CASES[case]
    torch.manual_seed(0)
    flow = builder().double()
    return _warm_batch_norm(flow) if batch_norm else flow


@pytest.mark.parametrize("case", list(FLOW_CASES))
def test_log_det_matches_the_autograd_jacobian(case):
    flow = _build(case)
    z = _randn(5, DIM, seed=3)
    z_out, log_det = flow(z)
    assert z_out.shape == z.shape and log_det.shape == (5,)
    torch.testing.assert_close(log_det, _jacobian_log_dets(flow, z))


@pytest.mark.parametrize("case", INVERTIBLE)
def test_inverse_undoes_forward_and_its_log_det_matches_the_jacobian(case):
    flow = _build(case)
    z = _randn(5, DIM, seed=4)
    y, log_det = flow(z)
    z_back, log_det_inv = flow.inverse(y)
    torch.testing.assert_close(z_back, z)
    torch.testing.assert_close(log_det_inv, -log_det)
    torch.testing.assert_close(log_det_inv, _jacobian_log_dets(flow, y, "inverse"))


def test_registry_names():
    assert {"Planar", "Radial", "MADE", "MAF", "IAF"} <= set(FLOWS.names())
    assert FLOWS.get("MAF") is MAF and FLOWS.get("Planar") is PlanarFlow


# -- MADE ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ordering", ["sequential", "reverse"])
@pytest.mark.parametrize("hidden_sizes", [(), (3,), (7, 2), (16, 16, 16)])
def test_made_outputs_depend_only_on_inputs_of_lower_degree(ordering, hidden_sizes):
    dim = 5
    torch.manual_seed(0)
    made = MADE(dim, 3, hidden_sizes, ordering).double()
    degrees = made.degrees
    expected = list(range(1, dim + 1)) if ordering == "sequential" else list(range(dim, 0, -1))
    assert degrees.tolist() == expected
    allowed = degrees[None, :] < degrees[:, None]  # [out d, in d']: deg(d') < deg(d)
    for seed in range(3):
        x = _randn(dim, seed=seed)
        jac = jacobian(lambda v: made(v.unsqueeze(0))[0], x)  # (3, dim, dim)
        assert jac.shape == (3, dim, dim)
        assert (jac[:, ~allowed] == 0).all()
    # paths through the masks: only lower-degree ones, and all of them when every hidden layer
    # has at least dim - 1 units (every degree 1..dim-1 present)
    connectivity = torch.eye(dim, dtype=torch.float64)
    for layer in made.layers:
        connectivity = layer.mask.double() @ connectivity
    reach = connectivity.view(3, dim, dim) > 0
    assert not (reach & ~allowed).any()
    if all(size >= dim - 1 for size in hidden_sizes):
        assert (reach == allowed.expand(3, dim, dim)).all()


def test_made_context_reaches_every_output_but_keeps_the_masks():
    dim, ctx_dim = 4, 3
    torch.manual_seed(0)
    made = MADE(dim, 2, (12, 12), "reverse", context_dim=ctx_dim).double()
    x, h = _randn(dim, seed=1), _randn(ctx_dim, seed=2)
    jac_x = jacobian(lambda v: made(v.unsqueeze(0), h.unsqueeze(0))[0], x)
    jac_h = jacobian(lambda c: made(x.unsqueeze(0), c.unsqueeze(0))[0], h)
    allowed = made.degrees[None, :] < made.degrees[:, None]
    assert (jac_x[:, ~allowed] == 0).all()
    assert (jac_h.abs().sum(-1) > 0).all()
    with pytest.raises(DataError, match="context"):
        made(x.unsqueeze(0))


# -- constraints and special cases -----------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "elu", "linear"])
def test_planar_constraint_keeps_the_map_invertible(activation):
    flow = PlanarFlow(3, activation).double()
    with torch.no_grad():
        flow.w.copy_(torch.tensor([1.0, -2.0, 0.5]))
        flow.u.copy_(-5 * flow.w)  # w^T u = -26.25: not invertible without the constraint
    assert flow.w @ flow.u_hat() > -1
    a = torch.linspace(-6, 6, 201, dtype=torch.float64)
    z = a[:, None] * flow.w / (flow.w @ flow.w)  # points along w: w^T z = a
    along_w = flow(z)[0] @ flow.w
    assert (along_w.diff() > 0).all()  # strictly increasing along w, hence injective
    assert torch.isfinite(flow(z)[1]).all()


def test_planar_with_zero_u_and_w_is_the_identity():
    flow = PlanarFlow(3)
    with torch.no_grad():
        flow.u.zero_()
        flow.w.zero_()
    z = torch.randn(6, 3)
    out, log_det = flow(z)
    assert torch.equal(out, z) and torch.equal(log_det, torch.zeros(6))


def test_radial_beta_stays_above_minus_alpha():
    flow = RadialFlow(3)
    with torch.no_grad():
        flow.beta_raw.fill_(-30.0)
    alpha, beta = flow.alpha_beta()
    assert alpha > 0 and beta >= -alpha
    assert torch.isfinite(flow(torch.randn(10, 3))[1]).all()


@pytest.mark.parametrize("cls", [MAF, IAF])
def test_autoregressive_flows_with_zero_output_layers_are_the_identity(cls):
    flow = cls(3, hidden_size=8)
    with torch.no_grad():
        for block in flow.layers:
            block.made.output_layer.weight.zero_()
            block.made.output_layer.bias.zero_()
    z = torch.randn(5, 3)
    for direction in (flow.forward, flow.inverse):
        out, log_det = direction(z)
        assert torch.equal(out, z) and torch.equal(log_det, torch.zeros(5))
    torch.testing.assert_close(flow.log_prob(z), torch.distributions.Normal(0, 1).log_prob(z).sum(-1))


def test_orderings_alternate_and_batch_norm_sits_between_blocks():
    flow = MAF(3, num_made_blocks=3, hidden_size=8, include_batch_norm=True)
    kinds = [type(layer).__name__ for layer in flow.layers]
    assert kinds == ["AffineAutoregressive", "BatchNormFlow"] * 2 + ["AffineAutoregressive"]
    assert [b.made.ordering for b in flow.layers[::2]] == ["sequential", "reverse", "sequential"]
    with pytest.raises(ValueError, match="num_made_blocks >= 2"):
        IAF(3, num_made_blocks=1, include_batch_norm=True)


def test_batch_norm_uses_batch_statistics_in_training_and_running_ones_in_eval():
    bn = BatchNormFlow(2, momentum=0.5)
    x = torch.randn(500, 2) * torch.tensor([3.0, 0.5]) + torch.tensor([1.0, -2.0])
    y, log_det = bn(x)
    torch.testing.assert_close(y.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(0, unbiased=False), torch.ones(2), atol=1e-3, rtol=0)
    torch.testing.assert_close(log_det[0], -0.5 * torch.log(x.var(0, unbiased=False) + bn.eps).sum())
    torch.testing.assert_close(bn.running_mean, 0.5 * x.mean(0))
    bn.eval()
    z = torch.randn(3, 2)
    torch.testing.assert_close(bn(z)[0], (z - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps))
    with pytest.raises(DataError, match="at least 2 samples"):
        bn.train()(torch.randn(1, 2))


def test_bad_arguments_name_value_and_what_is_allowed():
    # ConfigError for arguments, DataError for inputs: both gaekit errors and ValueErrors, as before
    with pytest.raises(ConfigError, match=r"activation='relu' is invalid: expected one of \('tanh', 'elu', 'linear'\)"):
        PlanarFlow(3, "relu")
    with pytest.raises(ConfigError, match="ordering='random'"):
        MADE(3, ordering="random")
    with pytest.raises(ConfigError, match="RadialFlow: dim=0 is invalid: expected a positive int"):
        RadialFlow(0)
    with pytest.raises(ConfigError, match="PlanarFlow: dim=2.0 is invalid"):
        PlanarFlow(2.0)
    with pytest.raises(ConfigError, match="MAF: hidden_size=0 is invalid: expected a positive int"):
        MAF(3, hidden_size=0)
    with pytest.raises(ConfigError, match=r"MADE: hidden_sizes\[i\]=0 is invalid"):
        MADE(3, hidden_sizes=(8, 0))
    with pytest.raises(ConfigError, match="MADE: context_dim=-1 is invalid: expected an int >= 0"):
        MADE(3, context_dim=-1)
    with pytest.raises(ConfigError, match="include_batch_norm=True needs num_made_blocks >= 2"):
        MAF(3, num_made_blocks=1, include_batch_norm=True)
    for count in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match=f"num_samples={count!r} is invalid"):
            IAF(3).sample(count)
    with pytest.raises(DataError, match=r"shape \(B, 3\)"):
        PlanarFlow(3)(torch.randn(4, 2))
    with pytest.raises(DataError, match=r"RadialFlow expects inputs of shape \(B, 3\); got \(4,\)"):
        RadialFlow(3)(torch.randn(4))
    with pytest.raises(NotImplementedError, match="no closed-form inverse"):
        RadialFlow(3).inverse(torch.randn(2, 3))


# -- densities and sampling ----------------------------------------------------------------
@pytest.mark.parametrize("cls", [MAF, IAF])
def test_log_prob_is_the_change_of_variables_and_sampling_is_seeded(cls):
    torch.manual_seed(0)
    flow = cls(3, hidden_size=16).double()
    u = _randn(7, 3, seed=5)
    x, log_det = flow.inverse(u) if cls is MAF else flow(u)  # base -> data
    base = torch.distributions.Normal(0.0, 1.0).log_prob(u).sum(-1)
    torch.testing.assert_close(flow.log_prob(x), base - log_det)
    draws = flow.sample(6, generator=torch.Generator().manual_seed(3))
    assert draws.shape == (6, 3) and draws.dtype == torch.float64
    torch.testing.assert_close(draws, flow.sample(6, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError, match="num_samples=0"):
        flow.sample(0)


def test_context_conditions_the_density():
    torch.manual_seed(0)
    flow = MAF(2, hidden_size=8, context_dim=3).double()
    x, h1, h2 = _randn(4, 2, seed=1), _randn(4, 3, seed=2), _randn(4, 3, seed=3)
    assert not torch.allclose(flow.log_prob(x, h1), flow.log_prob(x, h2))
    u, _ = flow(x, h1)
    torch.testing.assert_close(flow.inverse(u, h1)[0], x)
    assert flow.sample(4, context=h1).shape == (4, 2)


def test_sequential_flow_composes_and_sums_log_dets():
    torch.manual_seed(0)
    layers = [AffineAutoregressive(3, (6,), "sequential"), AffineAutoregressive(3, (6,), "reverse")]
    chain = SequentialFlow(3, layers).double()
    z = _randn(4, 3)
    y1, ld1 = layers[0](z)
    y2, ld2 = layers[1](y1)
    y, ld = chain(z)
    torch.testing.assert_close(y, y2)
    torch.testing.assert_close(ld, ld1 + ld2)
    torch.testing.assert_close(chain.inverse(y)[0], z)


def _two_moons(n, seed):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x, y], 1) + 0.08 * rng.standard_normal((n, 2))
    return torch.as_tensor(points, dtype=torch.float32)


def test_maf_fitted_on_two_moons_beats_a_gaussian_on_held_out_data():
    train, test = _two_moons(2000, 0), _two_moons(1000, 1)
    mean, cov = train.mean(0), torch.cov(train.T)
    gaussian_ll = torch.distributions.MultivariateNormal(mean, cov).log_prob(test).mean().item()
    torch.manual_seed(0)
    flow = MAF(2, num_made_blocks=4, num_made_hidden_layers=2, hidden_size=32)
    optimizer = torch.optim.Adam(flow.parameters(), lr=3e-3)
    standardised = (train - mean) / train.std(0)
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        batch = standardised[torch.randint(len(train), (256,), generator=g)]
        loss = -flow.log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():  # density of the raw data: the standardisation's Jacobian is 1/prod(std)
        maf_ll = (flow.log_prob((test - mean) / train.std(0)) - train.std(0).log().sum()).mean().item()
    assert math.isfinite(maf_ll)
    assert maf_ll > gaussian_ll + 0.3, (maf_ll, gaussian_ll)  # seen: -1.04 against -1.91


@pytest.mark.parametrize("flow_cls", [MAF, IAF])
def test_batch_norm_learns_running_statistics_in_the_density_direction(flow_cls):
    torch.manual_seed(0)
    flow = flow_cls(3, num_made_blocks=2, num_made_hidden_layers=1, hidden_size=8, include_batch_norm=True)
    data = torch.randn(256, 3) * 3 + 5
    before = [b.clone() for name, b in flow.named_buffers() if "running_mean" in name]
    flow.train()
    flow.log_prob(data).mean().backward()
    after = [b for name, b in flow.named_buffers() if "running_mean" in name]
    assert before and not any(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("flow_cls", [MAF, IAF])
def test_pythae_keyword_spellings_are_aliases(flow_cls):
    """``n_made_blocks`` / ``n_hidden_in_made`` (Pythae's) build the same flow; both spellings at once are refused."""
    torch.manual_seed(0)
    old = flow_cls(3, n_made_blocks=3, n_hidden_in_made=1, hidden_size=8)
    torch.manual_seed(0)
    new = flow_cls(3, num_made_blocks=3, num_made_hidden_layers=1, hidden_size=8)
    assert (old.num_made_blocks, old.num_made_hidden_layers) == (3, 1)
    assert all(torch.equal(a, b) for a, b in zip(old.state_dict().values(), new.state_dict().values()))
    with pytest.raises(ConfigError, match="'n_made_blocks' is the old name of 'num_made_blocks'"):
        flow_cls(3, n_made_blocks=3, num_made_blocks=3)
