"""A tree-sitter index of a repository: definitions, references, and lookups by exact or fuzzy
name. Per-file results are keyed by content hash, so re-indexing parses only changed files.

Languages come from the per-language grammar wheels (tree-sitter-python, -javascript,
-typescript, -go, -rust, -java), which ship their grammars; nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "build", "dist", ".tox", ".dgm-index",
             ".mypy_cache", ".pytest_cache", "target"}
MAX_BYTES = 1_000_000
PARALLEL_FROM = 200  # files to parse before a process pool pays for its start-up
# extension -> (grammar module, language function)
GRAMMARS = {
    ".py": ("tree_sitter_python", "language"), ".js": ("tree_sitter_javascript", "language"),
    ".jsx": ("tree_sitter_javascript", "language"), ".ts": ("tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx"), ".go": ("tree_sitter_go", "language"),
    ".rs": ("tree_sitter_rust", "language"), ".java": ("tree_sitter_java", "language"),
}
# node type -> kind of definition; the name is the node's `name` field
DEFINITIONS = {
    "function_definition": "function", "class_definition": "class",  # Python
    "function_declaration": "function", "class_declaration": "class", "method_definition": "method",
    "interface_declaration": "interface", "type_alias_declaration": "type",  # JS/TS (+Java classes)
    "method_declaration": "method", "type_spec": "type",  # Go, Java
    "function_item": "function", "struct_item": "struct", "enum_item": "enum", "trait_item": "trait",  # Rust
    "enum_declaration": "enum", "constructor_declaration": "method",  # Java
}
IDENTIFIERS = {"identifier", "field_identifier", "property_identifier", "type_identifier"}


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # function | class | method | ... for definitions; "reference" for uses
    path: str
    line: int  # 1-based
    end_line: int
    text: str  # the source line


_parsers: dict[str, object] = {}


def _parser(ext: str):
    if ext not in _parsers:
        from tree_sitter import Language, Parser

        module, function = GRAMMARS[ext]
        _parsers[ext] = Parser(Language(getattr(importlib.import_module(module), function)()))
    return _parsers[ext]


def _inside_class(node) -> bool:
    parent = node.parent
    while parent is not None and parent.type in ("decorated_definition", "block", "class_body"):
        if parent.type in ("block", "class_body") and parent.parent is not None \
                and parent.parent.type in ("class_definition", "class_declaration"):
            return True
        parent = parent.parent
    return False


def parse_file(path: str, data: bytes) -> dict[str, list[list]]:
    """Definitions and references of one file, as plain lists (cacheable as JSON)."""
    tree = _parser(os.path.splitext(path)[1]).parse(data)
    lines = data.decode(errors="replace").splitlines()
    defs, refs = [], []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        kind = DEFINITIONS.get(node.type)
        name_node = node.child_by_field_name("name") if kind else None
        if kind and name_node is not None:
            if kind == "function" and _inside_class(node):
                kind = "method"
            row = node.start_point[0]
            defs.append([name_node.text.decode(errors="replace"), kind, row + 1, node.end_point[0] + 1,
                         lines[row].strip() if row < len(lines) else ""])
        elif node.type in IDENTIFIERS:
            parent = node.parent
            is_def_name = parent is not None and parent.type in DEFINITIONS and parent.child_by_field_name("name") == node
            if not is_def_name:
                row = node.start_point[0]
                refs.append([node.text.decode(errors="replace"), row + 1, lines[row].strip() if row < len(lines) else ""])
        stack.extend(reversed(node.children))
    return {"defs": defs, "refs": refs}


def _parse_job(job: tuple[str, bytes]) -> dict[str, list[list]]:
    return parse_file(*job)


class CodeIndex:
    def __init__(self, root: Path, cache_dir: Path | None = None) -> None:
        self.root = root.resolve()
        self.cache_file = (cache_dir or self.root / ".dgm-index") / "index.json"
        self._by_hash: dict[str, dict] = {}
        self._files: dict[str, str] = {}  # path -> content hash
        self._cached: tuple | None = None
        if self.cache_file.exists():
            try:
                self._by_hash = json.loads(self.cache_file.read_text())
            except (OSError, ValueError):
                self._by_hash = {}

    def _walk(self) -> list[str]:
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if os.path.splitext(name)[1] in GRAMMARS:
                    full = os.path.join(dirpath, name)
                    if os.path.getsize(full) <= MAX_BYTES:
                        found.append(os.path.relpath(full, self.root))
        return found

    def refresh(self) -> int:
        """Re-read the tree; parse only files whose content is new. Returns how many were parsed."""
        files, todo = {}, {}
        for path in self._walk():
            data = (self.root / path).read_bytes()
            digest = hashlib.sha1(data).hexdigest()
            if digest not in self._by_hash:
                todo[digest] = (path, data)
            files[path] = digest
        if len(todo) >= PARALLEL_FROM:
            # Threads do not speed up tree-sitter parsing; processes do.
            with ProcessPoolExecutor(os.cpu_count()) as pool:
                results = pool.map(_parse_job, todo.values(), chunksize=32)
                self._by_hash.update(zip(todo, results))
        else:
            self._by_hash.update((digest, parse_file(*job)) for digest, job in todo.items())
        parsed = len(todo)
        self._files = files
        self._cached = None
        live = set(files.values())
        self._by_hash = {h: v for h, v in self._by_hash.items() if h in live}
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._by_hash))
        tmp.replace(self.cache_file)
        return parsed

    def files(self) -> list[str]:
        return sorted(self._files)

    def _tables(self) -> tuple[list[Symbol], dict[str, list[Symbol]], dict[str, list[Symbol]]]:
        """Definitions and name-keyed lookups, built once per refresh."""
        if self._cached is None:
            defs = [Symbol(name, kind, path, line, end, text)
                    for path, digest in sorted(self._files.items())
                    for name, kind, line, end, text in self._by_hash[digest]["defs"]]
            defs_by_name: dict[str, list[Symbol]] = {}
            for symbol in defs:
                defs_by_name.setdefault(symbol.name, []).append(symbol)
            refs_by_name: dict[str, list[Symbol]] = {}
            for path, digest in sorted(self._files.items()):
                for name, line, text in self._by_hash[digest]["refs"]:
                    refs_by_name.setdefault(name, []).append(Symbol(name, "reference", path, line, line, text))
            self._cached = (defs, defs_by_name, refs_by_name)
        return self._cached

    def all_definitions(self) -> list[Symbol]:
        return self._tables()[0]

    def all_references(self) -> list[Symbol]:
        return [s for refs in self._tables()[2].values() for s in refs]

    def definitions(self, name: str, fuzzy: bool = False, limit: int = 20) -> list[Symbol]:
        _, by_name, _ = self._tables()
        exact = by_name.get(name, [])
        if exact or not fuzzy:
            return exact[:limit]
        close = process.extract(name, list(by_name), scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
        return [s for match, _, _ in close for s in by_name[match]][:limit]

    def references(self, name: str, limit: int = 50) -> list[Symbol]:
        """Where `name` is used (not where it is defined)."""
        return self._tables()[2].get(name, [])[:limit]
