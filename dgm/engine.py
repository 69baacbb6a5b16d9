"""The evolution loop: select parents, diagnose, self-modify, validate, commit, evaluate in
stages, admit. Each child moves through its states in its own thread, and every state is written
to the run database before the next begins:

    pending -> diagnosed -> modified -> committed -> evaluating -> admitted | failed

so a run killed at any moment resumes from the last state written (`dgm resume`) and no finished
evaluation is lost or run again. Steps overlap: the next step's parents are chosen and start
modifying themselves while earlier children are still being evaluated.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import ExitStack
from pathlib import Path

from archive.check import hold_variants
from archive.db import HELDOUT_STAGE, VERIFICATION_STAGE, VariantRow
from archive.genome_repo import ChildRejected
from archive.lineage import clade, lineage_graph
from archive.novelty import MAX_DIFF_CHARS, is_near_duplicate, novelty
from archive.selection import Candidate, select_parents
from benchmarks.heldout import heldout_ids
from benchmarks.task_suite import TaskSuite, load_task_suite
from dgm.child_check import smoke_failure
from dgm.config import Config
from dgm.diagnose import DiagnosisFailed, diagnose, pick_target
from dgm.diagnosis_context import diagnosis_context, parent_attempts
from dgm.errors import DgmError
from dgm.eval_cache import cache_for, entry_key, image_id
from dgm.eval_record import write_result
from dgm.evaluation import EvalJob, EvalResult
from dgm.executors import Executor, make_executor
from dgm.llm.budget import BudgetExceeded
from dgm.llm.call_log import spent_in_log
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamError, upstream_for
from dgm.gi_mutator import MutationError
from dgm.run_dir import RunDir
from dgm.self_modify import gi_modify, self_modify
from dgm.stages import StagePlan, plan_stages, read_stage_lists, score
from dgm.verification import failure_reason, task_of, try_key, verdict
from dgm.workspace import run_workspace
from sandbox.container import Limits
from sandbox.image import ensure_sandbox_image
from sandbox.live import remove_all
from sandbox.llm_bridge import Bridge, bridge

SEED_ID = "seed"
TERMINAL = ("admitted", "failed")
MODIFYING = ("pending", "diagnosed", "modified", "committed")


class StopRequested(Exception):
    """Raised inside a child's thread when the run is stopping: leave its state for resume."""


def uses_model(config: Config) -> tuple[str, str]:
    """(agent policy, mutation kind) after resolving "auto" by whether a model is configured."""
    has_model = bool(config.model.name)
    policy = config.agent.policy if config.agent.policy != "auto" else ("llm" if has_model else "repair")
    kind = config.mutation.kind if config.mutation.kind != "auto" else ("self" if has_model else "gi")
    return policy, kind


class Engine:
    def __init__(self, run: RunDir, config: Config, on_event: Callable[[str], None] = lambda message: None) -> None:
        self.run, self.config, self.on_event = run, config, on_event
        self.db = run.db()
        self.genomes = run.genomes()
        self.suite: TaskSuite = load_task_suite(config.evaluation.suite)
        self.tasks = {t.instance_id: t for t in self.suite.tasks()}
        held = heldout_ids(self.tasks.values(), config.evaluation.heldout)
        self.plan: StagePlan = plan_stages(
            [t for t in self.tasks if t not in held], [t for t in self.tasks if t in held],
            config.evaluation.stage_sizes, config.evaluation.stage_thresholds, config.run.seed,
            config.evaluation.heldout_size, read_stage_lists(config.evaluation.stage_lists))
        self.policy, self.mutation = uses_model(config)
        self.stop_reason = ""
        self._stopping = threading.Event()
        self._modify_slots = threading.Semaphore(config.run.parallel_self_modify)
        self._lock = threading.Lock()
        self._gateway: Gateway | None = None
        self._executor: Executor | None = None
        self._checkouts: dict[str, Path] = {}
        self._cache = cache_for(config.evaluation)

    # --- the loop ----------------------------------------------------------------------------

    def run_loop(self) -> str:
        """Run until max steps are done or a limit stops the run; returns why it ended."""
        self.db.set_meta("state", "running")
        self.db.set_meta("stage0_size", len(self.plan.stages[0]))  # what a failed verification saves
        self.db.set_meta("stage_sizes", [len(stage) for stage in self.plan.stages])  # and an early stop
        session_start, elapsed_before = time.monotonic(), float(self.db.meta("elapsed", 0.0))
        hold_variants(self.db, self.genomes)
        requeued = self.db.reset_running()
        if requeued:
            self.on_event(f"resuming: {requeued} interrupted evaluation(s) will run again")
        with ExitStack() as stack:
            self._work = stack.enter_context(run_workspace())
            self.sandbox_image = ensure_sandbox_image()
            if self.config.model.name:
                self._gateway = stack.enter_context(self._open_gateway())
            self._executor = make_executor(self.config.executor, self.config.run.parallel_evaluations)
            children = ThreadPoolExecutor(max_workers=4 * self.config.run.children_per_step + 4,
                                          thread_name_prefix="child")
            active: dict[Future, str] = {}
            for row in self.db.variants():
                if row.status not in TERMINAL:
                    active[children.submit(self._advance, row.id)] = row.id
            try:
                while True:
                    elapsed = elapsed_before + time.monotonic() - session_start
                    self.db.set_meta("elapsed", elapsed)
                    limit = self._limit_reached(elapsed)
                    if limit:
                        self.stop(limit)
                        break
                    if self.stop_reason:  # a child hit the budget
                        break
                    if self._may_launch_step(active):
                        for variant_id in self._launch_step():
                            active[children.submit(self._advance, variant_id)] = variant_id
                    if not active:
                        if self._steps_launched() >= self.config.run.max_steps or not self._candidates():
                            break
                        continue
                    done, _ = wait(active, timeout=2.0, return_when=FIRST_COMPLETED)
                    for future in done:
                        active.pop(future)
                        if future.exception() is not None and not self._stopping.is_set():
                            raise future.exception()  # ends the run; the variant's state stays resumable
            except KeyboardInterrupt:
                self.stop("interrupted")
                raise
            except BaseException as e:
                self.stop(f"error: {e}")
                raise
            finally:
                self._executor.close(cancel=self._stopping.is_set())
                children.shutdown(wait=True, cancel_futures=True)
                if self._stopping.is_set():
                    remove_all()  # anything a child started while the stop was under way
                self.db.set_meta("elapsed", elapsed_before + time.monotonic() - session_start)
                self.db.set_meta("state", f"stopped: {self.stop_reason}" if self.stop_reason else "finished")
        if not self.stop_reason and self._steps_launched() < self.config.run.max_steps:
            self.stop_reason = "no admitted variant can be a parent (none admitted, or none failed a task to learn from)"
            self.db.set_meta("state", f"stopped: {self.stop_reason}")
        return self.stop_reason or "finished"

    def stop(self, reason: str) -> None:
        """Stop now: running containers are removed and their work is left for resume."""
        if not self.stop_reason:
            self.stop_reason = reason
            self.on_event(f"stopping: {reason}")
        self._stopping.set()
        if self._executor is not None:
            self._executor.close(cancel=True)

    def _limit_reached(self, elapsed: float) -> str:
        if elapsed >= self.config.run.max_wall_time:
            return f"max wall time reached ({self.config.run.max_wall_time:.0f} s)"
        if self.config.model.name and self._spent() >= self.config.run.max_cost:
            return f"max cost reached (${self._spent():.4f} of ${self.config.run.max_cost:g})"
        return self._provider_pause()

    def _provider_pause(self) -> str:
        """Why the run pauses for its provider, or "": nothing it does is recorded meanwhile."""
        down = self._gateway.health.down() if self._gateway else ""
        return f"paused: {down}; `dgm resume {self.run.path}` continues" if down else ""

    def _spent(self) -> float:
        return self._gateway.spent if self._gateway else self.db.total_cost()

    def _open_gateway(self) -> Gateway:
        # unix socket paths are limited to ~100 bytes: the socket lives in a short temp dir
        return Gateway(upstream_for(self.config.model), self.run.path, budget=self.config.run.max_cost,
                       spent=spent_in_log(self.run.path), socket_path=self._work / "gw" / "llm.sock",
                       listen=self.config.executor.gateway_address or "127.0.0.1:0")

    # --- steps -------------------------------------------------------------------------------

    def _steps_launched(self) -> int:
        return max((row.step for row in self.db.variants()), default=0)

    def _may_launch_step(self, active: dict[Future, str]) -> bool:
        """A new step starts once the previous step's children have all left self-modification
        and no more than one step's worth of children is being evaluated."""
        if self._steps_launched() >= self.config.run.max_steps or self._stopping.is_set():
            return False
        rows = self.db.variants()
        if any(row.status in MODIFYING for row in rows):
            return False
        evaluating = sum(row.status == "evaluating" for row in rows)
        return evaluating <= self.config.run.children_per_step and bool(self._candidates())

    def _launch_step(self) -> list[str]:
        step = self._steps_launched() + 1
        rng = random.Random(f"{self.config.run.seed}:step:{step}")
        parents = select_parents(self.config.selection.rule, self._candidates(), self.config.run.children_per_step, rng)
        ids = []
        for i, parent in enumerate(parents, 1):
            ids.append(f"v{step}-{i}")
            self.db.add_variant(ids[-1], parent, step)
        self.on_event(f"step {step}: parents {', '.join(parents)}")
        return ids

    def _candidates(self) -> list[Candidate]:
        rows = [r for r in self.db.variants()
                if r.status == "admitted" and r.score is not None
                and (r.parent_id is None or (r.novelty or 0.0) >= self.config.selection.min_novelty)]
        if not rows:
            return []
        graph = lineage_graph(self.db)
        counts = self.db.children_counts()
        outcomes: dict[str, list[bool]] = {}
        for variant, _task, stage, status, resolved in self.db.evaluation_rows():
            if status == "done" and stage >= 0:
                outcomes.setdefault(variant, []).append(bool(resolved))
        candidates = []
        for row in rows:
            if self.mutation == "self" and all(self.db.results(row.id).get(t, True) for t in self.plan.full):
                continue  # self-modification starts from a diagnosed failure: this one has none
            members = [o for member in clade(graph, row.id) for o in outcomes.get(member, [])]
            candidates.append(Candidate(row.id, row.score, counts.get(row.id, 0), sum(members),
                                        len(members) - sum(members)))
        return candidates

    # --- one child ---------------------------------------------------------------------------

    def _advance(self, variant_id: str) -> None:
        """Take a variant from whatever state it is in to admitted or failed."""
        try:
            row = self.db.variant(variant_id)
            if row.status in ("pending", "diagnosed", "modified"):
                with self._modify_slots:
                    self._modify(row)
                row = self.db.variant(variant_id)
            if row.status == "committed":
                self._validate(row)
                row = self.db.variant(variant_id)
            if row.status == "evaluating" and self._verified(row):
                self._evaluate(row)
                self._admit(self.db.variant(variant_id))
        except StopRequested:
            pass
        except BudgetExceeded:
            self.stop(f"max cost reached (${self._spent():.4f} of ${self.config.run.max_cost:g})")
        except UpstreamError as e:  # the child's own model call failed: never the run's end
            if self._provider_pause():
                self.stop(self._provider_pause())
            elif not self._stopping.is_set():
                self._fail(self.db.variant(variant_id), f"model call failed: {e}")
        except Exception:
            if not self._stopping.is_set():
                raise

    def _fail(self, row: VariantRow, reason: str) -> None:
        self._check_stop()
        self.db.update_variant(row.id, status="failed", fail_reason=reason)
        self.on_event(f"{row.id} failed: {reason}")

    def _check_stop(self) -> None:
        if self._stopping.is_set():
            raise StopRequested

    def _modify(self, row: VariantRow) -> None:
        parent = self.db.variant(row.parent_id)
        parent_genome = self._genome(parent)
        rng = random.Random(f"{self.config.run.seed}:{row.id}")
        if self.mutation == "gi" and row.status == "pending":
            try:
                change = gi_modify(parent_genome, rng)
            except MutationError as e:
                return self._fail(row, str(e))
            self._check_stop()
            self.db.update_variant(row.id, status="modified", diff=change.diff, summary=change.note)
        elif self.mutation == "self":
            if row.status == "pending":
                if not self._diagnose(row, parent, parent_genome, rng):
                    return
                row = self.db.variant(row.id)
            if row.status == "diagnosed":
                change = self._self_modify(row, parent_genome)
                self._check_stop()
                if not change.diff.strip():
                    return self._fail(row, f"empty diff ({change.note})")
                self.db.update_variant(row.id, status="modified", diff=change.diff)
        self._commit(self.db.variant(row.id), parent)

    def _diagnose(self, row: VariantRow, parent: VariantRow, parent_genome: Path, rng: random.Random) -> bool:
        target = pick_target(parent_attempts(self.db, self.run.logs, parent.id, self.plan.full), rng)
        if target is None:
            self._fail(row, "the parent failed no task it was scored on (infrastructure failures aside): "
                            "nothing to diagnose")
            return False
        assert self._gateway is not None
        gateway, mutation = self._gateway, self.config.mutation

        def call(messages: list[dict]) -> str:
            # the answer's room is the gateway's for the role (model.max_tokens_diagnose)
            reply = gateway.chat({"messages": messages}, row.id, "diagnose")
            return reply["choices"][0]["message"]["content"] or ""

        context = diagnosis_context(parent_genome, self.run.logs(parent.id, target.key), self.tasks[target.task_id],
                                    self.db.agent_exit(parent.id, target.key), self.policy,
                                    mutation.diagnosis_context_tokens)
        try:
            found = diagnose(call, target, context)
        except DiagnosisFailed as e:
            self.db.add_cost(row.id, "diagnose", gateway.usage(row.id, "diagnose").cost)
            self._fail(row, str(e))
            return False
        self.db.add_cost(row.id, "diagnose", gateway.usage(row.id, "diagnose").cost)
        self._check_stop()
        self.db.update_variant(row.id, status="diagnosed", summary=found.summary, diagnosis=found.issue,
                               diagnosis_task=target.task_id)
        self.on_event(f"{row.id} diagnosed from {target.task_id}"
                      f"{'' if target.kind == 'task' else f' ({target.kind})'}: {found.summary}")
        return True

    def _self_modify(self, row: VariantRow, parent_genome: Path):
        assert self._gateway is not None
        token = self._gateway.issue_token(row.id, "self_modify", task_budget=self.config.agent.max_cost)
        agent = self.config.agent
        try:
            change = self_modify(parent_genome, row.diagnosis, self.sandbox_image,
                                 log_dir=self.run.logs(row.id, "self_modify"),
                                 bridge=bridge(self._gateway.socket_path, token), env=self._agent_env("llm"),
                                 limits=self._limits(agent.self_modify_timeout),
                                 agent_args=self._agent_args(agent.self_modify_max_steps, agent.self_modify_timeout),
                                 run_id=f"modify-{row.id}")
        finally:
            self._gateway.revoke_token(token)
        self.db.add_cost(row.id, "self_modify", self._gateway.usage(row.id, "self_modify").cost)
        if "budget_exceeded" in change.note and self._gateway.ledger.refused:  # not the task's own cap
            raise BudgetExceeded("the run's budget ran out during self-modification")
        if self._gateway.health.failed_for(row.id, "self_modify"):
            raise UpstreamError("the provider failed during self-modification", 503, "provider_unavailable")
        return change

    def _commit(self, row: VariantRow, parent: VariantRow) -> None:
        if len(row.diff) > MAX_DIFF_CHARS:
            return self._fail(row, f"the child's diff is {len(row.diff)} characters, over the cap of {MAX_DIFF_CHARS}")
        siblings = [r.diff for r in self.db.variants() if r.parent_id == parent.id and r.id != row.id and r.diff]
        if is_near_duplicate(row.diff, siblings, self.config.mutation.near_duplicate_threshold):
            return self._fail(row, "near-duplicate of a sibling's change")
        try:
            child = self.genomes.commit_child(parent.commit_sha, row.diff, f"{row.id}: {row.summary}"[:200], row.created)
        except ChildRejected as e:
            return self._fail(row, str(e))
        self.genomes.keep({row.id: child.sha})
        if child.dropped:  # files outside the genome (a scratch reproduce.py) are left out, and said so
            (log := self.run.logs(row.id, "self_modify")).mkdir(parents=True, exist_ok=True)
            (log / "dropped_paths.txt").write_text("\n".join(child.dropped) + "\n")
            self.on_event(f"{row.id}: left out of its commit (outside the genome): {', '.join(child.dropped)}")
        self._check_stop()
        self.db.update_variant(row.id, status="committed", commit_sha=child.sha)

    def _validate(self, row: VariantRow) -> None:
        try:
            genome = self._genome(row)
        except ChildRejected as e:  # a link or special file in the genome
            return self._fail(row, str(e))
        failure = smoke_failure(genome, self.sandbox_image, run_id=f"smoke-{row.id}")
        if failure:
            return self._fail(row, failure)
        self._check_stop()
        self.db.update_variant(row.id, status="evaluating")

    # --- evaluation --------------------------------------------------------------------------

    def _verified(self, row: VariantRow) -> bool:
        """Before stage 0 a diagnosed child tries the task it was diagnosed from, up to
        `evaluation.verify_tries` times; one that never resolves it fails, never evaluated further."""
        tries, task_id = self.config.evaluation.verify_tries, row.diagnosis_task
        if not tries or not task_id or row.stage > 0:
            return True
        for attempt in range(1, tries + 2):
            if verdict(self.db, row.id, task_id).passed:
                self.on_event(f"{row.id} verified: it resolves {task_id}, the task it was diagnosed from")
                return True
            if attempt <= tries:
                self._run_tasks(row, (try_key(task_id, attempt),), VERIFICATION_STAGE)
        self._fail(row, failure_reason(task_id, tries))
        return False

    def _evaluate(self, row: VariantRow) -> None:
        completed, current = row.stage, row.score
        while (stage := self._next_stage(row.id, completed, current)) is not None:
            tasks = self.plan.tasks_for(stage)
            results = self._run_tasks(row, tasks, stage)
            completed, current = stage + 1, score(results, tasks)
            self.db.update_variant(row.id, score=current, stage=completed)
            self.on_event(f"{row.id} scored {current:.2f} on stage {completed} ({len(tasks)} tasks)")
        if completed >= len(self.plan.stages) and self.plan.heldout:
            results = self._run_tasks(row, self.plan.heldout, HELDOUT_STAGE)
            held = score(results, self.plan.heldout)
            self.db.update_variant(row.id, heldout_score=held)
            self.on_event(f"{row.id} scored {held:.2f} on the held-out split")

    def _next_stage(self, variant_id: str, completed: int, current: float | None) -> int | None:
        stages = self.plan.stages
        if completed == 0:
            return 0
        if completed < len(stages) and current is not None and self.plan.goes_on(completed - 1, current):
            return completed
        if (completed == len(stages) and self.config.evaluation.full_suite_for_best
                and len(self.plan.full) > len(stages[-1]) and self._best_at_last_stage(variant_id)):
            return completed
        return None

    def _best_at_last_stage(self, variant_id: str) -> bool:
        last = self.plan.stages[-1]
        mine = score(self.db.results(variant_id), last)
        others = [score(self.db.results(r.id), last) for r in self.db.variants()
                  if r.id != variant_id and r.stage >= len(self.plan.stages)]
        return all(mine >= other for other in others)

    def _run_tasks(self, row: VariantRow, tasks: tuple[str, ...], stage: int) -> dict[str, bool]:
        """Every unfinished task of `tasks` through the executor; the results recorded as they come."""
        self.db.plan_evaluations(row.id, list(tasks), stage)
        wanted = set(tasks)
        genome = self._genome(row)
        futures: dict[Future[EvalResult], str] = {}
        reused = []
        for task_id in self.db.unfinished(row.id):
            if task_id not in wanted:
                continue
            self._check_stop()
            if self._reused(row, task_id):
                reused.append(task_id)
                continue
            self.db.start_evaluation(row.id, task_id)
            futures[self._submit(row.id, genome, task_id)] = task_id
        if reused:
            self.on_event(f"{row.id}: {len(reused)} evaluation(s) reused from the evaluation cache, no container "
                          f"started: {', '.join(reused)}")
        budget_hit = False
        booked: dict[str, float] = {}  # cost of runs lost to the provider, already added
        while futures:
            future = next(as_completed(futures))
            task_id = futures.pop(future)
            cost = (self._gateway.usage(row.id, task_id).cost if self._gateway else 0.0) - booked.get(task_id, 0.0)
            error = None if future.cancelled() else future.exception()
            result = future.result() if not future.cancelled() and error is None else None
            # an agent's word that the run's budget is spent counts only if the gateway refused a call for it
            out_of_money = result is not None and result.budget_stopped and (
                self._gateway is None or self._gateway.ledger.refused)
            if self._stopping.is_set() or future.cancelled() or out_of_money:
                # not a result: the task runs again on resume, but what it spent stays spent
                budget_hit = budget_hit or out_of_money
                if cost:
                    self.db.add_cost(row.id, f"unfinished evaluation of {task_id}", cost)
                continue
            if result is not None and self._lost_to_provider(row.id, task_id, result):
                booked[task_id] = booked.get(task_id, 0.0) + cost
                self.db.add_cost(row.id, f"evaluation of {task_id} lost to the provider", cost)
                if not self._stopping.is_set():
                    futures[self._submit(row.id, genome, task_id)] = task_id
                continue
            if result is None:  # a harness failure counts against the variant, like a crash
                self._keep_harness_error(row.id, task_id, error)
                result = EvalResult(row.id, task_id, False, f"harness error: {error}", "harness_error", 0.0)
            log_dir = self.run.logs(row.id, task_id)
            write_result(log_dir, result)
            self.db.finish_evaluation(row.id, task_id, result.resolved, result.duration, cost, result.agent_exit,
                                      str(log_dir))
            if self._cache is not None and row.parent_id is None:
                self._cache.store(self._cache_key(row, task_id), result, log_dir)
        self._check_stop()
        if budget_hit:
            raise BudgetExceeded("the run's budget ran out during evaluation")
        return self.db.results(row.id)

    def _reused(self, row: VariantRow, task_id: str) -> bool:
        """A seed evaluation found in the evaluation cache is recorded at once, its logs copied in."""
        if self._cache is None or row.parent_id is not None:
            return False
        log_dir = self.run.logs(row.id, task_id)
        result = self._cache.fetch(self._cache_key(row, task_id), log_dir)
        if result is not None:
            self.db.finish_evaluation(row.id, task_id, result.resolved, result.duration, 0.0, result.agent_exit,
                                      str(log_dir), reused=True)
        return result is not None

    def _cache_key(self, row: VariantRow, task_id: str) -> str:
        task = self.tasks[task_of(task_id)]
        agent, model = self.config.agent, self.config.model
        # images by content: a tag (an official SWE-bench image's) can be pulled or rebuilt anew
        settings = {"sandbox_image": image_id(self.sandbox_image), "model": model.name, "policy": self.policy,
                    "model_extra": model.extra, "max_tokens": model.max_tokens_agent, "task_cost": agent.max_cost,
                    "env": self._agent_env(self.policy), "args": self._agent_args(agent.max_steps, agent.timeout),
                    "limits": str(self._limits(agent.timeout))}
        return entry_key(self.genomes.repo.git.rev_parse(f"{row.commit_sha}^{{tree}}"), task,
                         image_id(self.suite.image_for(task)), settings)

    def _keep_harness_error(self, variant_id: str, task_id: str, error: BaseException) -> None:
        """The traceback goes where the evaluation's logs would be, so `dgm show` leads to it."""
        log_dir = self.run.logs(variant_id, task_id)
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "harness_error.txt").write_text("".join(traceback.format_exception(error)))
        self.on_event(f"{variant_id} on {task_id}: harness error ({type(error).__name__}: {error}), "
                      f"see {log_dir / 'harness_error.txt'}")

    def _lost_to_provider(self, variant_id: str, task_id: str, result: EvalResult) -> bool:
        """The provider, not the agent, ended this evaluation: not a result. It runs again, unless
        the provider is down or keeps failing this task: then the run pauses."""
        health = self._gateway.health if self._gateway else None
        if health is None or not (result.agent_exit == "provider_error" or health.failed_for(variant_id, task_id)):
            return False
        if not health.requeue(variant_id, task_id):
            self.stop(f"paused: the provider kept failing {task_id} of {variant_id}; "
                      f"`dgm resume {self.run.path}` continues")
        elif self._provider_pause():
            self.stop(self._provider_pause())
        else:
            self.on_event(f"{variant_id} on {task_id}: lost to the provider, running it again")
        return True

    def _submit(self, variant_id: str, genome: Path, task_id: str) -> Future[EvalResult]:
        """The evaluation on the executor, its gateway token revoked once it is over."""
        token = self._gateway.issue_token(variant_id, task_id, self.config.agent.max_cost) \
            if self.policy == "llm" and self._gateway else ""
        future = self._executor.submit(self._job(variant_id, genome, task_id, token))
        if token:
            future.add_done_callback(lambda _: self._gateway.revoke_token(token))
        return future

    def _job(self, variant_id: str, genome: Path, task_id: str, token: str) -> EvalJob:
        access = Bridge()
        if token:
            assert self._gateway is not None
            access = bridge(self._gateway.socket_path, token,
                            self._gateway.address if self.config.executor.gateway_address else "")
        task = self.tasks[task_of(task_id)]
        return EvalJob(variant_id, task, self.suite, self.suite.image_for(task), genome,
                       self.run.logs(variant_id, task_id), self._limits(self.config.agent.timeout),
                       self._agent_env(self.policy), access,
                       tuple(self._agent_args(self.config.agent.max_steps, self.config.agent.timeout)))

    def _admit(self, row: VariantRow) -> None:
        self._check_stop()
        results = self.db.results(row.id)
        others = [(r.diff, self.db.results(r.id)) for r in self.db.variants() if r.status == "admitted"]
        self.db.update_variant(row.id, status="admitted", novelty=novelty(row.diff, results, others))
        self.on_event(f"{row.id} admitted (score {row.score:.2f} on stage {row.stage})")

    # --- shared settings ---------------------------------------------------------------------

    def _genome(self, row: VariantRow) -> Path:
        with self._lock:
            if row.id not in self._checkouts:
                self._checkouts[row.id] = self.genomes.checkout(row.commit_sha, self._work / "genomes" / row.id)
            return self._checkouts[row.id]

    def _limits(self, timeout: float) -> Limits:
        box = self.config.sandbox
        return Limits(memory=box.memory, cpus=box.cpus, pids=box.pids, disk=box.disk, timeout=timeout)

    def _agent_env(self, policy: str) -> dict[str, str]:
        return {"DGM_POLICY": policy, "DGM_ACTION_FORMAT": self.config.agent.action_format,
                "DGM_UPSTREAM_MODEL": self.config.model.name}

    def _agent_args(self, max_steps: int, timeout: float) -> list[str]:
        # the agent stops and writes its patch before the container's clock would kill it
        args = ["--max-steps", str(max_steps), "--time-limit", f"{timeout - min(60.0, timeout / 10):g}"]
        window = self.config.agent.context_window
        return args + (["--context-window", str(window)] if window else [])


def refuse_used_run_dir(path: Path) -> None:
    """A new run may start only in an absent or empty directory (one holding just its lock:
    `dgm run` takes the lock before it writes anything)."""
    from archive.db import LOCK_FILE

    if path.exists() and (not path.is_dir() or any(p.name != LOCK_FILE for p in path.iterdir())):
        raise DgmError(f"{path} already exists and is not empty: resume it with `dgm resume {path}` or pick another")


def new_run(path: Path, config: Config, seed_source: Path) -> RunDir:
    """A run directory: the resolved config, a genome repository whose root is the seed, and a
    database holding the seed, committed and ready for validation."""
    from archive.db import RunDB
    from archive.genome_repo import GenomeRepo
    from dgm.config import to_toml

    refuse_used_run_dir(path)
    path.mkdir(parents=True, exist_ok=True)
    run = RunDir(path)
    run.config_path.write_text(to_toml(config))
    _, seed_sha = GenomeRepo.create(run.genome_path, seed_source)
    db = RunDB(run.db_path, create=True)
    db.add_variant(SEED_ID, None, 0, "committed", seed_sha)
    db.update_variant(SEED_ID, summary="the seed agent")
    return run
