"""Grading patches made elsewhere: SWE-bench's predictions format (JSONL, or a JSON list, of
`{instance_id, model_name_or_path, model_patch}`) on any suite kind, by the suite's own grader,
so another agent's predictions are scored on dgm's suites exactly as dgm's own patches are."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from benchmarks.grader import GradeResult
from benchmarks.task_suite import TaskSuite
from dgm.errors import DgmError
from sandbox.pool import ContainerPool


class PredictionsError(DgmError):
    """A predictions file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Prediction:
    instance_id: str
    model: str
    patch: str


def read_predictions(path: Path, known: Collection[str]) -> list[Prediction]:
    """Every prediction in `path`, checked: an object per line (or per item of a JSON list) with a
    string `instance_id` among `known`, a string (or null, i.e. empty) `model_patch`, each id once."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise PredictionsError(f"predictions file {path} cannot be read ({e})") from e
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise PredictionsError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from e
        records = [(f"{path}: item {i}", item) for i, item in enumerate(items)]
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as e:
                    raise PredictionsError(f"{path}:{number}: not valid JSON ({e.msg})") from e
    predictions, where_of = [], {}
    for where, record in records:
        prediction = _prediction(record, where)
        if prediction.instance_id not in known:
            raise PredictionsError(f"{where}: instance {prediction.instance_id!r} is not a task of the suite")
        if prediction.instance_id in where_of:
            raise PredictionsError(f"{where}: instance {prediction.instance_id!r} is predicted twice "
                                   f"(first at {where_of[prediction.instance_id]})")
        where_of[prediction.instance_id] = where
        predictions.append(prediction)
    return predictions


def _prediction(record: object, where: str) -> Prediction:
    if not isinstance(record, dict):
        raise PredictionsError(f"{where}: a prediction must be a JSON object")
    instance_id, patch = record.get("instance_id"), record.get("model_patch", "")
    model = record.get("model_name_or_path", "")
    if not isinstance(instance_id, str) or not instance_id:
        raise PredictionsError(f"{where}: field 'instance_id' must be a non-empty string")
    if patch is not None and not isinstance(patch, str):
        raise PredictionsError(f"{where}: field 'model_patch' must be a string (the diff)")
    if not isinstance(model, str):
        raise PredictionsError(f"{where}: field 'model_name_or_path' must be a string")
    return Prediction(instance_id, model, patch or "")


def grade_predictions(suite: TaskSuite, predictions: list[Prediction], out: Path, *, workers: int,
                      timeout: float, on_done: Callable[[GradeResult], None] = lambda result: None) -> dict:
    """Grade every prediction in a fresh container; writes and returns `out/results.json`: per
    instance `resolved`, `reason`, `dropped_paths` (and `applied`, `model_name_or_path`)."""
    tasks = {task.instance_id: task for task in suite.tasks()}

    def run(prediction: Prediction) -> GradeResult:
        return suite.grade(tasks[prediction.instance_id], prediction.patch, timeout=timeout, run_id="grade",
                           log_dir=out / "logs" / prediction.instance_id)

    results = {}
    for prediction, result in ContainerPool(workers).map_unordered(run, predictions):
        if isinstance(result, BaseException):
            result = GradeResult(prediction.instance_id, resolved=False, applied=False,
                                 reason=f"could not be graded: {result}")
        on_done(result)
        results[prediction.instance_id] = {
            "resolved": result.resolved, "reason": result.reason, "dropped_paths": list(result.dropped_paths),
            "applied": result.applied, "model_name_or_path": prediction.model,
            "fail_to_pass": result.fail_to_pass, "pass_to_pass": result.pass_to_pass,
        }
    results = dict(sorted(results.items()))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return results
