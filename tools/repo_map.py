"""A map of a repository's most important definitions, ranked by PageRank over which files use
which files' symbols, cut to a token budget. Tests are left out of the ranking (they use
everything, so they would rank first)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import networkx as nx
import numpy as np
from scipy import sparse

from tools.code_index import CodeIndex


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return any(p in ("test", "tests") for p in parts[:-1]) or parts[-1].startswith("test_") or parts[-1].endswith("_test.py")


def pagerank(graph: nx.DiGraph, personalization: dict[str, float] | None = None,
             damping: float = 0.85, iterations: int = 100, tol: float = 1e-9) -> dict[str, float]:
    """Power iteration on a scipy sparse matrix: networkx's own is far slower on large graphs."""
    nodes = list(graph)
    if not nodes:
        return {}
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    rows, cols, weights = [], [], []
    for a, b, data in graph.edges(data=True):
        rows.append(index[b])
        cols.append(index[a])
        weights.append(data.get("weight", 1.0))
    matrix = sparse.csr_matrix((weights, (rows, cols)), shape=(n, n))
    out = np.asarray(matrix.sum(axis=0)).ravel()
    dangling = out == 0
    matrix = matrix @ sparse.diags(np.where(dangling, 0, 1 / np.where(dangling, 1, out)))
    p = np.array([personalization.get(node, 0.0) for node in nodes]) if personalization else np.ones(n)
    p = p / p.sum() if p.sum() else np.ones(n) / n
    rank = np.ones(n) / n
    for _ in range(iterations):
        new = damping * (matrix @ rank + rank[dangling].sum() * p) + (1 - damping) * p
        if np.abs(new - rank).sum() < tol:
            rank = new
            break
        rank = new
    return dict(zip(nodes, rank))


def file_graph(index: CodeIndex) -> nx.DiGraph:
    """file -> file edges, weighted by how many references the first makes to the second's names."""
    defined_in: dict[str, set[str]] = defaultdict(set)
    for symbol in index.all_definitions():
        if not _is_test(symbol.path):
            defined_in[symbol.name].add(symbol.path)
    graph = nx.DiGraph()
    graph.add_nodes_from(p for p in index.files() if not _is_test(p))
    for ref in index.all_references():
        if _is_test(ref.path):
            continue
        for target in defined_in.get(ref.name, ()):
            if target != ref.path:
                weight = graph.get_edge_data(ref.path, target, {"weight": 0})["weight"]
                graph.add_edge(ref.path, target, weight=weight + 1)
    return graph


def repo_map(index: CodeIndex, token_budget: int = 1024, focus: Sequence[str] = ()) -> str:
    """Files by rank, each with its definitions' signature lines, until the budget is used.
    `focus` (file paths or symbol names) personalises the ranking toward them."""
    graph = file_graph(index)
    personal = None
    if focus:
        wanted = set(focus)
        hits = {s.path for s in index.all_definitions() if s.name in wanted} | (wanted & set(graph))
        personal = {p: 1.0 for p in hits if p in graph} or None
    ranks = pagerank(graph, personal)
    by_file: dict[str, list] = defaultdict(list)
    for symbol in index.all_definitions():
        by_file[symbol.path].append(symbol)
    out, used = [], 0
    for path in sorted(ranks, key=lambda p: (-ranks[p], p)):
        block = path + ":\n" + "".join(f"  {s.line}: {s.text}\n" for s in by_file.get(path, []))
        cost = len(block) // 4
        if used + cost > token_budget:
            if not out:
                out.append(block[: token_budget * 4])
            break
        out.append(block)
        used += cost
    return "".join(out)
