"""Shared fixtures. Docker is required: without it these fixtures raise, so the suite fails loudly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> Path:
    """The evaluation cache of the runs session fixtures start: never the user's."""
    import os

    path = tmp_path_factory.mktemp("dgm-cache")
    os.environ["DGM_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(autouse=True)
def evaluation_cache(tmp_path_factory, monkeypatch) -> Path:
    """Each test's runs get a cache of their own: a seed evaluated by an earlier test is not
    silently reused by a test that counts the seed's model calls or containers."""
    path = tmp_path_factory.mktemp("dgm-cache")
    monkeypatch.setenv("DGM_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    from sandbox.image import ensure_sandbox_image

    return ensure_sandbox_image()


@pytest.fixture(scope="session")
def pyfix():
    from benchmarks.suite import load_suite

    return load_suite("pyfix")


@pytest.fixture(scope="session")
def pyfix_image(pyfix) -> str:
    from benchmarks.suite import ensure_environment_image

    return ensure_environment_image(pyfix)


@pytest.fixture(scope="session")
def inflection_task(pyfix):
    """A small, fast bundled task with a one-token fix."""
    return next(t for t in pyfix.tasks() if t.repo == "inflection" and t.difficulty == "one-token")


@pytest.fixture(scope="session")
def small_suite(pyfix, pyfix_image, tmp_path_factory) -> Path:
    """The bundled suite's projects (so its environment image is reused) with 4 quick training
    tasks and 1 held-out task."""
    root = tmp_path_factory.mktemp("suite")
    shutil.copy(pyfix.root / "suite.toml", root / "suite.toml")
    tasks = [json.loads(line) for line in pyfix.tasks_file.read_text().splitlines() if line.strip()]
    quick = [t for t in tasks if t["repo"] in ("inflection", "toolz", "parse")]
    train = [t for t in quick if t.get("split") != "heldout"][:4]
    heldout = [t for t in quick if t.get("split") == "heldout"][:1]
    assert len(train) == 4 and len(heldout) == 1
    (root / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in train + heldout))
    return root


@pytest.fixture
def model_url(small_suite):
    """A fresh scripted world (tests/scripted_world.py) for each run, served on loopback."""
    from benchmarks.suite import load_suite
    from dgm.scripted_llm import ScriptedLLMServer
    from tests.scripted_world import ScriptedWorld

    with ScriptedLLMServer(ScriptedWorld(load_suite(str(small_suite)).tasks())) as server:
        yield server.url


@pytest.fixture(scope="session")
def evolved_run(small_suite, tmp_path_factory):
    """One 8-step `dgm run` with the scripted model, shared by the engine, inspection, report and
    export tests: (run directory, the finished command)."""
    from benchmarks.suite import load_suite
    from dgm.scripted_llm import ScriptedLLMServer
    from tests.runs import dgm, run_config
    from tests.scripted_world import ScriptedWorld

    root = tmp_path_factory.mktemp("evolved")
    with ScriptedLLMServer(ScriptedWorld(load_suite(str(small_suite)).tasks())) as server:
        config = run_config(root / "dgm.toml", small_suite, server.url)
        result = dgm("run", "--config", str(config), "--run-dir", str(root / "run"))
    return root / "run", result
