"""Property: every config class answers any value of any field with a ConfigError, or with a config that
validates and round-trips through JSON exactly -- never with another exception.

The config classes are found by walking ``BaseConfig.__subclasses__()`` (models, samplers, trainer,
evaluation, bench specs, ...). For each field, hypothesis draws values of the wrong kind (None, strings,
lists, dicts, bools, floats with NaN/inf, negative, zero and huge ints, unknown Literal members) and
values of the field's own type. The default profile runs ``DEFAULT_EXAMPLES`` examples per class; the
``slow`` test runs ``SLOW_EXAMPLES``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gaekit.bench.spec
import gaekit.metrics.classifier
import gaekit.metrics.evaluation
import gaekit.samplers._fitting
import gaekit.trainers.config
from gaekit.config import BaseConfig
from gaekit.errors import ConfigError
from gaekit.models import MODELS
from gaekit.samplers import SAMPLERS

DEFAULT_EXAMPLES = 40
SLOW_EXAMPLES = 600


def _walk(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_walk(sub)]
    return out


# the library's config classes (test modules may define their own subclasses: left out)
CONFIG_CLASSES = sorted({c for c in _walk(BaseConfig) if c.__module__.startswith("gaekit.")},
                        key=lambda c: f"{c.__module__}.{c.__qualname__}")

# required fields of the classes that have some: a valid base to change one field of
BASE_KWARGS: dict[str, dict[str, Any]] = {
    "ModelSpec": {"label": "m", "model": "AE"},
    "StudySpec": {"datasets": ["digits"], "networks": ["mlp"],
                  "models": [gaekit.bench.spec.ModelSpec(label="m", model="AE")], "latent_dims": {"digits": [2]}},
}

# dict keys: real field and torch parameter names (so that nested settings get past the name checks), or text
_KEYS = st.one_of(
    st.sampled_from(sorted({f.name for c in CONFIG_CLASSES for f in dataclasses.fields(c)} | {
        "eps", "betas", "momentum", "weight_decay", "factor", "patience", "step_size", "gamma", "mode", "mnist",
        "digits", "model", "decoder", "encoder"})),
    st.text(max_size=4),
)
_JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.floats(allow_nan=True), st.text(max_size=4))
_JSONISH = st.recursive(_JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(_KEYS, inner, max_size=3)),
                        max_leaves=6)

# values of the wrong kind for most fields
_WRONG = st.one_of(
    st.none(), st.text(max_size=6), st.lists(st.integers(-2, 5), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**63, 2**64, 10**400, float("nan"), float("inf"), -float("inf"), "not-a-member"]),
)


def _of_type(tp: Any) -> st.SearchStrategy:
    """Values drawn from a field's annotated type (including out-of-range numbers)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return _JSONISH
    if origin is Literal:
        return st.one_of(st.sampled_from(args), st.just("not-a-member"))
    if origin in (Union, types.UnionType):
        return st.one_of(*(_of_type(a) for a in args))
    if tp is type(None):
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.one_of(st.integers(-3, 300), st.integers(-(2**70), 2**70))
    if tp is float:
        return st.floats(allow_nan=True, allow_infinity=True)
    if tp is str:
        return st.text(max_size=6)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_of_type(args[0]), max_size=4).map(tuple)
        return st.tuples(*(_of_type(a) for a in args))
    if origin is list:
        return st.lists(_of_type(args[0]) if args else _JSONISH, max_size=3)
    if origin is dict or tp is dict:
        key, value = args if args else (str, Any)
        return st.dictionaries(_KEYS if key is str else _of_type(key), _of_type(value), max_size=2)
    if isinstance(tp, type) and issubclass(tp, BaseConfig):
        return st.builds(tp, **{k: st.just(v) for k, v in BASE_KWARGS.get(tp.__name__, {}).items()})
    return st.none()


def _cases(cls: type) -> st.SearchStrategy:
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls) if f.init]
    if not fields:  # a base class without fields: its default instance must round-trip
        return st.just((None, None))
    return st.sampled_from(fields).flatmap(
        lambda name: st.tuples(st.just(name), st.one_of(_WRONG, _of_type(hints[name]))))


RUN = {"examples": 0}


def _check_one(cls: type, name: str, value: Any) -> None:
    RUN["examples"] += 1
    kwargs = {**BASE_KWARGS.get(cls.__name__, {}), **({} if name is None else {name: value})}
    try:
        config = cls(**kwargs)
    except ConfigError as err:
        assert str(err), "a ConfigError must say what is wrong"
        return
    text = config.to_json_string()  # strict JSON: no NaN/inf
    data = json.loads(text)
    back = cls.from_dict(data)
    assert back.to_dict() == data
    assert cls.from_dict(json.loads(back.to_json_string())) == back


def _property(cls: type, examples: int):
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=_cases(cls))
    def run(case: tuple[str, Any]) -> None:
        _check_one(cls, *case)

    return run


def test_the_walk_finds_every_registered_config_class():
    registered = {MODELS.get(n).config_class for n in MODELS.names()} | {
        SAMPLERS.get(n).config_class for n in SAMPLERS.names()}
    registered |= {gaekit.trainers.config.TrainerConfig, gaekit.metrics.evaluation.EvaluationConfig}
    assert registered <= set(CONFIG_CLASSES)
    assert len(CONFIG_CLASSES) >= len(registered)
    for spec in ("ModelSpec", "TrainingSpec", "DataSpec", "StudySpec"):
        assert getattr(gaekit.bench.spec, spec) in CONFIG_CLASSES


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_any_field_value_is_a_config_error_or_round_trips(cls):
    before = RUN["examples"]
    _property(cls, DEFAULT_EXAMPLES)()
    assert RUN["examples"] > before


@pytest.mark.slow
@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_any_field_value_is_a_config_error_or_round_trips_slow(cls):
    _property(cls, SLOW_EXAMPLES)()


# -- names: one spelling per concept, the old spellings as aliases (docs/names.md) ----------------------------
ALIASED = [c for c in CONFIG_CLASSES if c.all_aliases()]


def test_no_field_uses_a_retired_spelling():
    """Counts are ``num_*``: no field is spelled ``n_*``, ``number_*``, ``*_nbr`` or ``steps_saving`` any more."""
    import re

    bad = [f"{c.__name__}.{f.name}" for c in CONFIG_CLASSES for f in dataclasses.fields(c)
           if re.search(r"^(n|number)_|_nbr$|^steps_saving$", f.name)]
    assert not bad


@pytest.mark.parametrize("cls", ALIASED, ids=lambda c: c.__name__)
def test_an_old_spelling_is_the_same_field_everywhere(cls, tmp_path):
    base = BASE_KWARGS.get(cls.__name__, {})
    default = cls(**base)
    fields = {f.name for f in dataclasses.fields(cls)}
    for old, new in cls.all_aliases().items():
        assert new in fields and old not in fields, (old, new)
        value = getattr(default, new)
        by_old, by_new = cls(**base, **{old: value}), cls(**base, **{new: value})
        assert by_old == by_new and getattr(by_old, old) == value
        data = by_new.to_dict()
        assert new in data and old not in data
        old_data = {(old if k == new else k): v for k, v in data.items()}
        assert cls.from_dict(old_data) == by_new
        (tmp_path / "c.json").write_text(json.dumps(old_data))
        assert cls.from_json(tmp_path / "c.json") == by_new
        assert default.replace(**{old: value}) == by_new
        with pytest.raises(ConfigError, match=f"'{old}' is the old name of '{new}'"):
            cls(**base, **{old: value, new: value})
        with pytest.raises(ConfigError, match=f"'{old}' is the old name of '{new}'"):
            cls.from_dict({**data, old: value})
