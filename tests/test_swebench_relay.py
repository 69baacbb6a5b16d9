"""The exec relay: tools/bash.py sends a command over the relay's unix socket, the host runs it
with `docker exec` in the task's container (a foreign image: Debian bullseye, Python 3.9, a
conda-like env) after the task's environment prologue; limits, output caps and bad requests."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from benchmarks.agent_run import run_agent_on_task
from benchmarks.swebench_repo import env_prologue
from benchmarks.task_suite import load_task_suite
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from sandbox.container import UID, Limits
from sandbox.exec_relay import SOCKET_NAME
from sandbox.llm_bridge import bridge
from sandbox.task_container import task_container
from tests.foreign_base import ensure_foreign_base
from tools.bash import RELAY_ENV, run_argv, run_bash

FOREIGN = Path(__file__).resolve().parent / "fixtures" / "swebench" / "foreign"
GENOME = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def foreign():
    ensure_foreign_base()
    suite = load_task_suite(f"swebench:{FOREIGN}")
    task = suite.tasks()[0]
    return suite, task, suite.image_for(task)


@pytest.fixture
def relay(foreign, monkeypatch):
    """A task container of the foreign image and, for this process, its relay socket."""
    suite, task, image = foreign
    with task_container(image, "/testbed", prologue=env_prologue(task.extra["eval_script"]),
                        limits=Limits(timeout=120), run_id="test-relay") as side:
        monkeypatch.setenv(RELAY_ENV, str(side.mounts[0].source / SOCKET_NAME))
        yield side


def test_a_command_runs_in_the_task_environment_in_its_working_directory(relay):
    result = run_bash("python -c 'import sys; print(sys.version_info[:2])'; echo $CONDA_DEFAULT_ENV $FOO; pwd; id -u",
                      Path("/testbed/src"), env={"FOO": "bar"})
    assert result.exit_code == 0, result.output
    assert result.output.split("\n")[:4] == ["(3, 9)", "testbed bar", "/testbed/src", str(UID)]
    assert run_argv(["sh", "-c", "exit 7"], Path("/testbed")).exit_code == 7


def test_a_time_limit_kills_the_command_and_its_children_in_the_task_container(relay):
    started = time.monotonic()
    result = run_bash("(sleep 3; touch /tmp/child-survived) & sleep 30", Path("/testbed"), timeout=1)
    assert result.timed_out and result.exit_code is None and "killed after 1 s" in result.output
    assert time.monotonic() - started < 10
    time.sleep(4)
    assert run_bash("ls /tmp/child-survived", Path("/")).exit_code != 0


def test_long_output_keeps_head_and_tail_through_the_relay(relay):
    result = run_bash("seq 1 200000", Path("/"), max_output=1000)
    assert result.truncated and result.output.startswith("1\n2\n") and result.output.rstrip().endswith("200000")
    assert len(result.output) < 1200


def test_a_malformed_request_is_answered_with_an_error_not_run(relay):
    for request in (b"not json\n", json.dumps({"command": 5, "cwd": "/"}).encode() + b"\n",
                    json.dumps({"command": "id", "cwd": "/", "env": {"A B": "x"}}).encode() + b"\n"):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(relay.mounts[0].source / SOCKET_NAME))
            sock.sendall(request)
            answer = json.loads(sock.makefile("rb").readline())
        assert "error" in answer and "exit_code" not in answer


def test_an_agent_stopped_by_its_wall_clock_is_reported_as_timeout(foreign, tmp_path, monkeypatch):
    suite, task, image = foreign
    monkeypatch.setenv("DGM_RELAY_UPSTREAM_KEY", "sk-host-only")
    socket_path = tmp_path / "gw" / "llm.sock"
    # the model asks for a command that outlives the container's wall clock (and the agent's own
    # deadline, which it is not told here)
    sleeper = ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": "sleep 600"}}])
    with ScriptedLLMServer(lambda body: sleeper) as upstream, Gateway(
        UpstreamConfig(model="openai/m", api_base=upstream.url, api_key_env="DGM_RELAY_UPSTREAM_KEY",
                       input_price_per_mtok=0.0, output_price_per_mtok=0.0),
        tmp_path / "run", socket_path=socket_path,
    ) as gateway:
        outcome = run_agent_on_task(GENOME, task, suite, image, log_dir=tmp_path / "agent", env={"DGM_POLICY": "llm"},
                                    bridge=bridge(socket_path, gateway.issue_token("seed", task.instance_id)),
                                    limits=Limits(timeout=40), run_id="test-relay")
    assert outcome.reason == "timeout" and outcome.agent_exit == "timeout"


def test_the_no_model_policy_runs_its_tests_in_the_task_container(foreign, tmp_path):
    suite, task, image = foreign
    outcome = run_agent_on_task(GENOME, task, suite, image, log_dir=tmp_path, limits=Limits(timeout=300),
                                run_id="test-relay")
    steps = {r.get("step"): r for r in map(json.loads, outcome.trajectory.read_text().splitlines())
             if r["type"] == "repair"}
    # the suite was collected and run where its package is installed; the spectrum plugin and its
    # report crossed between the containers through the shared /tmp
    assert steps["collect"]["tests"] == 1 and steps["baseline"]["outcomes"] == 1, steps


def test_shared_volumes_a_dead_process_left_are_reaped_and_live_ones_kept():
    import socket as sockets

    from sandbox.engine import LABEL, OWNER_LABEL, docker_client, owner_id, reap_orphans

    client = docker_client()
    dead = client.volumes.create("dgm-test-orphan-volume", labels={LABEL: "1", OWNER_LABEL: f"{sockets.gethostname()}:999999:0"})
    live = client.volumes.create("dgm-test-live-volume", labels={LABEL: "1", OWNER_LABEL: owner_id()})
    try:
        reap_orphans(client)  # what every process's first connection does
        names = {v.name for v in client.volumes.list(filters={"label": LABEL})}
        assert dead.name not in names and live.name in names
    finally:
        live.remove(force=True)


def test_more_commands_at_once_than_the_relay_allows_are_refused_not_queued(relay):
    from sandbox.exec_relay import MAX_AT_ONCE

    path = str(relay.mounts[0].source / SOCKET_NAME)
    held = []
    try:
        for _ in range(MAX_AT_ONCE):  # connections that hold a slot without sending their line
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(path)
            held.append(sock)
        time.sleep(0.5)
        result = run_bash("echo hi", Path("/"))
        assert result.exit_code is None and f"more than {MAX_AT_ONCE} commands at once" in result.output
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert run_bash("echo hi", Path("/")).output.strip() == "hi"
