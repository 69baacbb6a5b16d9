"""An index of a repository's code: definitions, references, and lookups by exact or fuzzy
name.

Python files are read by `python_scan` (regular expressions over Python's layout, a quarter of
tree-sitter's CPU, the same answers), unless their layout needs a parse; other languages and
those files get one tree-sitter parse and one query.

Each file's result is stored once per content hash, in packs (`packs-*/`: one file per batch of
parsed files, hashes first), so re-indexing parses only new content, and any index that shares
the cache directory (another variant, another agent on the same task) reuses what was parsed
before. A manifest per repository keeps each file's size, mtime, hash and pack, so an unchanged
file is not even read. New files are parsed on all cores (processes: threads do not speed the
parse up), each worker writing its own pack.

Languages come from the per-language grammar wheels (tree-sitter-python, -javascript,
-typescript, -go, -rust, -java), which ship their grammars; nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib
import keyword
import marshal
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from tools import python_scan

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", "build", "dist", ".tox", ".dgm-index",
             ".mypy_cache", ".pytest_cache", "target"}
MAX_BYTES = 1_000_000
PARALLEL_FROM = 64  # files to parse before a process pool pays for its start-up
# Packs made by another version of the index code (or another Python's marshal) are never read.
FORMAT = hashlib.sha1(Path(__file__).read_bytes() + Path(python_scan.__file__).read_bytes()
                      + sys.version.encode()).hexdigest()[:12]
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
# Text that is not code: names inside it are not references.
NOT_CODE = ("comment", "line_comment", "block_comment", "string", "template_string", "string_literal",
            "raw_string_literal", "interpreted_string_literal", "text_block")
# A word is a run of name characters: a name, or a number (dropped when counted); bytes >= 0x80
# are UTF-8 parts of names. Turning every other byte into a space and splitting finds the words
# at twice the speed of a regex.
_WORDS_ONLY = bytes(b if b >= 0x80 or b == 0x5F or chr(b).isalnum() else 32 for b in range(256))
_BLANK = bytes(b if b == 10 else 32 for b in range(256))  # keeps line breaks, blanks the rest
PYTHON_KEYWORDS = frozenset(w.encode() for w in keyword.kwlist)  # exact (the grammar also has print, type, match)


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # function | class | method | ... for definitions; "reference" for uses
    path: str
    line: int  # 1-based
    end_line: int
    text: str  # the source line


@dataclass
class _Grammar:
    parser: object
    query: object  # captures definitions (@def) and comments and strings (@skip) in one pass
    keywords: frozenset[bytes]


_grammars: dict[str, _Grammar] = {}


def _grammar(ext: str) -> _Grammar:
    if ext not in _grammars:
        from tree_sitter import Language, Parser, Query

        module, function = GRAMMARS[ext]
        language = Language(getattr(importlib.import_module(module), function)())
        patterns = [f"({t}) @{capture}" for types, capture in ((DEFINITIONS, "def"), (NOT_CODE, "skip"))
                    for t in types if language.id_for_node_kind(t, True)]
        # The grammar's anonymous word tokens are its keywords (func, return, ...); Python's own
        # list is exact (its grammar also has tokens for names such as print, type and match).
        keywords = PYTHON_KEYWORDS if ext == ".py" else frozenset(
            w.encode() for i in range(language.node_kind_count) if not language.node_kind_is_named(i)
            and (w := language.node_kind_for_id(i)) and re.fullmatch(r"\w+", w))
        _grammars[ext] = _Grammar(Parser(language), Query(language, " ".join(patterns)), keywords)
    return _grammars[ext]


def _inside_class(node) -> bool:
    parent = node.parent
    while parent is not None and parent.type in ("decorated_definition", "block", "class_body"):
        if parent.type in ("block", "class_body") and parent.parent is not None \
                and parent.parent.type in ("class_definition", "class_declaration"):
            return True
        parent = parent.parent
    return False


def _scan(path: str, data: bytes) -> tuple[frozenset[bytes], list[tuple], bytes]:
    """The language's keywords, the file's definitions `(name, kind, line, end_line, text,
    name_line)` (name as bytes) and its text with comments and strings blanked (line breaks
    kept). Python goes through `python_scan` unless its layout needs a parse; everything else
    takes one tree-sitter parse and one query."""
    if path.endswith(".py") and (scanned := python_scan.scan(data)) is not None:
        return PYTHON_KEYWORDS, *scanned
    return scan_with_tree_sitter(path, data)


def scan_with_tree_sitter(path: str, data: bytes) -> tuple[frozenset[bytes], list[tuple], bytes]:
    """`_scan` by tree-sitter alone (what `python_scan` is checked against)."""
    from tree_sitter import QueryCursor

    grammar = _grammar(os.path.splitext(path)[1])
    captures = QueryCursor(grammar.query).captures(grammar.parser.parse(data).root_node)
    pieces, done = [], 0
    for node in sorted(captures.get("skip", []), key=lambda n: n.start_byte):
        start, end = max(node.start_byte, done), node.end_byte
        if end > start:
            pieces += (data[done:start], data[start:end].translate(_BLANK))
            done = end
    pieces.append(data[done:])
    lines = data.split(b"\n")
    defs = []
    for node in sorted(captures.get("def", []), key=lambda n: n.start_byte):
        name = node.child_by_field_name("name")
        if name is None:
            continue
        kind = DEFINITIONS[node.type]
        if kind == "function" and _inside_class(node):
            kind = "method"
        row = node.start_point[0]
        defs.append((name.text, kind, row + 1, node.end_point[0] + 1, lines[row].decode(errors="replace").strip(),
                     name.start_point[0] + 1))
    return grammar.keywords, defs, b"".join(pieces)


def parse_file(path: str, data: bytes) -> tuple[list[tuple], dict[str, int]]:
    """Definitions `(name, kind, line, end_line, text)` of one file and how often it uses each
    name `{name: count}`: every name outside comments and strings that is not a keyword and not
    a definition's own name. Where the uses are is found at query time (`reference_lines`): a
    regex over the text costs a fraction of visiting every identifier node from Python."""
    keywords, defs, code = _scan(path, data)
    uses = Counter(code.translate(_WORDS_ONLY).split())
    for d in defs:
        uses[d[0]] -= 1
    return [(d[0].decode(errors="replace"),) + d[1:5] for d in defs], {
        name.decode(errors="replace"): n for name, n in uses.items() if n > 0 and not name[:1].isdigit() and name not in keywords}


def reference_lines(path: str, data: bytes, name: str) -> list[int]:
    """The lines (1-based) where `name` is used in the file, as `parse_file` counts uses."""
    _, defs, code = _scan(path, data)
    own = {d[5] for d in defs if d[0] == name.encode()}
    word = re.compile(rb"(?<![\w\x80-\xff])" + re.escape(name.encode()) + rb"(?![\w\x80-\xff])")
    found = []
    for number, line in enumerate(code.split(b"\n"), 1):
        count = len(word.findall(line)) - (number in own)
        found += [number] * max(count, 0)
    return found


def _write_atomic(path: Path, data: bytes) -> None:
    """Never a half-written file, and never through a name someone else planted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_pack(packs: Path, results: list[tuple[str, tuple]]) -> str:
    """Store `(content hash, result)` pairs as one file: the hashes' length, the hashes, then the
    results (so the hashes are read without the results). Returns its name."""
    hashes = [digest for digest, _ in results]
    name = hashlib.sha1("".join(hashes).encode()).hexdigest()[:20]
    head = marshal.dumps(hashes)
    _write_atomic(packs / name, len(head).to_bytes(8, "little") + head + marshal.dumps([result for _, result in results]))
    return name


def _read_pack(pack: Path, with_results: bool = True) -> dict[str, tuple | None]:
    # marshal.loads of the bytes, not marshal.load of the file: that reads in small pieces, 5x slower
    data = memoryview(pack.read_bytes())
    size = int.from_bytes(data[:8], "little")
    hashes = marshal.loads(data[8:8 + size])
    return dict(zip(hashes, marshal.loads(data[8 + size:]))) if with_results else dict.fromkeys(hashes)


def _parse_batch(job: tuple[str, str, list[str]]) -> tuple[str, bytes]:
    """Parse the files and store them as one pack (in a worker, which writes its own pack, so
    there is one file per batch to create). Returns the pack's name and `[(path, content hash,
    result)]`, marshalled. The hash is of the bytes parsed here, so a file changed since it was
    listed is stored as what it now is."""
    root, packs, paths = job
    parsed = []
    for path in paths:
        data = Path(root, path).read_bytes()
        parsed.append((path, hashlib.sha1(data).hexdigest(), parse_file(path, data)))
    return _write_pack(Path(packs), [(digest, result) for _, digest, result in parsed]), marshal.dumps(parsed)


class CodeIndex:
    def __init__(self, root: Path, cache_dir: Path | None = None) -> None:
        self.root = root.resolve()
        cache = cache_dir or self.root / ".dgm-index"
        self.packs = cache / f"packs-{FORMAT}"
        self.manifest_file = cache / f"manifest-{FORMAT}-{hashlib.sha1(str(self.root).encode()).hexdigest()[:12]}"
        self._files: dict[str, tuple[int, int, str, str]] = {}  # path -> (size, mtime_ns, content hash, pack)
        try:
            self._files = marshal.loads(self.manifest_file.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            self._files = {}
        self._loaded: dict[str, tuple[list[tuple], dict[str, int]]] = {}  # content hash -> result
        self._cached: tuple | None = None
        self._repaired = False  # a damaged pack's content was parsed again: the manifest is rewritten

    def _walk(self) -> dict[str, os.stat_result]:
        found = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in filenames:
                if os.path.splitext(name)[1] in GRAMMARS:
                    full = os.path.join(dirpath, name)
                    stat = os.stat(full)
                    if stat.st_size <= MAX_BYTES:
                        found[os.path.relpath(full, self.root)] = stat
        return found

    def _stored(self) -> dict[str, str]:
        """Content hash -> pack, for every pack in the cache (other indexes' too)."""
        found: dict[str, str] = {}
        for name in sorted(os.listdir(self.packs)) if self.packs.is_dir() else ():
            if not name.startswith("."):
                try:
                    found.update(dict.fromkeys(_read_pack(self.packs / name, with_results=False), name))
                except (OSError, ValueError, EOFError, TypeError):  # damaged: its content is parsed again
                    pass
        return found

    def refresh(self) -> int:
        """Re-read the tree; parse only content no index in this cache has seen. Returns how many
        files were parsed."""
        files, changed = {}, []
        for path, stat in self._walk().items():
            known = self._files.get(path)
            if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
                files[path] = known
            else:
                changed.append((path, stat))
        # the largest first, so no worker is left with a big one at the end
        changed.sort(key=lambda item: -item[1].st_size)
        workers = os.cpu_count() or 1
        jobs = ((str(self.root), str(self.packs), batch)
                for batch in self._new_content(changed, files, sum(s.st_size for _, s in changed) // (8 * workers) + 1))
        if len(changed) >= PARALLEL_FROM and workers > 1:
            # map submits each batch as it is hashed, so the workers start while this process
            # still reads; a pool that gets no batch starts no process
            with ProcessPoolExecutor(workers) as pool:
                results = list(pool.map(_parse_batch, jobs))
        else:
            results = [_parse_batch(job) for job in jobs]
        stored = {}
        for pack, blob in results:
            for path, digest, result in marshal.loads(blob):
                files[path] = files[path][:2] + (digest, pack)
                stored[digest] = pack
                self._loaded[digest] = result
        # a file with the same content as one parsed above is in that one's pack
        files = {path: entry if entry[3] else entry[:3] + (stored.get(entry[2], ""),) for path, entry in files.items()}
        if files != self._files or not self.manifest_file.exists():
            _write_atomic(self.manifest_file, marshal.dumps(files))
        if files != self._files:
            self._cached = None
        self._files = files
        return len(stored)

    def _new_content(self, changed: list[tuple[str, os.stat_result]], files: dict[str, tuple[int, int, str, str]],
                     batch_bytes: int) -> Iterator[list[str]]:
        """Hash each changed file into `files`; yield the paths of content not stored yet, in
        batches of about `batch_bytes`."""
        known = {entry[2]: entry[3] for entry in self._files.values()}
        stored = None  # the other packs' hashes, read when first needed
        batch, size, seen = [], 0, set()
        for path, stat in changed:
            digest = hashlib.sha1((self.root / path).read_bytes()).hexdigest()
            if digest not in known:
                stored = self._stored() if stored is None else stored
                known[digest] = stored.get(digest, "")
            files[path] = (stat.st_size, stat.st_mtime_ns, digest, known[digest])
            if known[digest] or digest in seen:
                continue
            seen.add(digest)
            batch.append(path)
            size += stat.st_size
            if size >= batch_bytes:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def files(self) -> list[str]:
        return sorted(self._files)

    def _result(self, path: str) -> tuple[list[tuple], dict[str, int]]:
        size, mtime, digest, pack = self._files[path]
        if digest not in self._loaded:
            try:
                self._loaded.update(_read_pack(self.packs / pack))
            except (OSError, ValueError, EOFError, TypeError):
                pass
        if digest not in self._loaded:  # lost or damaged: parse it again, and store it again
            pack, blob = _parse_batch((str(self.root), str(self.packs), [path]))
            ((_, digest, result),) = marshal.loads(blob)
            self._files[path] = (size, mtime, digest, pack)
            self._loaded[digest] = result
            self._repaired = True
        return self._loaded[digest]

    def per_file(self) -> dict[str, tuple[list[tuple], dict[str, int]]]:
        """Each file's definitions and references as stored (see `parse_file`), by path."""
        self._repaired = False
        found = {path: self._result(path) for path in sorted(self._files)}
        if self._repaired:
            _write_atomic(self.manifest_file, marshal.dumps(self._files))
        return found

    def _tables(self) -> tuple[dict[str, list[tuple]], list[str], list[str]]:
        """Definitions by name (as `(path, def)` pairs), the names, and the names lower-cased
        for fuzzy lookup; built once per change."""
        if self._cached is None:
            by_name: dict[str, list[tuple]] = {}
            for path, (defs, _) in self.per_file().items():
                for d in defs:
                    by_name.setdefault(d[0], []).append((path, d))
            names = sorted(by_name)
            self._cached = (by_name, names, [n.lower() for n in names])
        return self._cached

    def all_definitions(self) -> list[Symbol]:
        return [Symbol(name, kind, path, line, end, text)
                for path, (defs, _) in self.per_file().items() for name, kind, line, end, text in defs]

    def definitions(self, name: str, fuzzy: bool = False, limit: int = 20) -> list[Symbol]:
        by_name, names, folded = self._tables()
        found = by_name.get(name, [])
        if not found and fuzzy:
            # plain edit-distance ratio over a prepared lower-cased list: ~15x faster than WRatio,
            # whose partial matching also ranked two-letter names first for a misspelt long one
            close = process.extract(name.lower(), folded, scorer=fuzz.ratio, limit=limit, score_cutoff=60)
            found = [pair for _, _, i in close for pair in by_name[names[i]]]
        return [Symbol(n, kind, path, line, end, text) for path, (n, kind, line, end, text) in found[:limit]]

    def references(self, name: str, limit: int = 50) -> list[Symbol]:
        """Where `name` is used (not where it is defined): the files come from the index, the
        lines from a scan of just those files."""
        found = []
        for path, (_, uses) in self.per_file().items():
            if name in uses:
                data = (self.root / path).read_bytes()
                text = data.split(b"\n")
                found += [Symbol(name, "reference", path, line, line, text[line - 1].decode(errors="replace").strip())
                          for line in dict.fromkeys(reference_lines(path, data, name))]
                if len(found) >= limit:
                    break
        return found[:limit]
