"""The `dgm` command line. User mistakes end as one readable line and a non-zero exit."""

from __future__ import annotations

import signal
import sys

import typer
from rich.console import Console
from rich.table import Table

from dgm.bench_cli import bench_app
from dgm.errors import DgmError
from dgm.inspect_cli import register as register_inspection
from dgm import run_cli

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
sandbox_app = typer.Typer(no_args_is_help=True, help="Build and check the sandbox image.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(bench_app, name="bench")
for command in (run_cli.run, run_cli.resume, run_cli.status, run_cli.check, run_cli.config):
    app.command()(command)
register_inspection(app)

console = Console()


@sandbox_app.command("build")
def sandbox_build() -> None:
    """Build the sandbox image from Dockerfile.sandbox (offline: Debian packages and host wheels)."""
    from sandbox.image import ensure_sandbox_image

    console.print(f"sandbox image: [bold]{ensure_sandbox_image()}[/bold]")


@sandbox_app.command("check")
def sandbox_check() -> None:
    """Build the image if needed, then prove a container runs and is locked down."""
    from sandbox.image import ensure_sandbox_image
    from sandbox.self_check import self_check

    image = ensure_sandbox_image()
    checks = self_check(image)
    table = Table(title=f"sandbox self-check ({image})")
    for column in ("check", "ok", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.name, "[green]yes[/green]" if check.ok else "[red]NO[/red]", check.detail)
    console.print(table)
    if not all(check.ok for check in checks):
        raise DgmError("the sandbox self-check failed (see the table above)")


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM takes the same way out as Ctrl-C, so every container is removed on the way.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except DgmError as e:
        print(f"error: {e}", file=sys.stderr)  # one line, never wrapped, whatever the terminal
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
