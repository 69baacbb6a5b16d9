"""A quick proof that the sandbox image runs and its containers are locked down."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.container import Limits, Sandbox

# Runs inside the container; each line is "name|ok|detail".
PROBE = r"""
import os, sys
def line(name, ok, detail): print(f"{name}|{int(bool(ok))}|{detail}")
nets = sorted(os.listdir("/sys/class/net"))
line("network", nets == ["lo"], "interfaces: " + ", ".join(nets))
line("user", os.getuid() != 0, f"uid {os.getuid()}")
try:
    open("/etc/dgm-probe", "w"); line("read-only root", False, "/etc is writable")
except OSError:
    line("read-only root", True, "/ is read-only")
open("/work/probe", "w").write("x"); line("writable /work", True, "/work is writable")
line("python", sys.version_info[:2] >= (3, 11), sys.version.split()[0])
import litellm, tree_sitter, libcst, rapidfuzz, networkx, pytest
line("genome packages", True, "litellm, tree_sitter, libcst, rapidfuzz, networkx, pytest import")
"""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def self_check(image: str) -> list[Check]:
    with Sandbox(image, ["python3", "-c", PROBE], limits=Limits(timeout=120), run_id="self-check") as box:
        result = box.run()
    checks = []
    for row in result.stdout.splitlines():
        name, ok, detail = row.split("|", 2)
        checks.append(Check(name, ok == "1", detail))
    if not result.ok:
        checks.append(Check("probe", False, f"{result.reason} {result.exit_code}: {result.stderr[-500:]}"))
    return checks
