"""The foreign base of the SWE-bench fixtures in tests/fixtures/swebench/foreign: a Debian
bullseye root file system (Python 3.9) bootstrapped offline from the host's Debian mirror, with
a conda-like layout as SWE-bench's instance images have (`/opt/miniconda3/bin/activate`
defining `conda activate NAME`, an env `testbed` at `/opt/miniconda3/envs/testbed` whose
python is Debian's 3.9 with its pytest, setuptools and wheel). Like a conda env, and unlike a
venv, it is a plain prefix: the user site comes before its site-packages. Nothing of dgm's is in it: no /work, no
agent user, no socat, no dgm venv. Both layers are tagged by a hash of their inputs; the
fixture Dockerfiles name the alias FOREIGN_BASE."""

from __future__ import annotations

import re

from sandbox.debian_base import ensure_debian_base, host_apt_sources
from sandbox.engine import docker_client
from sandbox.image import build_image

RELEASE = "bullseye"
PACKAGES = ("python3", "python3-venv", "python3-pip", "python3-pytest", "python3-setuptools", "python3-wheel",
            "git", "patch")
FOREIGN_BASE = "dgm-fixture-foreign:bullseye-py39"
ACTIVATE = r"""# conda's activation, as far as eval scripts use it: `conda activate NAME`
conda() {
  case "$1" in
    activate) export CONDA_DEFAULT_ENV="${2:-base}" CONDA_PREFIX="/opt/miniconda3/envs/${2:-base}"
              export PATH="$CONDA_PREFIX/bin:$PATH" ;;
    deactivate) ;;
    *) echo "conda: only activate and deactivate exist here" >&2; return 1 ;;
  esac
}
"""
LAYOUT = r"""ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY activate /opt/miniconda3/bin/activate
RUN mkdir -p /opt/miniconda3/envs/testbed/bin && cd /opt/miniconda3/envs/testbed/bin \
 && ln -s /usr/bin/python3.9 python && ln -s /usr/bin/python3.9 python3 \
 && printf '#!/bin/sh\nexec python3 -m pip "$@"\n' > pip && printf '#!/bin/sh\nexec python3 -m pytest "$@"\n' > pytest \
 && chmod 755 pip pytest
"""


def bullseye_sources() -> list[str]:
    """The host's Debian mirror, at bullseye (its main suite only: that is all the base needs)."""
    main = [line for line in host_apt_sources() if re.fullmatch(r"deb \S+/debian/? \w+ main", line)]
    return [re.sub(r" \w+ main$", f" {RELEASE} main", line) for line in main[:1]]


def ensure_foreign_base() -> str:
    """FOREIGN_BASE, built now unless an image with the same inputs exists."""
    base = ensure_debian_base(PACKAGES, print, release=RELEASE, sources=bullseye_sources())
    tag = build_image("dgm-fixture-foreign", LAYOUT, {"activate": ACTIVATE.encode()}, buildargs={"BASE_IMAGE": base},
                      log=print)
    repository, _, version = FOREIGN_BASE.partition(":")
    docker_client().images.get(tag).tag(repository, version)
    return FOREIGN_BASE
