"""`dgm bench`: check and run SWE-style suites."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dgm.errors import DgmError

bench_app = typer.Typer(no_args_is_help=True, help="Check and run SWE-style task suites.")
console = Console()


@bench_app.command("validate")
def validate(
    suite: str = typer.Argument(..., help="a bundled suite name (e.g. pyfix) or a suite directory"),
    workers: int = typer.Option(2, help="containers at once"),
    logs: Path = typer.Option(Path("runs/validate"), help="where each grading's logs are kept"),
) -> None:
    """Grade every task with its gold patch and with an empty patch: must be 100 % and 0 %."""
    from benchmarks.suite import load_suite
    from benchmarks.validate import validate_suite

    loaded = load_suite(suite)
    total = 2 * len(loaded.tasks())
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(f"validating {loaded.name}", total=total)
        report = validate_suite(loaded, workers, logs, lambda kind, result: progress.advance(bar))
    console.print(
        f"{loaded.name}: {report.total} tasks; gold resolved {report.gold_resolved}/{report.total} "
        f"({100 * report.gold_resolved / max(1, report.total):.0f} %), empty resolved "
        f"{report.empty_resolved}/{report.total} ({100 * report.empty_resolved / max(1, report.total):.0f} %)"
    )
    for problem in report.problems:
        console.print(f"[red]✗[/red] {problem}")
    if not report.ok:
        raise DgmError(f"the harness failed on {len(report.problems)} task(s) of {loaded.name}; logs in {logs}")
