"""The task's own container beside the agent's: it holds the task's environment, shares
/testbed and /tmp with the agent's container, and runs the agent's shell commands through the
exec relay (the design is argued in sandbox/exec_relay.py)."""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.container import GID, UID, Limits, Mount, Sandbox
from sandbox.engine import LABEL, OWNER_LABEL, RUN_LABEL, docker_client, owner_id
from sandbox.exec_relay import exec_relay

# The task's processes see a writable home (git config --global, caches), and eval.sh's
# reinstall (`python -m pip install .`) works offline under the read-only root: builds use the
# environment's own setuptools and wheel (no index to fill an isolated build environment), and
# the package goes to the user site in the writable home, which a conda env (a plain prefix,
# not a venv) puts before its own site-packages.
TASK_ENV = {"HOME": "/tmp", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_USER": "1"}


@dataclass(frozen=True)
class TaskSide:
    """What the agent's container needs to work on the task container's files and shell."""

    mounts: tuple[Mount, ...]
    env: dict[str, str]
    shared: dict[str, str]  # container path -> named volume


@contextmanager
def task_container(image: str, repo: str, *, prologue: str, limits: Limits, run_id: str) -> Iterator[TaskSide]:
    """A container of `image` idling until the agent is done, `repo` (filled from the image) and
    a size-capped /tmp shared by named volumes, and a relay running commands in it."""
    client = docker_client()  # its first call also removes the volumes of dead processes
    labels = {LABEL: "1", RUN_LABEL: run_id, OWNER_LABEL: owner_id()}
    stem = f"dgm-{uuid.uuid4().hex[:12]}"
    volumes = [client.volumes.create(f"{stem}-repo", labels=labels),
               client.volumes.create(f"{stem}-tmp", driver="local", labels=labels, driver_opts={
                   "type": "tmpfs", "device": "tmpfs", "o": f"size={limits.tmp_size},uid={UID},gid={GID}"})]
    shared = {repo: volumes[0].name, "/tmp": volumes[1].name}
    # the task container outlives the agent's by a margin; it is removed as soon as the agent ends
    box = Sandbox(image, ["sleep", "infinity"], limits=Limits(
        memory=limits.memory, cpus=limits.cpus, pids=limits.pids, timeout=limits.timeout + 60,
        tmp_size=limits.tmp_size, output_cap=10_000), env=TASK_ENV, run_id=run_id, shared=shared)
    try:
        # it starts while the agent's container is made; the relay waits for it if need be
        threading.Thread(target=_idle, args=(box,), daemon=True).start()
        with tempfile.TemporaryDirectory(prefix="dgm-exec-") as tmp, \
                exec_relay(box.name, Path(tmp), prologue=prologue, env=TASK_ENV,
                           max_timeout=limits.timeout) as (mount, env):
            yield TaskSide((mount,), env, shared)
    finally:
        # removed off the evaluation's path; not a daemon thread, so an exiting process waits for it
        threading.Thread(target=_remove, args=(box, volumes)).start()


def _idle(box: Sandbox) -> None:
    """Runs the idle command under the box's time limit; the box's removal ends it."""
    try:
        box.run()
    except Exception:  # removed under it: the normal end
        pass


def _remove(box: Sandbox, volumes: list) -> None:
    box.close()
    for volume in volumes:
        volume.remove(force=True)

