"""A map of a repository's most important definitions, ranked by PageRank over which files use
which files' symbols, cut to a token budget. Tests are left out of the ranking (they use
everything, so they would rank first).

Everything comes from the index as stored (no re-parsing), and the graph is a scipy sparse
matrix: networkx's graph and pagerank took seconds on the standard library."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from tools.code_index import CodeIndex


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return any(p in ("test", "tests") for p in parts[:-1]) or parts[-1].startswith("test_") or parts[-1].endswith("_test.py")


def pagerank(matrix: sparse.spmatrix, personalization: np.ndarray | None = None,
             damping: float = 0.85, iterations: int = 100, tol: float = 1e-9) -> np.ndarray:
    """Power iteration; `matrix[a, b]` is the weight of the edge a -> b."""
    n = matrix.shape[0]
    if n == 0:
        return np.zeros(0)
    out = np.asarray(matrix.sum(axis=1)).ravel()
    dangling = out == 0
    # column-stochastic transpose: rank flows from a to b in proportion to a's edge weights
    flow = (sparse.diags(np.where(dangling, 0, 1 / np.where(dangling, 1, out))) @ matrix).T.tocsr()
    p = personalization if personalization is not None and personalization.sum() else np.ones(n)
    p = p / p.sum()
    rank = np.ones(n) / n
    for _ in range(iterations):
        new = damping * (flow @ rank + rank[dangling].sum() * p) + (1 - damping) * p
        if np.abs(new - rank).sum() < tol:
            return new
        rank = new
    return rank


def file_graph(index: CodeIndex) -> tuple[list[str], sparse.csr_matrix]:
    """Non-test files and the matrix whose [a, b] counts the references file a makes to names
    file b defines (a != b)."""
    per_file = {path: result for path, result in index.per_file().items() if not _is_test(path)}
    paths = sorted(per_file)
    where = {path: i for i, path in enumerate(paths)}
    name_id: dict[str, int] = {}
    def_rows, def_cols = [], []  # name x file: which file defines which name
    for path, (defs, _) in per_file.items():
        for name in {d[0] for d in defs}:
            def_rows.append(name_id.setdefault(name, len(name_id)))
            def_cols.append(where[path])
    use_rows, use_cols, counts = [], [], []  # file x name: how often a file uses a defined name
    for path, (_, refs) in per_file.items():
        used = refs.keys() & name_id.keys()
        use_rows += [where[path]] * len(used)
        use_cols += [name_id[name] for name in used]
        counts += [refs[name] for name in used]
    n, m = len(paths), len(name_id)
    uses = sparse.csr_matrix((counts, (use_rows, use_cols)), shape=(n, m), dtype=np.float64)
    defines = sparse.csr_matrix((np.ones(len(def_rows)), (def_rows, def_cols)), shape=(m, n))
    graph = (uses @ defines).tolil()
    graph.setdiag(0)
    return paths, graph.tocsr()


def repo_map(index: CodeIndex, token_budget: int = 1024, focus: Sequence[str] = ()) -> str:
    """Files by rank, each with its definitions' signature lines, until the budget is used.
    `focus` (file paths or symbol names) personalises the ranking toward them."""
    paths, graph = file_graph(index)
    personal = None
    if focus:
        wanted = set(focus)
        hits = {s.path for name in wanted for s in index.definitions(name, limit=10**6)} | wanted
        personal = np.array([1.0 if p in hits else 0.0 for p in paths])
    ranks = pagerank(graph, personal)
    per_file = index.per_file()
    out, used = [], 0
    for i in sorted(range(len(paths)), key=lambda i: (-ranks[i], paths[i])):
        path = paths[i]
        block = path + ":\n" + "".join(f"  {d[2]}: {d[4]}\n" for d in per_file[path][0])
        cost = len(block) // 4
        if used + cost > token_budget:
            if not out:
                out.append(block[: token_budget * 4])
            break
        out.append(block)
        used += cost
    return "".join(out)
