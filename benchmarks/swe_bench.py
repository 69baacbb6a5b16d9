"""SWE-bench datasets a user has: a JSONL file, or a dataset name when the hub is reachable,
and predictions in the form SWE-bench's own harness grades with its own images."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from benchmarks.tasks import Task, TaskFormatError, load_tasks, parse_task


def load_swe_bench(name_or_path: str, split: str = "test") -> list[Task]:
    """Tasks from a SWE-bench JSONL file, or from a dataset name (e.g.
    `princeton-nlp/SWE-bench_Lite`) through the `datasets` package when online."""
    path = Path(name_or_path)
    if path.exists():
        return load_tasks(path)
    try:
        import datasets
    except ImportError as e:
        raise TaskFormatError(
            f"{name_or_path} is not a file, and loading a dataset by name needs the `datasets` "
            "package (pip install datasets) and access to its hub"
        ) from e
    rows = datasets.load_dataset(name_or_path, split=split)
    return [parse_task(dict(row), f"{name_or_path}[{split}] row {i}") for i, row in enumerate(rows)]


def write_predictions(path: Path, patches: Iterable[tuple[str, str]], model_name: str) -> Path:
    """`{instance_id, model_name_or_path, model_patch}` per line: the input of
    `python -m swebench.harness.run_evaluation --predictions_path PATH`."""
    with path.open("w") as f:
        for instance_id, patch in patches:
            f.write(json.dumps({"instance_id": instance_id, "model_name_or_path": model_name,
                                "model_patch": patch}) + "\n")
    return path
