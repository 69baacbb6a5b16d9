"""The image a SWE-bench task runs in, and a check that it can serve before any evaluation.

An instance image is the one the task names (`image`, e.g. swebench/sweb.eval.x86_64.…) when
Docker has it (pulled or loaded), else its task's Dockerfile built as written, from whatever
base it names: SWE-bench's own Ubuntu/conda images, a foreign base, or dgm's sandbox image for
a Dockerfile that declares `ARG BASE_IMAGE` (dgm passes the sandbox image's tag there, so such
a task builds with no registry). Nothing of dgm's needs to be in it: the agent runs in dgm's
image and sends its commands here (sandbox/exec_relay.py). One layer is added: /testbed owned
by the sandbox's unprivileged user (git refuses a repository another user owns).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path

from benchmarks.suite import SuiteError
from sandbox.container import GID, UID

TESTBED = "/testbed"
OWN_TESTBED = f"\n# added by dgm\nUSER root\nRUN chown -R {UID}:{GID} {TESTBED}\n"
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)
_ARG = re.compile(r"^\s*ARG\s+(\w+)(?:=(\S*))?", re.IGNORECASE | re.MULTILINE)


def base_images(dockerfile: str, buildargs: Mapping[str, str]) -> list[str]:
    """The images the Dockerfile's stages build FROM (not earlier stages, not scratch)."""
    args = {name: default or "" for name, default in _ARG.findall(dockerfile.split("FROM", 1)[0])}
    args.update(buildargs)
    stages: set[str] = set()
    bases = []
    for image, stage in _FROM.findall(dockerfile):
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), image)
        if image.lower() != "scratch" and image not in stages:
            bases.append(image)
        if stage:
            stages.add(stage)
    return bases


def instance_image(instance_id: str, official: str, recipe: tuple[str, Mapping[str, Path]] | None) -> str:
    """The task's image plus dgm's layer: `official` if Docker has it, else `recipe` (Dockerfile
    text, build context) built. Errors name the image that is missing and how to get it."""
    from sandbox.image import build_image, ensure_sandbox_image, image_exists

    if official and image_exists(official):
        dockerfile, context, buildargs = f"FROM {official}\n", {}, {}
    elif recipe is None:
        raise SuiteError(f"task {instance_id}: Docker has no image {official!r}: `docker pull {official}` where a "
                         "registry is reachable (or `docker load` it)")
    else:
        dockerfile, context = recipe
        declared = {name for name, _ in _ARG.findall(dockerfile)}
        buildargs = {"BASE_IMAGE": ensure_sandbox_image()} if "BASE_IMAGE" in declared else {}
        missing = [image for image in base_images(dockerfile, buildargs) if not image_exists(image)]
        if missing:
            raise SuiteError(f"task {instance_id}: its Dockerfile builds FROM {', '.join(missing)}, which Docker does "
                             f"not have (no pull is attempted): `docker pull {missing[0]}` where a registry is reachable, "
                             f"or provide the instance image {official!r} itself")
    return build_image(f"dgm-swebench-{_slug(instance_id)}", dockerfile + OWN_TESTBED, context, buildargs=buildargs)


def _slug(instance_id: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", instance_id.lower())


# What the task's container must offer. The agent's side: bash and coreutils' `timeout` and
# `sleep` (the relay runs each command under a time limit; the container idles in between).
# Grading's side: git and patch for swebench's apply chain, /testbed a git work tree (eval.sh
# checks test files out of its base commit), and the environment eval.sh sets up.
PREFLIGHT = r"""agent=() grading=()
for tool in timeout sleep; do command -v $tool >/dev/null || agent+=("no $tool"); done
for tool in git patch; do command -v $tool >/dev/null || grading+=("no $tool"); done
[ -d /testbed ] || agent+=("no /testbed")
git -C /testbed rev-parse --is-inside-work-tree >/dev/null 2>&1 || grading+=("/testbed is not a git work tree")
if ! (eval "$DGM_PROLOGUE") >/dev/null 2>&1; then agent+=("the environment eval.sh sets up fails"); fi
(IFS=,; echo "agent:${agent[*]}"; echo "grading:${grading[*]}")
"""
_checked: dict[str, str] = {}  # image id -> "" (fit) or what is missing
_checked_lock = threading.Lock()


def preflight(image: str, instance_id: str, prologue: str) -> None:
    """Raise, in one line, what `image` lacks for the agent and for grading; checked once per
    image id."""
    import docker.errors

    from sandbox.container import Limits, Sandbox
    from sandbox.engine import SandboxError, docker_client

    image_id = docker_client().images.get(image).id
    with _checked_lock:
        known = _checked.get(image_id)
    if known is None:
        try:
            with Sandbox(image, ["bash", "-c", PREFLIGHT], env={"HOME": "/tmp", "DGM_PROLOGUE": prologue},
                         limits=Limits(timeout=120), run_id="preflight", volumes=(TESTBED,),
                         own_deadline=False) as box:  # the check says whether `timeout` is there
                run = box.run()
            found = dict(line.split(":", 1) for line in run.stdout.splitlines() if line.startswith(("agent:", "grading:")))
            parts = [f"for {side}: {found[side].replace(',', ', ')}" for side in ("agent", "grading") if found.get(side)]
            if run.exit_code != 0 or len(found) != 2:
                parts = [f"its check did not run (exit {run.exit_code}): {(run.stdout + run.stderr).strip()[-300:]}"]
        except (SandboxError, docker.errors.APIError) as e:
            parts = ["no bash" if "bash" in str(e) else str(e)]
        known = "; ".join(parts)
        with _checked_lock:
            _checked[image_id] = known
    if known:
        raise SuiteError(f"image {image} (task {instance_id}) cannot serve: {known}")
