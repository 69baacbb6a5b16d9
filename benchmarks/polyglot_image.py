"""The Polyglot environment image: the sandbox image's recipe on a Debian base that also holds the
C++, Go, Java, JavaScript and Rust toolchains, so the agent (the sandbox venv) and every
language's tests run in it.

Built offline like the sandbox image: mmdebstrap from the host's mirror, `docker import`, then
Dockerfile.sandbox with host-downloaded wheels, plus the crates exercises use, vendored on the
host by `cargo vendor` from `polyglot_crates/Cargo.lock`. Tagged by a hash of its inputs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from sandbox.container import GID, UID
from sandbox.debian_base import ensure_debian_base
from sandbox.engine import SandboxError
from sandbox.image import (DEBIAN_PACKAGES, DOCKERFILE, REQUIREMENTS, Log, _console_log, build_image,
                           sandbox_buildargs)

POLYGLOT_REPO = "dgm-polyglot"
# Debian trixie (13), not the host's bookworm: its Go 1.24 has `slices` (1.21), its Rust 1.85 has
# `LazyLock` (1.80), `let … else` and `is_some_and`, which reference solutions use; bookworm
# ships Go 1.19 and Rust 1.63. Also JDK 21 with JUnit 5.10 and AssertJ 3.26, node 20 with jest
# 29 and babel 7, g++ 14, CMake 3.31 and Boost 1.83 (date_time, for gigasecond and meetup).
RELEASE = "trixie"
TOOLCHAINS = (
    "g++", "cmake", "make", "libboost-date-time-dev",
    "golang-go",
    "rustc", "cargo",
    "default-jdk-headless", "junit5", "libassertj-core-java",
    "nodejs", "jest", "node-babel7",
)
# libcst needs pyyaml-ft on Python 3.13 (trixie's), and `pip download` on the host does not follow
# that marker for another Python, so it is named here.
PYTHON_313_WHEELS = ("pyyaml-ft==8.0.0",)
CRATES = Path(__file__).resolve().parent / "polyglot_crates"
VENDOR = "/opt/cargo-vendor"
# Cargo reads /.cargo/config.toml from any directory below /, whatever CARGO_HOME is.
CARGO_CONFIG = f"""[source.crates-io]
replace-with = "vendored"

[source.vendored]
directory = "{VENDOR}"
"""
GO_CACHE = "/opt/go-cache"
# Debian's Go ships no compiled standard library, so every test run would compile (and vet) the
# packages it imports, minutes on a loaded machine: the image keeps a build cache of the usual
# ones, which the grader copies to the writable GOCACHE first.
GO_WARM = {
    "go.mod": b"module warm\n\ngo 1.18\n",
    "warm.go": ("package warm\n\nimport (\n" + "".join(f'\t_ "{p}"\n' for p in (
        "bufio", "bytes", "container/heap", "container/list", "encoding/json", "errors", "fmt", "io", "maps",
        "math", "math/big", "math/bits", "math/rand", "os", "reflect", "regexp", "slices", "sort", "strconv",
        "strings", "sync", "time", "unicode", "unicode/utf8")) + ")\n").encode(),
    "warm_test.go": b'package warm\n\nimport "testing"\n\nfunc TestWarm(t *testing.T) {}\n\nfunc BenchmarkWarm(b *testing.B) {}\n',
}
LAYERS = f"""
USER root
COPY cargo-vendor {VENDOR}
COPY cargo-config.toml /.cargo/config.toml
COPY go-warm /tmp/go-warm
RUN cd /tmp/go-warm && GOCACHE={GO_CACHE} GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local go test -count=1 -run '^$' . \\
 && rm -rf /tmp/go-warm /tmp/go-build* && chmod -R a+rX {GO_CACHE}
USER {UID}:{GID}
"""


def ensure_polyglot_image(*, log: Log | None = None) -> str:
    """Tag of the image Polyglot exercises are solved and graded in, built on first use."""
    log = log or _console_log()
    base = ensure_debian_base((*DEBIAN_PACKAGES, *TOOLCHAINS), log, release=RELEASE)
    requirements = [line.strip() for line in REQUIREMENTS.read_text().splitlines()
                    if line.strip() and not line.startswith("#")] + list(PYTHON_313_WHEELS)
    # the crates' manifest and lock are in the context for the tag: they decide what is vendored
    context = {"requirements.txt": REQUIREMENTS, "cargo-config.toml": CARGO_CONFIG.encode(),
               "crates.lock": CRATES / "Cargo.lock", "crates.toml": CRATES / "Cargo.toml",
               **{f"go-warm/{name}": text for name, text in GO_WARM.items()}}
    return build_image(POLYGLOT_REPO, DOCKERFILE.read_text() + LAYERS, context, requirements,
                       wheels_for=base, buildargs=sandbox_buildargs(base), log=log,
                       downloads={"cargo-vendor": vendor_crates})


def vendor_crates(into: Path) -> Path:
    """`cargo vendor` of the locked crates into `into/cargo-vendor` (on the host: the image build
    stays offline). Windows import libraries, a hundred megabytes no Linux build links, are left out."""
    if shutil.which("cargo") is None:
        raise SandboxError("building the polyglot image vendors crates with the host's cargo: install "
                           "Rust's cargo (https://rustup.rs or `apt-get install cargo`)")
    with tempfile.TemporaryDirectory(prefix="dgm-crates-") as tmp:
        for name in ("Cargo.toml", "Cargo.lock"):
            shutil.copy(CRATES / name, Path(tmp, name))
        Path(tmp, "lib.rs").touch()
        target = into / "cargo-vendor"
        done = subprocess.run(["cargo", "vendor", "--locked", "--versioned-dirs", str(target)],
                              cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxError(f"cargo vendor of {CRATES / 'Cargo.lock'} failed:\n{done.stderr[-2000:]}")
    for crate in target.glob("winapi-*-pc-windows-gnu-*"):
        _drop_files(crate, "lib/")
    return target


def _drop_files(crate: Path, prefix: str) -> None:
    """Delete a vendored crate's files under `prefix` and their entries in its checksum list, which
    cargo checks file by file."""
    checksums = crate / ".cargo-checksum.json"
    listed = json.loads(checksums.read_text())
    listed["files"] = {name: digest for name, digest in listed["files"].items() if not name.startswith(prefix)}
    checksums.write_text(json.dumps(listed))
    shutil.rmtree(crate / prefix.rstrip("/"))
