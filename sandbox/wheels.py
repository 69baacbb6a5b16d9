"""Wheels downloaded on the host for an image's Python, so image builds need no network."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dgm.user_cache import user_cache
from sandbox.engine import SandboxError


@dataclass(frozen=True)
class PythonTarget:
    """The interpreter inside an image: what pip must download wheels for."""

    version: str  # "3.11"
    glibc: tuple[int, int]  # (2, 36)
    machine: str  # "x86_64"

    def pip_args(self) -> list[str]:
        major, minor = self.glibc
        abi = "cp" + self.version.replace(".", "")
        platforms = [f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, 16, -1)]
        platforms += [f"manylinux2014_{self.machine}", f"linux_{self.machine}"]
        args = ["--only-binary=:all:", "--python-version", self.version, "--implementation", "cp",
                "--abi", abi, "--abi", "abi3", "--abi", "none"]
        for platform in platforms:
            args += ["--platform", platform]
        return args


PROBE = (
    "import platform, sys; "
    "print('%d.%d' % sys.version_info[:2], platform.libc_ver()[1], platform.machine())"
)


def probe_python(image: str) -> PythonTarget:
    """Ask the image itself which Python, glibc and machine it has."""
    from sandbox.engine import docker_client

    out = docker_client().containers.run(
        image, ["python3", "-c", PROBE], remove=True, network_mode="none"
    ).decode()
    version, glibc, machine = out.split()
    major, minor = glibc.split(".")[:2]
    return PythonTarget(version, (int(major), int(minor)), machine)


def download_wheels(requirements: Sequence[str], target: PythonTarget, dest: Path) -> Path:
    """Download wheels for `requirements` (and their dependencies) into a cache directory named by
    the request, then hard-link or copy them into `dest`. Returns `dest`."""
    key = hashlib.sha256(repr((sorted(requirements), target)).encode()).hexdigest()[:16]
    cache = user_cache("wheels") / key
    done = cache / ".complete"
    if not done.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
               "--dest", str(cache), *target.pip_args(), *requirements]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SandboxError(
                f"could not download wheels for Python {target.version} on {target.machine} "
                f"(every package must have a wheel for it):\n{proc.stderr.strip()[-2000:]}"
            )
        done.touch()
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in cache.glob("*.whl"):
        link = dest / wheel.name
        if not link.exists():
            try:
                os.link(wheel, link)
            except OSError:
                link.write_bytes(wheel.read_bytes())
    return dest
