"""The lineage graph, derived from the run database every time it is needed (never stored)."""

from __future__ import annotations

import networkx as nx

from archive.db import RunDB


def lineage_graph(db: RunDB) -> nx.DiGraph:
    graph = nx.DiGraph()
    for row in db.variants():
        graph.add_node(row.id, row=row)
        if row.parent_id is not None:
            graph.add_edge(row.parent_id, row.id)
    return graph


def clade(graph: nx.DiGraph, node: str) -> set[str]:
    """A variant and all its descendants."""
    return {node} | nx.descendants(graph, node)


def path_from_root(graph: nx.DiGraph, node: str) -> list[str]:
    path = [node]
    while True:
        parents = list(graph.predecessors(path[-1]))
        if not parents:
            return path[::-1]
        path.append(parents[0])
