"""The Polyglot environment image: the sandbox image's recipe on a Debian base that also holds the
Go, Rust and C++ toolchains, so the agent (the sandbox venv) and every language's tests run in it.

Built offline like the sandbox image: mmdebstrap from the host's mirror, `docker import`, then
Dockerfile.sandbox with host-downloaded wheels. Tagged by a hash of its inputs.
"""

from __future__ import annotations

from sandbox.debian_base import ensure_debian_base
from sandbox.image import DEBIAN_PACKAGES, DOCKERFILE, REQUIREMENTS, Log, _console_log, build_image, sandbox_buildargs

POLYGLOT_REPO = "dgm-polyglot"
# Debian's own toolchains (bookworm: Go 1.19, Rust 1.63, g++ 12, CMake 3.25); Python tests use
# the sandbox venv's pytest, the same one the bundled suites are graded with.
TOOLCHAINS = ("golang-go", "rustc", "cargo", "g++", "cmake", "make")


def ensure_polyglot_image(*, log: Log | None = None) -> str:
    """Tag of the image Polyglot exercises are solved and graded in, built on first use."""
    log = log or _console_log()
    base = ensure_debian_base((*DEBIAN_PACKAGES, *TOOLCHAINS), log)
    requirements = [line.strip() for line in REQUIREMENTS.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    return build_image(POLYGLOT_REPO, DOCKERFILE.read_text(), {"requirements.txt": REQUIREMENTS}, requirements,
                       wheels_for=base, buildargs=sandbox_buildargs(base), log=log)
