"""The evaluation cache: the seed's evaluations reused across runs, so a second run on the same
suite starts its first child at once instead of paying the seed's whole evaluation again.

An entry is keyed by everything that decides an evaluation: the genome's git tree, the task (its
suite record), the content ids of its image and of the sandbox image, the model and agent
settings, and the source of the harness that runs and grades it (a changed grader never reuses
old verdicts). It holds the result and a copy of the evaluation's logs, so `dgm show` of the new
run still leads to them. Entries are written to a private temporary directory and renamed into
place in one step: a reader sees a whole entry or none, and two runs storing the same entry keep
the first.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.tasks import Task
from dgm.eval_record import RESULT_FILE, is_infrastructure_failure, read_result, write_result
from dgm.evaluation import EvalResult
from dgm.user_cache import user_cache
from sandbox.engine import docker_client

HARNESS = Path(__file__).resolve().parent.parent  # benchmarks/ and sandbox/ run and grade every evaluation
ENV_DIR = "DGM_CACHE_DIR"  # overrides the user's cache directory (the cache is ENV_DIR/evaluations)


def default_dir() -> Path:
    """$DGM_CACHE_DIR/evaluations, else the XDG user cache: ~/.cache/dgm/evaluations."""
    return Path(os.environ[ENV_DIR]) / "evaluations" if os.environ.get(ENV_DIR) else user_cache("evaluations")


@functools.cache
def harness_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([*HARNESS.glob("benchmarks/**/*.py"), *HARNESS.glob("sandbox/**/*.py")]):
        digest.update(path.relative_to(HARNESS).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def image_id(tag: str) -> str:
    """The content id of the image Docker holds under `tag`."""
    return docker_client().images.get(tag).id


def entry_key(tree: str, task: Task, image: str, settings: dict) -> str:
    """The hash of what decides an evaluation's outcome; `settings` holds the model and agent ones."""
    record = {"tree": tree, "task": dataclasses.asdict(task), "image": image, "settings": settings,
              "harness": harness_digest()}
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class EvalCache:
    root: Path

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def fetch(self, key: str, log_dir: Path) -> EvalResult | None:
        """The cached result with its logs copied into `log_dir`, or None on a miss."""
        entry = self._entry(key)
        result = read_result(entry)
        if result is None:
            return None
        if (entry / "logs").is_dir():
            shutil.copytree(entry / "logs", log_dir, symlinks=True, dirs_exist_ok=True)
        write_result(log_dir, result)
        return result

    def store(self, key: str, result: EvalResult, log_dir: Path) -> bool:
        """Keep a result and its logs; infrastructure failures are not results and are not kept."""
        if is_infrastructure_failure(result.agent_exit, result.reason):
            return False
        entry = self._entry(key)
        if entry.exists():
            return False
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=entry.parent))  # 0700, ours alone
        try:
            if log_dir.is_dir():
                shutil.copytree(log_dir, staging / "logs", symlinks=True,
                                ignore=shutil.ignore_patterns(RESULT_FILE))
            write_result(staging, result)
            os.rename(staging, entry)  # atomic; fails if another run stored it first
            return True
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            return False


def cache_for(evaluation) -> EvalCache | None:
    """The cache an `EvaluationConfig` asks for, or None when it is switched off."""
    if not evaluation.cache:
        return None
    return EvalCache(Path(evaluation.cache_dir).expanduser() if evaluation.cache_dir else default_dir())
