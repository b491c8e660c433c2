"""The bad-input suite: every case ends in its GaekitError and leaves every existing file byte-identical."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bad_inputs.harness import Case, all_cases, build_fixtures, check_case, write
from bad_inputs.render import render

from gaekit.errors import ConfigError

CASES = all_cases()
DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-inputs.md"


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return build_fixtures(tmp_path_factory.mktemp("bad_input_fixtures"))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, fx, tmp_path, capsys, monkeypatch):
    work = tmp_path / "case"
    work.mkdir()
    check_case(case, work, fx, capsys, monkeypatch)


def test_suite_covers_every_area_with_enough_cases():
    assert len(CASES) >= 170
    assert {c.area for c in CASES} == {"data", "config", "model-folder", "sampler-folder", "checkpoint",
                                       "output-folder", "sampler", "evaluation", "cli"}
    assert 3 <= sum(c.kind == "subprocess" for c in CASES) <= 5


def test_doc_lists_exactly_the_cases():
    text = DOC.read_text()
    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.M)
    assert sorted(listed) == sorted(c.id for c in CASES), "regenerate: cd tests && python -m bad_inputs.render"
    assert text == render(), "stale: cd tests && python -m bad_inputs.render > ../docs/bad-inputs.md"


def _raise_after(path, error):
    def run():
        path.write_text("changed")
        if error is not None:
            raise error

    return run


@pytest.mark.parametrize("error, expected_report", [
    (ConfigError("field x is bad"), "file changed: "),  # the right error, but a file was modified
    (None, "got no error"),
    (KeyError("x"), "got KeyError"),
    (ConfigError("no mention here"), "does not mention"),
])
def test_harness_reports_each_kind_of_failure(error, expected_report, fx, tmp_path, capsys, monkeypatch):
    """The harness itself: a modified file, no error, a foreign error and a vague message all fail a case."""
    mention = "field x" if expected_report != "does not mention" else "latent_dim"
    case = Case("self-test", "config", "harness self-test", ConfigError,
                lambda tmp, fx: _raise_after(write(tmp / "kept.txt", "original"), error), (mention,))
    work = tmp_path / "case"
    work.mkdir()
    with pytest.raises(AssertionError, match=expected_report):
        check_case(case, work, fx, capsys, monkeypatch)
