"""Images built offline and tagged by a hash of their inputs, so they rebuild only when those change."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from dgm.user_cache import user_cache
from sandbox.container import GID, UID
from sandbox.debian_base import ensure_debian_base
from sandbox.engine import SandboxError, docker_client
from sandbox.wheels import download_wheels, probe_python

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile.sandbox"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
SANDBOX_REPO = "dgm-sandbox"
# What the root file system holds beyond minbase; Python packages come from wheels instead.
DEBIAN_PACKAGES = ("python3", "python3-venv", "git", "patch", "socat", "procps")

Log = Callable[[str], None]


def _console_log() -> Log:
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    return lambda line: console.print(f"[dim]{line}[/dim]", markup=True, soft_wrap=True)


def _digest_context(context: Mapping[str, bytes | Path]) -> str:
    h = hashlib.sha256()
    for name in sorted(context):
        source = context[name]
        h.update(name.encode() + b"\0")
        if isinstance(source, bytes):
            h.update(hashlib.sha256(source).digest())
        elif source.is_dir():
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                h.update(str(path.relative_to(source)).encode() + b"\0")
                h.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            h.update(hashlib.sha256(source.read_bytes()).digest())
    return h.hexdigest()


def image_tag(repo: str, dockerfile: str, context: Mapping[str, bytes | Path],
              wheels: Sequence[str], buildargs: Mapping[str, str]) -> str:
    recipe = json.dumps([dockerfile, _digest_context(context), sorted(wheels), dict(buildargs)])
    return f"{repo}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def image_exists(tag: str) -> bool:
    import docker.errors

    try:
        docker_client().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_image(repo: str, dockerfile: str, context: Mapping[str, bytes | Path] = {},
                wheels: Sequence[str] = (), *, wheels_for: str | None = None,
                buildargs: Mapping[str, str] = {}, log: Log | None = None,
                downloads: Mapping[str, Callable[[Path], Path]] = {}) -> str:
    """Build `dockerfile` with `context` unless an image with the same inputs exists; return its tag.

    `wheels` are pip requirement specifiers downloaded on the host, for the Python of image
    `wheels_for` (default: the sandbox image), into the context directory `wheels/`.
    `downloads` name further context entries made only when building, each by a function given a
    scratch directory; what decides their content (a lock file) must be in `context`.
    """
    tag = image_tag(repo, dockerfile, context, wheels, buildargs)
    if image_exists(tag):
        return tag
    with _building(tag):
        if image_exists(tag):  # another process built it while this one waited
            return tag
        _build(tag, dockerfile, context, wheels, wheels_for, buildargs, log or _console_log(), downloads)
    return tag


@contextmanager
def _building(tag: str) -> Iterator[None]:
    """One process at a time builds a given image (two dgm commands, or two test workers, started
    on a machine without it would otherwise download the same wheels into one cache at once)."""
    locks = user_cache("image-builds")
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{tag.replace(':', '-')}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(tag: str, dockerfile: str, context: Mapping[str, bytes | Path], wheels: Sequence[str],
           wheels_for: str | None, buildargs: Mapping[str, str], log: Log,
           downloads: Mapping[str, Callable[[Path], Path]]) -> None:
    with tempfile.TemporaryDirectory(prefix="dgm-build-") as tmp:
        files = dict(context)
        if wheels:
            target = probe_python(wheels_for or ensure_sandbox_image(log=log))
            log(f"downloading wheels for Python {target.version} ({len(wheels)} requirements)")
            files["wheels"] = download_wheels(wheels, target, Path(tmp, "wheels"))
        for name, download in downloads.items():
            files[name] = download(Path(tmp))
        files["Dockerfile"] = dockerfile.encode()
        archive = Path(tmp, "context.tar")
        with tarfile.open(archive, "w") as tar:
            for name, source in files.items():
                if isinstance(source, bytes):
                    info = tarfile.TarInfo(name)
                    info.size = len(source)
                    tar.addfile(info, io.BytesIO(source))
                else:
                    tar.add(source, arcname=name)
        log(f"building {tag}")
        with archive.open("rb") as f:
            _stream_build(f, tag, buildargs, log)


def _stream_build(context_tar, tag: str, buildargs: Mapping[str, str], log: Log) -> None:
    import docker.errors

    try:
        for chunk in docker_client().api.build(
            fileobj=context_tar, custom_context=True, tag=tag, buildargs=dict(buildargs),
            rm=True, forcerm=True, decode=True, pull=False,
        ):
            if "error" in chunk:
                raise SandboxError(f"building {tag} failed: {chunk['error'].strip()}")
            for line in chunk.get("stream", "").splitlines():
                if line.strip():
                    log(line)
    except docker.errors.APIError as e:
        raise SandboxError(f"building {tag} failed: {e.explanation or e}") from e


def sandbox_buildargs(base: str) -> dict[str, str]:
    """Build arguments of Dockerfile.sandbox: the base image and the agent's uid/gid."""
    return {"BASE_IMAGE": base, "AGENT_UID": str(UID), "AGENT_GID": str(GID)}


def ensure_sandbox_image(*, log: Log | None = None) -> str:
    """Tag of the image agents and graders run in, built from Dockerfile.sandbox on first use."""
    if not DOCKERFILE.exists():
        raise SandboxError(f"{DOCKERFILE} is missing: install dgm from a checkout (`pip install -e .`)")
    log = log or _console_log()
    base = ensure_debian_base(DEBIAN_PACKAGES, log)
    requirements = [
        line.strip() for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return build_image(
        SANDBOX_REPO, DOCKERFILE.read_text(), {"requirements.txt": REQUIREMENTS}, requirements,
        wheels_for=base, buildargs=sandbox_buildargs(base), log=log,
    )
