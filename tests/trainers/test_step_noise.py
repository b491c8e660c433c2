"""The step's noise travels in its StepContext: shards draw the global batch's noise, generators are honoured."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.models import StepContext, _losses, step

SHARDS = [(0, 6, 11), (6, 11, 11)]  # two processes, uneven shards of a global batch of 11


@pytest.mark.parametrize("kind", ["randn_like", "rand"])
def test_shards_draw_the_rows_of_the_global_batch_and_keep_the_rngs_in_step(kind):
    def draw(ctx, shape):
        if kind == "randn_like":
            return step.randn_like(torch.empty(shape), ctx)
        return step.rand(shape, ctx, device=torch.device("cpu"))

    torch.manual_seed(7)
    whole = draw(None, (11, 3))
    after_whole = torch.rand(2)
    parts = []
    for start, stop, total in SHARDS:
        torch.manual_seed(7)
        parts.append(draw(StepContext(shard=(start, stop, total)), (stop - start, 3)))
        assert torch.equal(torch.rand(2), after_whole)  # every process's RNG advances as one process's
    assert torch.equal(torch.cat(parts), whole)


def test_other_shapes_and_integer_draws_are_not_sharded():
    torch.manual_seed(7)
    plain = step.randn_like(torch.empty(4, 6, 3))
    torch.manual_seed(7)
    assert torch.equal(step.randn_like(torch.empty(4, 6, 3), StepContext(shard=(0, 6, 11))), plain)
    torch.manual_seed(7)
    plain = torch.randint(9, (6,))
    torch.manual_seed(7)
    assert torch.equal(step.randint(9, (6,), StepContext(shard=(0, 6, 11)), device=torch.device("cpu")), plain)


def test_a_context_generator_is_used_instead_of_the_global_rng():
    mean, log_var = torch.zeros(5, 2), torch.zeros(5, 2)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    a = _losses.reparameterize(mean, log_var, StepContext(generator=torch.Generator().manual_seed(3)))
    b = _losses.reparameterize(mean, log_var, StepContext(generator=torch.Generator().manual_seed(3)))
    assert torch.equal(a, b) and torch.equal(torch.get_rng_state(), before)  # the global RNG is untouched
    assert torch.equal(a, torch.randn(5, 2, generator=torch.Generator().manual_seed(3)))


def test_gumbel_softmax_hard_is_torchs_with_the_same_noise():
    logits = torch.randn(7, 5, requires_grad=True)
    torch.manual_seed(1)
    ours = _losses.gumbel_softmax_hard(logits, 0.7)
    torch.manual_seed(1)
    theirs = torch.nn.functional.gumbel_softmax(logits, tau=0.7, hard=True)
    assert torch.equal(ours, theirs)
    grad_ours, = torch.autograd.grad(ours[:, 0].sum(), logits)
    grad_theirs, = torch.autograd.grad(theirs[:, 0].sum(), logits)
    assert torch.equal(grad_ours, grad_theirs)


@pytest.mark.parametrize("name", ["VAE", "HVAE", "WAE_MMD"])
def test_a_model_on_shards_draws_the_noise_of_the_whole_batch(name):
    """Each shard's codes are the whole batch's rows (HVAE's momentum included), and every shard leaves the
    RNG where the whole batch does (WAE's prior draws included)."""
    model = tiny_model(name)
    x = torch.rand(11, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(7)
    whole, rng_after = model(x, StepContext()).z, torch.get_rng_state()
    parts = []
    for start, stop, total in SHARDS:
        torch.manual_seed(7)
        parts.append(model(x[start:stop], StepContext(shard=(start, stop, total))).z)
        assert torch.equal(torch.get_rng_state(), rng_after)
    torch.testing.assert_close(torch.cat(parts), whole, rtol=1e-5, atol=1e-6)
