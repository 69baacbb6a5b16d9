"""SWE-bench 5.x task repos as a suite: `evaluation.suite = "swebench:PATH"`.

A task repo (`sweb.yaml`, `tasks/<id>/{task.yaml, tests.json, problem_statement.md, gold.patch,
test.patch, eval.sh, Dockerfile}`) is read and checked by the `swebench` package itself
(`swebench.task`), and test logs are parsed by its parsers (`swebench.harness`), so a task is
read and graded as SWE-bench reads and grades it; only the containers are ours, hardened like
every other (no network, read-only root, a uid no host user has, limits, labels).

Each task runs on its own instance image (benchmarks/swebench_image.py: the image the task
names if Docker has it, else its Dockerfile built as written), checked once before any
evaluation. The agent runs in dgm's image beside it and its commands run in it, in the
environment eval.sh sets up (sandbox/exec_relay.py). With the root file system read-only,
/testbed gets its own volume in every container, which Docker fills from the image: writable,
at the path the image's installs and eval.sh expect, and gone with the container, so each
grading starts from the pristine image.

Grading follows swebench 5.0.2's run_instance: its apply chain (`git apply`, `--3way`,
`--reject`, `patch --forward --fuzz=5`, the tree reset between tries, an already-applied patch
accepted by a reverse check), the task's test_assets/ restored before the tests, its time limit
(1800 s), its log parser and verdict; the log keeps its head and its tail, so the markers and
the summary survive a flood such as eval.sh's `git show` of a parentless HEAD.

`swebench:FILE.jsonl` is published SWE-bench data with swebench 5.x's columns, run on the image
each row names (by default the official one, by swebench's naming rule).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.grader import GradeResult, GradingError, keep_logs, verdict
from benchmarks.patches import swebench_changes
from benchmarks.suite import SuiteError
from benchmarks.swebench_image import TESTBED, instance_image, preflight
from benchmarks.swebench_log import network_note, no_results_reason, reinstall_note
from benchmarks.task_suite import AgentSetup
from benchmarks.tasks import Task, TaskFormatError, load_tasks, require_fail_to_pass

if TYPE_CHECKING:
    import types

EXTRA = "pip install 'dgm[swebench]'"
# SWE-bench's statuses in the vocabulary of the shared verdict
STATUS = {"PASSED": "passed", "XFAIL": "passed", "SKIPPED": "skipped", "FAILED": "failed", "ERROR": "failed"}
COMMIT = "git add -A && git -c user.name=dgm -c user.email=dgm@localhost commit -q --allow-empty -m"
APPLY_FAILED = {91: "the model patch", 92: "the test patch"}
NO_TESTBED = 93
V5_COLUMNS = ("eval_script", "log_parser", "eval_type")  # what grading reads beyond the classic fields
# a full Django run logs megabytes; the first and the last half are kept (markers, summary)
OUTPUT_CAP = 16_000_000
GRADING_TIMEOUT = 1800.0  # swebench's run_evaluation default; a caller's longer limit wins
NETWORK_KEY = "dgm_grading_network"  # sweb.yaml's opt-in to a network for grading
ASSETS = "test_assets"  # swebench's task-repo directory of binary files the test patch needs
# swebench's apply chain for the model patch, then the test patch (unless eval.sh carries it)
# as the pyfix grader applies it. Output goes to the container's stdout, read by the host:
# nothing the graded code writes to a file stands in for it.
GRADE_SCRIPT = f"""exec 2>&1
cd {TESTBED} || exit {NO_TESTBED}
reset() {{ git checkout -q -- . ; git clean -qfd; }}
apply_model() {{ [ -s "$1" ] || return 0
  git apply --verbose "$1" && return 0
  reset; git apply --verbose --3way "$1" && return 0
  reset; git apply --verbose --reject "$1" && return 0
  reset; patch --batch --forward --fuzz=5 -p1 -i "$1" && return 0
  git apply --check --reverse "$1" && echo 'the patch was already applied'; }}
apply_tests() {{ [ -s "$1" ] || return 0
  git apply --verbose "$1" || patch --batch --fuzz=5 -p1 -i "$1"; }}
apply_model /work/task/model.patch || exit 91
apply_tests /work/task/test.patch || exit 92
bash /work/task/eval.sh
"""


def swebench_module(name: str) -> types.ModuleType:
    """A module of the optional `swebench` package, or an error saying how to install it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise SuiteError(f"SWE-bench task repos need the swebench package ({e}): {EXTRA}") from e


@dataclass(frozen=True)
class SwebenchRepo:
    """The published tasks of one SWE-bench task repo."""

    name: str
    root: Path
    # sweb.yaml's `dgm_grading_network: true` gives grading containers a network (tests that
    # need the internet); off by default, since the graded code can then reach out too
    grading_network: bool = False

    def tasks(self) -> list[Task]:
        repo = swebench_module("swebench.task.repo")
        checks = swebench_module("swebench.task.checks")
        problems = checks.errors(checks.check_task_repo(self.root))
        if problems:
            raise TaskFormatError(f"{self.root}: " + "; ".join(str(p) for p in problems))
        parsers = swebench_module("swebench.harness.log_parsers").PARSER_REGISTRY
        tasks = []
        for instance in repo.select_tasks(self.root):
            where = self.root / "tasks" / instance["instance_id"] / repo.TASK_FILE
            if instance["log_parser"] not in parsers:
                raise TaskFormatError(f"{where}: log_parser {instance['log_parser']!r} is not one of swebench's "
                                      f"parsers (e.g. parse_log_pytest, parse_log_django)")
            tasks.append(require_fail_to_pass(_task(instance), where))
        if not tasks:
            raise TaskFormatError(f"{self.root / repo.CONFIG_FILE}: no task is in a published split")
        return tasks

    def image_for(self, task: Task) -> str:
        key = (self.root, task.instance_id)
        with _images_lock:  # one build per image, builds of different images side by side
            lock = _building.setdefault(key, threading.Lock())
        with lock:
            if key not in _images:
                image = instance_image(task.instance_id, task.extra.get("image", ""), self.recipe(task))
                preflight(image, task.instance_id, env_prologue(task.extra["eval_script"]))
                _images[key] = image
            return _images[key]

    def recipe(self, task: Task) -> tuple[str, dict[str, Path]] | None:
        """The instance's Dockerfile and build context: its task directory."""
        task_dir = self.root / "tasks" / task.instance_id
        return (task_dir / "Dockerfile").read_text(), {p.name: p for p in task_dir.iterdir() if p.name != "Dockerfile"}

    def assets(self, task: Task) -> dict[str, bytes]:
        """The task's test_assets/ files by their path in the repository."""
        root = self.root / "tasks" / task.instance_id / ASSETS
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    def agent_setup(self, task: Task) -> AgentSetup:
        # HEAD becomes whatever the image holds (a repository is made if it holds none), so the
        # agent's patch is only its own change. The agent runs in dgm's image; its commands run
        # in the task's container, in the environment eval.sh sets up.
        return AgentSetup(f"cd {TESTBED} && {{ [ -d .git ] || git init -q; }} && {COMMIT} base", repo=TESTBED,
                          task_env=env_prologue(task.extra["eval_script"]))

    def grade(self, task: Task, model_patch: str, *, log_dir: Path, timeout: float, run_id: str) -> GradeResult:
        """The model patch without test changes, then the test patch unless eval.sh carries it
        (as SWE-bench's own eval scripts do), then eval.sh; outcomes from the log by the task's
        swebench parser, decided by the shared SWE-bench v5 verdict."""
        from sandbox.container import Limits, Sandbox
        from sandbox.task_container import TASK_ENV

        utils = swebench_module("swebench.harness.utils")
        grading = swebench_module("swebench.harness.grading")
        spec = utils.make_test_spec({**task.extra, "instance_id": task.instance_id, "repo": task.repo,
                                     "FAIL_TO_PASS": list(task.fail_to_pass), "PASS_TO_PASS": list(task.pass_to_pass)})
        patch, dropped = swebench_changes(model_patch, task.test_patch)
        test_patch = "" if _carries(spec.eval_script, task.test_patch) else task.test_patch
        assets = self.assets(task)
        flat = {path: path.replace("/", "__") for path in assets}
        restore = [f"mkdir -p \"$(dirname {path})\" && cp /work/task/assets/{name} {path}" for path, name in flat.items()]
        eval_script = swebench_module("swebench.harness.run_evaluation")._inject_asset_restore(spec.eval_script, restore)
        started = time.monotonic()
        limits = Limits(timeout=max(timeout, GRADING_TIMEOUT), output_cap=OUTPUT_CAP // 2, output_tail=OUTPUT_CAP // 2)
        with Sandbox(self.image_for(task), ["bash", "-c", GRADE_SCRIPT], run_id=run_id, volumes=(TESTBED,),
                     env=TASK_ENV, limits=limits, network=self.grading_network) as box:
            box.put("/work/task", {"model.patch": patch, "test.patch": test_patch, "eval.sh": eval_script,
                                   **{f"assets/{flat[path]}": data for path, data in assets.items()}})
            run = box.run()
        duration = time.monotonic() - started
        keep_logs(log_dir, {"model.patch": model_patch, "graded.patch": patch, "eval.sh": eval_script,
                            "test_output.txt": run.stdout + run.stderr})
        log = log_dir / "test_output.txt"
        base = dict(instance_id=task.instance_id, dropped_paths=tuple(dropped), duration=duration)
        if run.reason != "exit":
            return GradeResult(resolved=False, applied=True, reason=f"grading ended by {run.reason}", **base)
        if run.exit_code == NO_TESTBED:
            raise GradingError(f"{self.image_for(task)} (task {task.instance_id}) holds no {TESTBED}: its Dockerfile "
                               f"must put the repository there")
        if run.exit_code in APPLY_FAILED:
            return GradeResult(resolved=False, applied=False, reason=f"{APPLY_FAILED[run.exit_code]} did not apply",
                               **base)
        status_map, found = grading.get_logs_eval(spec, str(log))
        outcomes = verdict_outcomes(task, status_map, spec.eval_type) if found else {}
        (log_dir / "outcomes.json").write_text(json.dumps(outcomes, indent=1))
        text = log.read_text()
        if not found:
            reason = no_results_reason(text, spec) + reinstall_note(text)
            return GradeResult(resolved=False, applied=True, reason=reason, **base)
        resolved, reason, f2p, p2p = verdict(task, outcomes)
        failed = [t for t, o in f2p.items() if o != "passed"] + [t for t, o in p2p.items() if o not in ("passed", "skipped")]
        reason += "" if self.grading_network else network_note(text, failed)
        reason += "" if resolved else reinstall_note(text)
        return GradeResult(resolved=resolved, applied=True, reason=reason, fail_to_pass=f2p, pass_to_pass=p2p, **base)


@dataclass(frozen=True)
class SwebenchData(SwebenchRepo):
    """Published SWE-bench data (JSONL with swebench 5.x's columns) on its official instance
    images, which Docker pulls on first use where a registry is reachable."""

    def tasks(self) -> list[Task]:
        tasks = []
        for task in load_tasks(self.root):
            missing = [c for c in V5_COLUMNS if not task.extra.get(c)]
            if missing:
                raise TaskFormatError(f"{self.root}: task {task.instance_id}: field(s) {', '.join(missing)} missing; "
                                      f"grading needs swebench 5.x data ({', '.join(V5_COLUMNS)})")
            image = task.extra.get("image") or official_image(task.instance_id)
            tasks.append(dataclasses.replace(task, extra={**task.extra, "image": image}))
        return tasks

    def recipe(self, task: Task) -> None:
        return None  # the row's image itself, pulled or loaded beforehand

    def assets(self, task: Task) -> dict[str, bytes]:
        return {}  # image_assets of published rows are urls, out of reach offline


def official_image(instance_id: str) -> str:
    """swebench's name for an instance's published image, e.g. django__django-11099 ->
    swebench/sweb.eval.x86_64.django_1776_django-11099:latest."""
    return swebench_module("swebench.task.checks").expected_image(instance_id)


_images: dict[tuple[Path, str], str] = {}
_building: dict[tuple[Path, str], threading.Lock] = {}
_images_lock = threading.Lock()


def verdict_outcomes(task: Task, status_map: dict[str, str], eval_type: str) -> dict[str, str]:
    """SWE-bench's per-test statuses in the shared verdict's vocabulary. Under its `fail_only`
    rule (runners whose parser records failures only) a listed test fails only if the log shows
    it failing; a listed id truncated mid-parameter takes its outcome from the test it prefixes."""
    listed = (*task.fail_to_pass, *task.pass_to_pass)
    if eval_type == "fail_only":
        return {t: "failed" if status_map.get(t) == "FAILED" else "passed" for t in listed}
    outcomes = {test: STATUS.get(status, "failed") for test, status in status_map.items()}
    # ids the published data truncated mid-parameter name their test by prefix: swebench's own rule
    resolve = swebench_module("swebench.harness.grading")._resolve_case
    for test in listed:
        key = resolve(test, status_map)
        if test not in outcomes and key is not None:
            outcomes[test] = STATUS.get(status_map[key], "failed")
    return outcomes


def env_prologue(eval_script: str) -> str:
    """eval.sh's lines that make the task's environment (swebench's scripts: `source
    /opt/miniconda3/bin/activate`, `conda activate testbed`): those before its first `cd`,
    without the shebang, comments and shell options."""
    lines = []
    for line in eval_script.splitlines():
        stripped = line.strip()
        if stripped.startswith("cd "):
            break
        if stripped and not stripped.startswith(("#", "set ")):
            lines.append(stripped)
    return "\n".join(lines)


def _carries(eval_script: str, test_patch: str) -> bool:
    """Whether eval.sh applies the test patch itself (SWE-bench's scripts hold it in a heredoc)."""
    return bool(test_patch.strip()) and test_patch.strip() in eval_script


def _task(instance: dict) -> Task:
    known = {"instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch",
             "FAIL_TO_PASS", "PASS_TO_PASS", "split"}
    return Task(
        instance_id=instance["instance_id"], repo=instance["repo"], base_commit=str(instance["base_commit"]),
        problem_statement=instance["problem_statement"], patch=instance["patch"],
        test_patch=instance["test_patch"], fail_to_pass=tuple(instance["FAIL_TO_PASS"]),
        pass_to_pass=tuple(instance["PASS_TO_PASS"]), environment=instance.get("image", ""),
        # of a task repo's published splits, `heldout` is the one dgm keeps apart by default;
        # evaluation.heldout can name another (kept as extra["published_split"])
        split="heldout" if instance.get("split") == "heldout" else "train",
        extra={**{k: v for k, v in instance.items() if k not in known}, "published_split": instance.get("split", "")},
    )


def load_swebench_repo(path: Path) -> SwebenchRepo:
    """A SWE-bench task repo at `path` (named by its directory), or a JSONL file of SWE-bench data."""
    if path.is_file():
        return SwebenchData(path.stem, path.resolve())
    if not (path / "tasks").is_dir():
        raise SuiteError(f"swebench:{path}: neither a SWE-bench task repo (no {path / 'tasks'} directory) "
                         "nor a JSONL file")
    try:
        config = swebench_module("swebench.task.repo").load_config(path)
    except (FileNotFoundError, ValueError):
        config = {}  # tasks() reports what is wrong with sweb.yaml, as swebench's checker words it
    network = config.get(NETWORK_KEY, False)
    if not isinstance(network, bool):
        raise SuiteError(f"{path / 'sweb.yaml'}: {NETWORK_KEY} must be true or false, not {network!r}")
    return SwebenchRepo(path.resolve().name, path.resolve(), grading_network=network)
