"""The README's promises: CI runs exactly its test command, and its Python snippet is valid."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _blocks(language: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_ci_runs_exactly_the_readme_test_command():
    install_and_demo, install_and_test = (block.strip() for block in _blocks("bash")[:2])
    assert install_and_demo.endswith("gaekit demo") and "-c constraints.txt" in install_and_demo
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith(("#", "set ", "cd ", "export "))]
    assert ci_lines == [install_and_test]


def test_quickstart_python_compiles_and_uses_existing_names():
    (quickstart,) = [block for block in _blocks("python") if "TrainingPipeline" in block]
    compile(quickstart, "README quickstart", "exec")
    for module, names in re.findall(r"from (gaekit[\w.]*) import ([\w, ]+)", quickstart):
        imported = __import__(module, fromlist=["_"])
        for name in names.split(","):
            assert hasattr(imported, name.strip()), f"{module}.{name.strip()}"


def test_every_registered_model_and_sampler_is_in_the_readme():
    from gaekit.models import MODELS
    from gaekit.samplers import SAMPLERS

    text = (ROOT / "README.md").read_text()
    table_rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines() if line.startswith("| `")}
    assert set(MODELS.names()) <= table_rows
    for sampler in SAMPLERS.names():
        assert f"`{sampler}`" in text


def test_images_the_readme_shows_exist():
    text = (ROOT / "README.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images and all((ROOT / path).is_file() for path in images)


def test_every_flow_is_in_the_readme():
    from gaekit.flows import FLOWS

    text = (ROOT / "README.md").read_text()
    for name in FLOWS.names():
        flow_cls = FLOWS.get(name)
        assert f"`{flow_cls.__name__}`" in text


def test_poincare_vae_snippet_runs():
    (snippet,) = [block for block in _blocks("python") if "PoincareDiskSampler(model)" in block]
    namespace: dict = {}
    exec(compile(snippet, "README Poincare VAE snippet", "exec"), namespace)
    assert namespace["images"].shape == (8, 1, 28, 28) and (namespace["out"].z.norm(dim=-1) < 1).all()


def test_tracking_and_hub_snippets_compile_and_use_existing_names():
    import gaekit.tracking

    blocks = _blocks("python")
    (tracking,) = [block for block in blocks if "WandbCallback(" in block]
    (hub,) = [block for block in blocks if ".from_hub(" in block]
    for name, snippet in (("tracking", tracking), ("hub", hub)):
        compile(snippet, f"README {name} snippet", "exec")
        for module, names in re.findall(r"from (gaekit[\w.]*) import ([\w, ]+)", snippet):
            imported = __import__(module, fromlist=["_"])
            assert all(hasattr(imported, n.strip()) for n in names.split(",")), module
    text = (ROOT / "README.md").read_text()
    for name in gaekit.tracking.__all__:
        if name.endswith(("Callback", "Logger")) and name != "TrackingCallback":
            assert f"| `{name}` |" in text
