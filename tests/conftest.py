"""Shared fixtures. Docker is required: without it these fixtures raise, so the suite fails loudly.

The suite runs on two pytest-xdist workers (pyproject.toml: `-n 2 --dist loadfile`). Each worker
makes its own session fixtures, except the images and the evolved run: those are made once, by
the first worker that needs them, under a lock in the directory the workers share."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _shared_dir(tmp_path_factory) -> Path:
    """The directory every xdist worker of this session sees (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _exclusive(tmp_path_factory, name: str) -> Iterator[Path]:
    """One worker at a time: so that one builds what the other then finds made."""
    shared = _shared_dir(tmp_path_factory)
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield shared


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> Path:
    """The evaluation cache of the runs session fixtures start: never the user's."""
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
def sandbox_image(tmp_path_factory) -> str:
    from sandbox.image import ensure_sandbox_image

    with _exclusive(tmp_path_factory, "images"):
        return ensure_sandbox_image()


@pytest.fixture(scope="session")
def pyfix():
    from benchmarks.suite import load_suite

    return load_suite("pyfix")


@pytest.fixture(scope="session")
def pyfix_image(pyfix, tmp_path_factory) -> str:
    from benchmarks.suite import ensure_environment_image

    with _exclusive(tmp_path_factory, "images"):
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
def evolved_run(small_suite, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One 8-step `dgm run` with the scripted model, shared by the engine, inspection, report and
    export tests: (run directory, the finished command). Made once per session, whichever worker
    asks first; the others wait for it and read the same run."""
    from benchmarks.suite import load_suite
    from dgm.scripted_llm import ScriptedLLMServer
    from tests.runs import dgm, run_config
    from tests.scripted_world import ScriptedWorld

    with _exclusive(tmp_path_factory, "evolved") as shared:
        root, finished = shared / "evolved", shared / "evolved" / "command.json"
        if not finished.exists():
            root.mkdir(exist_ok=True)
            with ScriptedLLMServer(ScriptedWorld(load_suite(str(small_suite)).tasks())) as server:
                config = run_config(root / "dgm.toml", small_suite, server.url)
                result = dgm("run", "--config", str(config), "--run-dir", str(root / "run"))
            finished.write_text(json.dumps({"args": result.args, "returncode": result.returncode,
                                            "stdout": result.stdout, "stderr": result.stderr}))
        return root / "run", subprocess.CompletedProcess(**json.loads(finished.read_text()))
