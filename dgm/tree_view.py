"""The lineage as a rich tree in the terminal, best path highlighted."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from rich.tree import Tree

from dgm.run_view import VariantView, best_variant, path_to


def _label(v: VariantView, on_best_path: bool, is_best: bool) -> Text:
    score = "  -  " if v.score is None else f"{v.score:5.2f}"
    colour = "red" if v.status == "failed" else "yellow" if v.status != "admitted" else "green"
    text = Text()
    text.append(v.id, style="bold magenta" if on_best_path else "bold")
    text.append(f"  score {score}  stage {v.stage}  ")
    text.append(v.status, style=colour)
    if is_best:
        text.append("  ★ best", style="bold magenta")
    about = v.fail_reason if v.status == "failed" and v.fail_reason else v.summary
    if about:
        text.append(f"  {about[:90]}", style="dim")
    return text


def lineage_tree(variants: Sequence[VariantView], title: str) -> Tree:
    best = best_variant(variants)
    best_path = set(path_to(variants, best.id if best else None))
    children: dict[str | None, list[VariantView]] = {}
    for v in sorted(variants, key=lambda v: (v.step, v.id)):
        children.setdefault(v.parent_id, []).append(v)
    tree = Tree(Text(title, style="bold"))

    def add(node: Tree, parent: str | None) -> None:
        for v in children.get(parent, []):
            add(node.add(_label(v, v.id in best_path, best is not None and v.id == best.id),
                         guide_style="magenta" if v.id in best_path else "dim"), v.id)

    add(tree, None)
    return tree
