"""`dgm run`, `dgm resume`, `dgm status`: start an evolution run, continue one after any crash or
kill, and see where one stands."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dgm.errors import DgmError

console = Console()
SEED_SOURCE = Path(__file__).resolve().parent.parent  # the checkout holding agent/ and tools/

ConfigOption = typer.Option(None, "--config", "-c", help="a TOML config file (see `dgm config`)")
SetOption = typer.Option([], "--set", "-s", help="override a knob: section.key=value (repeatable)")


def _config(path: Path | None, overrides: list[str]):
    from dgm.config import load_config, parse_override

    return load_config(path, dict(parse_override(o) for o in overrides))


def _check_prices(chosen) -> None:
    """A model that cannot be priced is refused before anything starts (UnknownPrice says which keys)."""
    if chosen.model.name:
        from dgm.llm.budget import prices_for

        prices_for(chosen.model.name, chosen.model.input_price_per_mtok, chosen.model.output_price_per_mtok)


def config() -> None:
    """Print every knob with its default, as TOML to start a config file from."""
    from dgm.config import Config, to_toml

    typer.echo(to_toml(Config()))


def run(config_file: Path = ConfigOption, overrides: list[str] = SetOption,
        run_dir: Path = typer.Option(None, "--run-dir", help="default: RUNS_DIR/<date-time>"),
        no_cache: bool = typer.Option(False, "--no-cache", help="evaluate the seed afresh, never from the "
                                      "evaluation cache (sets evaluation.cache = false)")) -> None:
    """Start an evolution run (no model configured: repair policy and genetic improvement)."""
    from archive.db import LOCK_FILE, RunLock
    from dgm.engine import Engine, new_run, refuse_used_run_dir

    chosen = _config(config_file, [*overrides, *(["evaluation.cache=false"] if no_cache else [])])
    _check_prices(chosen)
    path = run_dir or Path(chosen.run.runs_dir) / time.strftime("%Y%m%d-%H%M%S")
    refuse_used_run_dir(path)  # before the lock, so no run.lock is left in a directory that is not a run
    existed = path.exists()
    path.mkdir(parents=True, exist_ok=True)
    # Locked before anything is written: a second `dgm run` starting on this directory at the same
    # time is refused naming this process, and a start that fails removes only what it made.
    with RunLock(path):
        fresh = all(p.name == LOCK_FILE for p in path.iterdir())
        try:
            opened = new_run(path, chosen, SEED_SOURCE)
            engine = Engine(opened, chosen)  # the suite and the stage plan load, or no half-made run is left
        except DgmError:
            if fresh:
                _unmake(path, existed)
            raise
        console.print(f"run directory: [bold]{path}[/bold]  (resume with `dgm resume {path}`)")
        _drive(engine)


def _unmake(path: Path, existed: bool) -> None:
    """Leave `path` as it was before a failed start: absent, or the empty directory it was."""
    if not existed:
        shutil.rmtree(path)
        return
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def resume(run_dir: Path = typer.Argument(..., help="a run directory"), overrides: list[str] = SetOption) -> None:
    """Continue a run after a crash, a kill or a stop; `--set run.max_steps=N` extends it."""
    from archive.db import RunLock
    from dgm.config import to_toml
    from dgm.engine import Engine
    from dgm.run_dir import open_run

    opened = open_run(run_dir)
    with RunLock(opened.path):
        opened.db()  # a lost or damaged database stops here, in one line
        chosen = _config(opened.config_path, overrides)
        _check_prices(chosen)
        opened.config_path.write_text(to_toml(chosen))
        _drive(Engine(opened, chosen))


def status(run_dir: Path = typer.Argument(..., help="a run directory"),
           follow: bool = typer.Option(False, "--follow", "-f", help="keep the headline on screen while the run goes"),
           interval: float = typer.Option(5.0, help="seconds between refreshes with --follow")) -> None:
    """Where a run stands: step, archive size, best score, cost, rate, ETA."""
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from archive.check import require_commits
    from dgm.run_dir import open_run
    from dgm.run_status import run_status
    from dgm.verification import spending_lines

    opened = open_run(run_dir)
    require_commits(opened.db(), opened.genomes())  # a lost database or lost commits: one line
    config = _config(opened.config_path, [])

    def headline():
        state = run_status(opened, config.run.max_steps, budget=config.budget,
                           configured_stage_sizes=config.evaluation.stage_sizes)
        lines = [Text.from_markup(f"[bold]{run_dir}[/bold]: {state.state}"), Text(state.line()),
                 Text(state.evaluations_line())]
        if state.best is not None and state.best.heldout_score is not None:
            lines.append(Text(f"best on the held-out split: {state.best.heldout_score:.2f}"))
        lines += [Text(line) for line in spending_lines(opened.db())]
        return state, Group(*lines)

    state, shown = headline()
    if not follow:
        console.print(shown, soft_wrap=True)
        return
    with Live(shown, console=console, auto_refresh=False) as live:
        while state.state in ("new", "running"):
            time.sleep(interval)
            state, shown = headline()
            live.update(shown, refresh=True)


def check(run_dir: Path = typer.Argument(..., help="a run directory")) -> None:
    """Prove the run database and the genome repository agree."""
    from archive.check import check_run
    from dgm.run_dir import open_run

    problems = check_run(open_run(run_dir).path)
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}", soft_wrap=True)
    if problems:
        raise DgmError(f"the archive check found {len(problems)} problem(s) in {run_dir}")
    console.print(f"{run_dir}: the database and genome.git agree")


def _drive(engine) -> None:
    """Run the engine with live progress; events print as lines, so a log file shows them too."""
    from archive.check import check_run
    from dgm.run_status import run_status

    opened, chosen = engine.run, engine.config
    interactive = console.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not interactive) as progress:
        bar = progress.add_task("starting", total=chosen.run.max_steps)

        def refresh() -> str:
            state = run_status(opened, chosen.run.max_steps)
            progress.update(bar, completed=state.steps_done, description=state.line())
            return state.line()

        def on_event(message: str) -> None:
            console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}", soft_wrap=True)
            line = refresh()
            if not interactive:
                console.print(f"         {line}", soft_wrap=True)

        done = threading.Event()

        def tick() -> None:
            while not done.wait(2.0):
                refresh()

        threading.Thread(target=tick, daemon=True).start()
        engine.on_event = on_event
        try:
            outcome = engine.run_loop()
        finally:
            done.set()
    problems = check_run(opened.path)
    console.print(run_status(opened, chosen.run.max_steps).line(), soft_wrap=True)
    if problems:
        raise DgmError(f"the archive check found {len(problems)} problem(s), first: {problems[0]}")
    console.print(f"run {outcome}; archive check passed. Inspect it: dgm tree {opened.path} · "
                  f"dgm report {opened.path} · dgm export {opened.path} best --out DIR", soft_wrap=True)
