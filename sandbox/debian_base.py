"""A base image made from Debian packages alone: mmdebstrap into a tarball, then `docker import`.

Needs no container registry. The mirror and release come from the host's apt configuration,
so the image follows whatever mirror (or proxy, or snapshot) the host already uses.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from sandbox.engine import SandboxError, docker_client

BASE_REPO = "dgm-base"


def host_apt_sources() -> list[str]:
    """One-line `deb` entries for every Debian index the host's apt knows about."""
    try:
        out = subprocess.run(
            ["apt-get", "indextargets", "--format", "deb $(REPO_URI) $(RELEASE) $(COMPONENT)",
             "Created-By: Packages"],
            check=True, capture_output=True, text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SandboxError(
            f"cannot read the host's apt configuration ({e}); the base image is bootstrapped from "
            "the mirror the host's apt uses, so this needs a Debian or Ubuntu host"
        ) from e
    sources = sorted({line.strip() for line in out.splitlines() if line.strip()})
    if not sources:
        raise SandboxError("the host's apt knows no package index: run `apt-get update` first")
    return sources


def host_release() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME" and value:
            return value.strip('"')
    raise SandboxError("/etc/os-release names no VERSION_CODENAME; cannot pick a Debian release")


def base_tag(release: str, sources: Sequence[str], packages: Sequence[str]) -> str:
    recipe = "\n".join([release, *sources, *sorted(packages)])
    return f"{BASE_REPO}:{release}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def release_sources(sources: Sequence[str], host: str, release: str) -> list[str]:
    """The host's `deb` entries moved to another release of the same distribution
    (`bookworm-security` -> `trixie-security`), so the same mirror serves it."""
    moved = []
    for line in sources:
        deb, uri, suite, *components = line.split()
        moved.append(" ".join([deb, uri, release + suite[len(host):] if suite.startswith(host) else suite,
                               *components]))
    return moved


def ensure_debian_base(packages: Sequence[str], log: Callable[[str], None], *, release: str = "",
                       sources: Sequence[str] = ()) -> str:
    """Tag of a minbase image with `packages`, bootstrapped now unless it already exists; from
    `release` (default: the host's) through `sources` (default: the host's mirror, moved to that
    release)."""
    import docker.errors

    host = host_release()
    release = release or host
    sources = list(sources) or release_sources(host_apt_sources(), host, release)
    tag = base_tag(release, sources, packages)
    client = docker_client()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    if shutil.which("mmdebstrap") is None:
        raise SandboxError(
            "mmdebstrap is not installed and no base image exists: `apt-get install mmdebstrap` "
            "(it bootstraps the sandbox's root file system from Debian packages)"
        )
    log(f"bootstrapping Debian {release} ({len(packages)} packages) with mmdebstrap")
    with tempfile.TemporaryDirectory(prefix="dgm-base-") as tmp:
        sources_file = Path(tmp, "sources.list")
        sources_file.write_text("\n".join(sources) + "\n")
        tarball = Path(tmp, "rootfs.tar")
        cmd = ["mmdebstrap", "--variant=minbase", f"--include={','.join(packages)}",
               "--format=tar", release, str(tarball), str(sources_file)]
        _run_logged(cmd, log)
        log(f"importing the root file system as {tag}")
        repository, _, version = tag.partition(":")
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version)
    return tag


def _run_logged(cmd: list[str], log: Callable[[str], None]) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        log(line)
    if proc.wait() != 0:
        raise SandboxError(f"{cmd[0]} failed (exit {proc.returncode}):\n" + "\n".join(tail))
