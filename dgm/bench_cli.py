"""`dgm bench`: check and run SWE-style suites."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dgm.errors import DgmError

bench_app = typer.Typer(no_args_is_help=True, help="Check and run SWE-style task suites.")
console = Console()


@bench_app.command("validate")
def validate(
    suite: str = typer.Argument(..., help="a bundled suite name (e.g. pyfix), a suite directory, "
                                          "swebench:PATH or polyglot:PATH"),
    workers: int = typer.Option(2, help="containers at once"),
    logs: Path = typer.Option(Path("runs/validate"), help="where each grading's logs are kept"),
) -> None:
    """Grade every task with its gold patch and with an empty patch: must be 100 % and 0 %."""
    from benchmarks.task_suite import load_task_suite
    from benchmarks.validate import validate_suite

    loaded = load_task_suite(suite)
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
    if report.free:
        console.print(f"free (the stub already passes, inherent to the benchmark): {escape(', '.join(report.free))}")
    for problem in report.problems:  # test ids hold brackets (`test_x[param]`) rich would take for markup
        console.print(f"[red]✗[/red] {escape(problem)}")
    if not report.ok:
        raise DgmError(f"the harness failed on {len(report.problems)} task(s) of {loaded.name}; logs in {logs}")


@bench_app.command("grade")
def grade(
    suite: str = typer.Option(..., help="a bundled suite name, a suite directory, swebench:PATH or polyglot:PATH"),
    predictions: Path = typer.Option(..., help="SWE-bench predictions: JSONL or a JSON list of "
                                               "{instance_id, model_name_or_path, model_patch}"),
    out: Path = typer.Option(Path("runs/grade"), help="results.json and every grading's logs go here"),
    workers: int = typer.Option(2, help="containers at once"),
    timeout: float = typer.Option(900.0, help="seconds per grading"),
) -> None:
    """Grade patches made elsewhere (another agent's predictions) on a suite, as dgm grades its own."""
    from rich.table import Table

    from benchmarks.predictions import grade_predictions, read_predictions
    from benchmarks.task_suite import load_task_suite

    loaded = load_task_suite(suite)
    chosen = read_predictions(predictions, {t.instance_id for t in loaded.tasks()})
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(f"grading {predictions.name} on {loaded.name}", total=len(chosen))
        results = grade_predictions(loaded, chosen, out, workers=workers, timeout=timeout,
                                    on_done=lambda result: progress.advance(bar))
    resolved = sum(r["resolved"] for r in results.values())
    table = Table(title=f"{loaded.name}: {resolved}/{len(results)} resolved")
    for column in ("instance", "resolved", "reason", "dropped"):
        table.add_column(column)
    for instance_id, r in results.items():
        table.add_row(escape(instance_id), "[green]yes[/green]" if r["resolved"] else "[red]no[/red]",
                      escape(r["reason"][:70]), escape(", ".join(r["dropped_paths"])[:60]))
    console.print(table)
    console.print(f"results: {out / 'results.json'}")


@bench_app.command("run")
def run(
    suite: str = typer.Option("pyfix", help="a bundled suite name, a suite directory, swebench:PATH or polyglot:PATH"),
    agent: Path = typer.Option(Path("."), help="a genome directory (holding agent/ and tools/)"),
    workers: int = typer.Option(2, help="tasks at once"),
    tasks: int = typer.Option(0, help="run only the first N tasks (0: all)"),
    task: list[str] = typer.Option([], help="run only this task (by instance id, any split); repeat for more"),
    split: str = typer.Option("train", help="train, heldout or all"),
    model: str = typer.Option("", help="litellm model string; empty: the agent's no-model policy"),
    api_base: str = typer.Option("", help="an OpenAI-compatible server for the model"),
    api_key_env: str = typer.Option("", help="the environment variable holding the model's key"),
    budget: float = typer.Option(None, help="stop model calls past this many dollars"),
    input_price: float = typer.Option(-1.0, help="dollars per million input tokens (negative: litellm's price)"),
    output_price: float = typer.Option(-1.0, help="dollars per million output tokens (negative: litellm's price)"),
    timeout: float = typer.Option(900.0, help="seconds per task, for the agent and for grading"),
    out: Path = typer.Option(Path("runs/bench"), help="results.json and every task's logs go here"),
) -> None:
    """Run an agent on a suite's tasks in containers and grade them."""
    from rich.table import Table

    from benchmarks.bench_run import by_difficulty, run_suite
    from benchmarks.task_suite import load_task_suite
    from dgm.llm.provider import UpstreamConfig
    from sandbox.container import Limits

    if not (agent / "agent").is_dir() or not (agent / "tools").is_dir():
        raise DgmError(f"--agent {agent} holds no agent/ and tools/: point it at a genome directory")
    if split not in ("train", "heldout", "all"):
        raise DgmError(f"--split must be train, heldout or all, not {split!r}")
    loaded = load_task_suite(suite)
    unknown = set(task) - {t.instance_id for t in loaded.tasks()}
    if unknown:
        raise DgmError(f"--task: suite {loaded.name} has no task {', '.join(sorted(unknown))}")
    if task:  # tasks named one by one are run whatever their split
        chosen = [t for t in loaded.tasks() if t.instance_id in task]
    else:
        chosen = [t for t in loaded.tasks() if split == "all" or t.split == split]
    chosen = chosen[:tasks] if tasks else chosen
    upstream = UpstreamConfig(model, api_base or None, api_key_env or None, input_price, output_price) if model else None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("resolved {task.fields[resolved]}"), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(f"{loaded.name}", total=len(chosen), resolved=0)
        resolved = [0]

        def done(run) -> None:
            resolved[0] += run.resolved
            progress.update(bar, advance=1, resolved=resolved[0])

        runs = run_suite(loaded, chosen, agent.resolve(), out, workers=workers, model=upstream, budget=budget,
                         limits=Limits(timeout=timeout), on_done=done)
    table = Table(title=f"{loaded.name}: {sum(r.resolved for r in runs)}/{len(runs)} resolved")
    for column in ("task", "difficulty", "resolved", "agent exit", "verdict", "cost $"):
        table.add_column(column)
    for r in runs:
        table.add_row(r.instance_id, r.difficulty, "[green]yes[/green]" if r.resolved else "[red]no[/red]",
                      r.agent_exit, r.reason[:60], f"{r.cost:.4f}")
    console.print(table)
    rates = Table(title="resolve rate by difficulty")
    for column in ("difficulty", "resolved", "rate"):
        rates.add_column(column)
    for name, row in by_difficulty(runs).items():
        rates.add_row(name or "(none)", f"{row['resolved']}/{row['total']}", f"{100 * row['rate']:.0f} %")
    console.print(rates)
    console.print(f"results: {out / 'results.json'}")
