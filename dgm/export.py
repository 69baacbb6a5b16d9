"""`dgm export`: a variant's genome as a standalone, pip-installable command-line tool.

The tool holds only the genome (`agent/`, `tools/`) and a small launcher; it never imports dgm.
It solves an issue in a local repository by running `python -m agent solve`, the entry point
every variant keeps, then prints the patch or applies it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dgm.errors import DgmError
from dgm.run_view import VariantView

GENOME_ROOTS = ("agent", "tools")
REQUIREMENTS = Path(__file__).resolve().parent.parent / "sandbox" / "requirements.txt"

LAUNCHER = '''\
"""Command-line entry of an agent exported by dgm: solve an issue in a local git repository."""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

MODEL = {model!r}
API_BASE = {api_base!r}


def main() -> None:
    parser = argparse.ArgumentParser(prog={name!r}, description=__doc__)
    parser.add_argument("--repo", type=Path, required=True, help="a git repository to fix")
    parser.add_argument("--issue", type=Path, required=True, help="a file describing the problem")
    parser.add_argument("--apply", action="store_true", help="apply the patch instead of printing it")
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args()
    env = dict(os.environ)
    if MODEL:
        env.setdefault("DGM_MODEL", MODEL)
    if API_BASE:
        env.setdefault("OPENAI_BASE_URL", API_BASE)
    with tempfile.TemporaryDirectory() as tmp:
        patch = Path(tmp, "patch.diff")
        command = [sys.executable, "-m", "agent", "solve", "--repo", str(args.repo.resolve()),
                   "--issue", str(args.issue.resolve()), "--patch-out", str(patch)]
        if args.max_steps is not None:
            command += ["--max-steps", str(args.max_steps)]
        code = subprocess.run(command, env=env).returncode
        text = patch.read_text() if patch.exists() else ""
    if args.apply and text:
        subprocess.run(["git", "apply", "-"], input=text, text=True, cwd=args.repo, check=True)
        print("applied the patch to", args.repo, file=sys.stderr)
    else:
        sys.stdout.write(text)
    sys.exit(code)


if __name__ == "__main__":
    main()
'''


@dataclass(frozen=True)
class ExportInfo:
    variant: VariantView
    lineage: Sequence[VariantView]  # root first, ending with the variant
    run_name: str
    model: str
    api_base: str
    best_note: str  # how "best" was chosen, when it was


def tool_name(variant_id: str) -> str:
    return "dgm-agent-" + re.sub(r"[^a-z0-9]+", "-", variant_id.lower()).strip("-")


def _pyproject(name: str, module: str) -> str:
    deps = [line.strip() for line in REQUIREMENTS.read_text().splitlines()
            if line.strip() and not line.startswith("#") and not line.startswith("pytest-timeout")]
    dep_lines = "\n".join(f'    "{d}",' for d in deps)
    return f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "A coding agent evolved by dgm"
readme = "README.md"
requires-python = ">=3.11"
dependencies = [
{dep_lines}
]

[project.scripts]
{name} = "{module}:main"

[tool.setuptools]
py-modules = ["{module}"]

[tool.setuptools.packages.find]
include = ["agent*", "tools*"]

[tool.setuptools.package-data]
"*" = ["*.md", "*.txt", "*.scm", "*.json", "*.toml"]
'''


def _readme(name: str, info: ExportInfo) -> str:
    v = info.variant
    rows = "\n".join(
        f"| {x.id} | {x.step} | {'-' if x.score is None else f'{x.score:.2f}'} | {x.stage} | "
        f"{(x.summary or 'seed').replace('|', '/')[:80]} |" for x in info.lineage
    )
    score = "-" if v.score is None else f"{v.score:.2f}"
    return f"""# {name}

A coding agent exported by dgm from run `{info.run_name}`, variant `{v.id}`
(score {score} on evaluation stage {v.stage}). {info.best_note}

## Install and use

```sh
pip install .
{name} --repo path/to/repo --issue issue.md          # prints the patch
{name} --repo path/to/repo --issue issue.md --apply  # applies it
```

Model: `{info.model or '(none: search-based repair policy)'}`{f' at `{info.api_base}`' if info.api_base else ''}.
Override with `DGM_MODEL`, `OPENAI_BASE_URL` and the provider's key variable (e.g.
`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`).

## Lineage

| variant | step | score | stage | change |
|---|---|---|---|---|
{rows}
"""


def export_genome(genome_dir: Path, out: Path, info: ExportInfo) -> Path:
    """Write the tool into `out` (which must not exist or be empty). Returns `out`."""
    if out.exists() and any(out.iterdir()):
        raise DgmError(f"{out} is not empty: choose a new directory for the export")
    missing = [r for r in GENOME_ROOTS if not (genome_dir / r).is_dir()]
    if missing:
        raise DgmError(f"{genome_dir} has no {', '.join(missing)}/: not a genome")
    out.mkdir(parents=True, exist_ok=True)
    for root in GENOME_ROOTS:
        shutil.copytree(genome_dir / root, out / root,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".dgm-index"))
    name = tool_name(info.variant.id)
    module = name.replace("-", "_")
    (out / f"{module}.py").write_text(LAUNCHER.format(model=info.model, api_base=info.api_base, name=name))
    (out / "pyproject.toml").write_text(_pyproject(name, module))
    (out / "README.md").write_text(_readme(name, info))
    return out
