"""`dgm tree`, `show`, `diff`, `report` and `export`: look into a run, take its best agent out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from dgm.errors import DgmError

console = Console()
BEST_NOTE = ("'best' is the variant with the highest score on the largest stage it completed "
             "(ties go to the better held-out score).")


def register(app: typer.Typer) -> None:
    app.command("tree")(tree)
    app.command("show")(show)
    app.command("diff")(diff)
    app.command("report")(report)
    app.command("export")(export)


def tree(run: Path = typer.Argument(..., help="a run directory")) -> None:
    """The lineage in the terminal, best path highlighted."""
    from dgm.run_dir import open_run, variant_views
    from dgm.tree_view import lineage_tree

    console.print(lineage_tree(variant_views(open_run(run)), f"run {run.name}"))


def show(run: Path = typer.Argument(...), variant: str = typer.Argument(..., help="a variant id or prefix")) -> None:
    """A variant's diff against its parent, diagnosis, per-task results, cost and logs."""
    from dgm.run_dir import find_variant, open_run, variant_views
    from dgm.verification import tries_line

    opened = open_run(run)
    v = find_variant(variant_views(opened), variant)
    db = opened.db()
    score = "-" if v.score is None else f"{v.score:.2f}"
    console.print(f"[bold]{v.id}[/bold]  parent {v.parent_id or '(seed)'}  step {v.step}  {v.status}"
                  f"{' (' + v.fail_reason + ')' if v.fail_reason else ''}  score {score} on stage {v.stage}  "
                  f"cost ${v.cost:.4f}")
    console.print(f"[bold]diagnosis[/bold]: {v.diagnosis or v.summary or '(seed)'}")
    console.print(Syntax(v.diff or "(no diff)", "diff", word_wrap=True))
    verification = tries_line(db, v.id, db.variant(v.id).diagnosis_task)
    if verification:
        console.print(verification, soft_wrap=True)
    reused = {task for variant_id, task in db.reused_evaluations() if variant_id == v.id}
    table = Table(title="per-task results")
    table.add_column("task")
    table.add_column("resolved")
    table.add_column("logs")
    for task, resolved in sorted(v.results.items()):
        table.add_row(task, ("yes" if resolved else "no") + (" (reused from the cache)" if task in reused else ""),
                      str(opened.logs(v.id, task)))
    console.print(table)


def diff(run: Path = typer.Argument(...), a: str = typer.Argument(...), b: str = typer.Argument(...)) -> None:
    """The change between any two variants."""
    from dgm.run_dir import open_run

    opened = open_run(run)
    db, repo = opened.db(), opened.genomes()
    shas = []
    for wanted in (a, b):
        row = next((r for r in db.variants() if r.id == wanted or r.id.startswith(wanted)), None)
        if row is None or row.commit_sha is None:
            raise DgmError(f"variant {wanted!r} has no commit in {run} (failed children are never committed)")
        shas.append(row.commit_sha)
    console.print(Syntax(repo.diff(*shas), "diff", word_wrap=True))


def report(run: Path = typer.Argument(...), out: Path = typer.Option(None, help="default: RUN/report.html"),
           svg: Path = typer.Option(None, help="also write tree.svg, score.svg, matrix.svg and cost.svg here"),
           json_data: bool = typer.Option(False, "--json", help="also write the data the page is drawn from, "
                                                                  "report.json beside the page")) -> None:
    """One self-contained HTML file: the lineage, score and cost, the task × variant matrix, every node's details."""
    from dgm.config import load_config
    from dgm.report import report_data, write_json, write_report, write_svgs
    from dgm.run_dir import open_run

    opened = open_run(run)
    config = load_config(opened.config_path if opened.config_path.exists() else None)
    data = report_data(opened, f"dgm run {run.name}", config.budget,
                       config.evaluation.stage_sizes)
    target = write_report(data, out or run / "report.html")
    console.print(f"report: {target}", soft_wrap=True)  # paths whole, for copying
    if svg is not None:
        console.print(f"figures: {', '.join(str(p) for p in write_svgs(data, svg))}", soft_wrap=True)
    if json_data:
        console.print(f"data: {write_json(data, target.with_suffix('.json'))}", soft_wrap=True)


def export(run: Path = typer.Argument(...), variant: str = typer.Argument(..., help="a variant id, or 'best'"),
           out: Path = typer.Option(..., help="a new directory for the tool")) -> None:
    """A standalone, pip-installable command-line tool made from a variant's genome."""
    import tempfile

    from dgm.config import load_config
    from dgm.export import ExportInfo, export_genome, tool_name
    from dgm.run_dir import find_variant, open_run, variant_views
    from dgm.run_view import best_variant, path_to

    opened = open_run(run)
    views = variant_views(opened)
    if variant == "best":
        chosen = best_variant(views)
        if chosen is None:
            raise DgmError(f"{run} has no admitted, scored variant yet")
        note = f"Chosen as best: {BEST_NOTE}"
        console.print(f"best: {chosen.id} (score {chosen.score:.2f} on stage {chosen.stage}). {BEST_NOTE}")
    else:
        chosen, note = find_variant(views, variant), ""
    row = opened.db().variant(chosen.id)
    if row.commit_sha is None:
        raise DgmError(f"variant {chosen.id} was never committed ({chosen.fail_reason or chosen.status})")
    config = load_config(opened.config_path if opened.config_path.exists() else None)
    by_id = {v.id: v for v in views}
    lineage = [by_id[i] for i in path_to(views, chosen.id)]
    with tempfile.TemporaryDirectory() as tmp:
        genome = opened.genomes().checkout(row.commit_sha, Path(tmp))
        export_genome(genome, out, ExportInfo(chosen, lineage, run.name, config.model.name, config.model.api_base, note))
    console.print(f"exported {chosen.id} to {out}: pip install {out} && {tool_name(chosen.id)} --help")
