"""Every knob of a run, in one TOML file; flags override it; the run directory keeps the result.

The dataclass defaults below are the one source of truth: `dgm config` prints them as TOML.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from dgm.errors import DgmError


class ConfigError(DgmError):
    """A config file or override names an unknown knob or gives it a value of the wrong type."""


@dataclass(frozen=True)
class RunConfig:
    runs_dir: str = "runs"
    seed: int = 0
    max_steps: int = 8
    max_cost: float = 10.0  # US dollars across every model call of the run
    max_wall_time: float = 8 * 3600.0  # seconds
    children_per_step: int = 2
    parallel_self_modify: int = 1  # self-modifications running while children are evaluated
    parallel_evaluations: int = 2  # task containers at once


@dataclass(frozen=True)
class ModelConfig:
    # A litellm model string ("anthropic/claude-sonnet-4-5", "openai/<name>" with api_base for a
    # local OpenAI-compatible server). Empty: no model, so the agent uses its search-based repair
    # policy and self-modification falls back to genetic improvement.
    name: str = ""
    api_base: str = ""
    api_key_env: str = ""  # name of the host environment variable holding the key
    # Dollars per million tokens; negative: litellm's price for the model. A model litellm does not
    # price (a custom deployment, a local server) must be priced here (0 when free) or the run is
    # refused. Given prices also apply to cache reads and writes.
    input_price_per_mtok: float = -1.0
    output_price_per_mtok: float = -1.0
    # Passed to litellm with every call, e.g. reasoning_effort = "low" or thinking = {type = "enabled",
    # budget_tokens = 4000}; with drop_params, litellm drops what the model does not take (temperature=0).
    extra: dict = field(default_factory=dict)
    drop_params: bool = True
    prompt_caching: bool = True  # Anthropic cache_control on the system prompt and the last message
    # a call's output tokens by who calls: the default, and the most a caller may ask for
    max_tokens_agent: int = 8192
    max_tokens_diagnose: int = 16384
    max_tokens_self_modify: int = 8192
    timeout: float = 120.0  # seconds per attempt, plus 50 ms per output token allowed
    retry_total_wait: float = 600.0  # seconds one call may wait over its retries, timed-out attempts included
    retry_first_delay: float = 2.0  # seconds; doubles per retry up to a minute
    max_concurrent_calls: int = 8  # calls at the provider at once, over every caller of the run
    tokens_per_minute: int = 0  # prompt and output tokens sent per minute, over every caller; 0: no limit
    pause_after_failures: int = 3  # consecutive calls failing after every retry pause the run


# litellm arguments dgm sets on every call (dgm/llm/provider.py, gateway.py), with the knob for each:
# in model.extra one would collide with dgm's (every call failing) or be silently overridden
SET_BY_DGM = {
    "model": "model.name", "api_base": "model.api_base", "base_url": "model.api_base",
    "api_key": "model.api_key_env", "timeout": "model.timeout", "num_retries": "model.retry_total_wait",
    "max_retries": "model.retry_total_wait", "drop_params": "model.drop_params",
    "max_tokens": "model.max_tokens_agent, max_tokens_diagnose or max_tokens_self_modify",
    "max_completion_tokens": "model.max_tokens_agent, max_tokens_diagnose or max_tokens_self_modify",
    "messages": "nothing (the caller's)", "stream": "nothing (the gateway does not stream)",
}


@dataclass(frozen=True)
class AgentConfig:
    policy: str = "auto"  # "llm" | "repair" | "auto" (llm when a model is configured)
    # "tools" (function calling) | "text" (fenced bash blocks) | "auto" (text for a model litellm
    # knows to lack function calling)
    action_format: str = "auto"
    max_steps: int = 150  # model calls per task
    context_window: int = 0  # tokens the agent keeps its conversation under; 0: litellm's record
    timeout: float = 900.0  # seconds per task, agent and grading each (the agent stops a bit before)
    self_modify_max_steps: int = 250  # a parent working on its own source
    self_modify_timeout: float = 1800.0
    max_cost: float = 3.0  # US dollars of model calls per task, enforced by the gateway


@dataclass(frozen=True)
class MutationConfig:
    kind: str = "auto"  # "self" (the parent edits its own source) | "gi" (libcst mutations) | "auto"
    near_duplicate_threshold: float = 0.95  # code similarity above which a child is rejected
    diagnosis_context_tokens: int = 60_000  # what the diagnosis is shown: log, patch, tests, genome


@dataclass(frozen=True)
class SelectionConfig:
    rule: str = "dgm"  # "dgm" | "greedy" | "uniform" | "score_prop" | "hgm"
    # Admission: every valid child stays in the lineage; only those at least this novel (0..1,
    # behaviour and code distance to their nearest archive members) may become parents.
    min_novelty: float = 0.0


@dataclass(frozen=True)
class EvaluationConfig:
    suite: str = "pyfix"  # a bundled suite name, a suite directory, "swebench:PATH" or "polyglot:PATH"
    stage_sizes: list[int] = field(default_factory=lambda: [10, 50])
    stage_thresholds: list[float] = field(default_factory=lambda: [0.4])  # to enter the next stage
    # fixed stages in place of stage_sizes: each a list of task ids or a JSON file of them
    stage_lists: list[list[str] | str] = field(default_factory=list)
    full_suite_for_best: bool = True
    heldout_size: int = 0  # held-out tasks scored for variants reaching the last stage; 0: all
    heldout: str = "split:heldout"  # which tasks are held out: split:NAME, ids:A,B or fraction:F (benchmarks/heldout.py)
    # before stage 0 a diagnosed child runs the task it was diagnosed from, up to this many tries,
    # and goes on only if one resolves it; 0 switches verification off
    verify_tries: int = 2
    cache: bool = True  # reuse the seed's evaluations across runs (`dgm run --no-cache`: off)
    cache_dir: str = ""  # default: $DGM_CACHE_DIR/evaluations, else the user's cache dir (~/.cache/dgm/evaluations)


@dataclass(frozen=True)
class SandboxConfig:
    memory: str = "2g"
    cpus: float = 1.0
    pids: int = 512
    disk: str = "2g"  # a container's /work and other writable volumes together


@dataclass(frozen=True)
class ExecutorConfig:
    kind: str = "local"  # "local" (containers on this machine) | "ray" (pip install 'dgm[ray]')
    address: str = ""  # for ray: "ray://head:10001", "auto", or empty for ray.init() defaults
    # for ray across machines: "host:port" of this machine as the nodes reach it; the run's LLM
    # gateway also listens there and nodes relay their containers' calls to it (port 0: any)
    gateway_address: str = ""


@dataclass(frozen=True)
class Config:
    run: RunConfig = field(default_factory=RunConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    mutation: MutationConfig = field(default_factory=MutationConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    @property
    def budget(self) -> float | None:
        """run.max_cost as the run's dollar budget, or None with no model configured (nothing is
        spent: the report and `dgm status` show no budget)."""
        return self.run.max_cost if self.model.name else None


def _coerce(value: object, hint: object, where: str) -> object:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, where)
            except ConfigError:
                pass
        names = " or ".join(getattr(option, "__name__", str(option)) for option in typing.get_args(hint))
        raise ConfigError(f"{where} must be {names}, not {value!r}")
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, not {value!r}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is not bool and isinstance(value, bool)):  # type: ignore[arg-type]
        raise ConfigError(f"{where} must be {hint.__name__}, not {value!r}")  # type: ignore[union-attr]
    return value


def _from_tables(tables: dict, source: str) -> Config:
    hints = typing.get_type_hints(Config)
    sections = {}
    for name, table in tables.items():
        if name not in hints:
            raise ConfigError(f"{source}: unknown section [{name}]; known: {', '.join(hints)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        section_type = hints[name]
        known = typing.get_type_hints(section_type)
        values = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"{source}: unknown key {name}.{key}; known: {', '.join(known)}")
            values[key] = _coerce(value, known[key], f"{source}: {name}.{key}")
        sections[name] = section_type(**values)
    return _validated(Config(**sections), source)


def _is_host_port(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and int(port) < 65536


def _validated(config: Config, source: str) -> Config:
    checks = [
        (config.agent.policy in ("llm", "repair", "auto"), "agent.policy must be llm, repair or auto"),
        (config.agent.action_format in ("tools", "text", "auto"), "agent.action_format must be tools, text or auto"),
        (config.mutation.kind in ("self", "gi", "auto"), "mutation.kind must be self, gi or auto"),
        (config.executor.kind in ("local", "ray"), "executor.kind must be local or ray"),
        (not config.executor.gateway_address or _is_host_port(config.executor.gateway_address),
         f"executor.gateway_address must be host:port, not {config.executor.gateway_address!r}"),
        (0.0 <= config.selection.min_novelty <= 1.0, "selection.min_novelty must be between 0 and 1"),
        (config.selection.rule in ("dgm", "greedy", "uniform", "score_prop", "hgm"),
         "selection.rule must be dgm, greedy, uniform, score_prop or hgm"),
        (len(config.evaluation.stage_sizes) >= 1 and all(n > 0 for n in config.evaluation.stage_sizes),
         "evaluation.stage_sizes must list at least one positive size"),
        (len(config.evaluation.stage_thresholds)
         == len(config.evaluation.stage_lists or config.evaluation.stage_sizes) - 1,
         "evaluation.stage_thresholds needs one threshold per stage after the first"),
        (config.run.max_steps >= 0 and config.run.children_per_step >= 1, "run.max_steps >= 0 and run.children_per_step >= 1"),
        (config.model.max_concurrent_calls >= 1 and config.model.tokens_per_minute >= 0
         and config.model.pause_after_failures >= 1,
         "model.max_concurrent_calls and model.pause_after_failures must be at least 1, model.tokens_per_minute >= 0"),
        (config.agent.max_cost > 0, "agent.max_cost must be positive"),
        (config.run.parallel_evaluations >= 1 and config.run.parallel_self_modify >= 1,
         "run.parallel_evaluations and run.parallel_self_modify must be at least 1"),
        (config.agent.policy != "llm" or bool(config.model.name), "agent.policy = llm needs model.name"),
        (config.evaluation.verify_tries >= 0, "evaluation.verify_tries must be 0 (off) or more"),
        (config.mutation.diagnosis_context_tokens >= 1000, "mutation.diagnosis_context_tokens must be at least 1000"),
        (config.mutation.kind != "self" or bool(config.model.name),
         "mutation.kind = self needs model.name: the parent works on its own source with the model"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{source}: {message}")
    for key in config.model.extra:
        if key in SET_BY_DGM:
            raise ConfigError(f"{source}: model.extra.{key} is set by dgm on every call; set {SET_BY_DGM[key]} instead")
    _check_suite_spec(config.evaluation.suite, source)
    _check_heldout(config.evaluation.heldout, source)
    return config


def _check_heldout(spec: str, source: str) -> None:
    from benchmarks.heldout import parse_heldout
    from benchmarks.suite import SuiteError

    try:
        parse_heldout(spec)
    except SuiteError as e:
        raise ConfigError(f"{source}: {e}") from e


def _check_suite_spec(spec: str, source: str) -> None:
    from benchmarks.suite import SuiteError
    from benchmarks.task_suite import split_spec

    try:
        split_spec(spec)
    except SuiteError as e:
        raise ConfigError(f"{source}: evaluation.suite: {e}") from e


def load_config(path: Path | None = None, overrides: dict[str, object] | None = None) -> Config:
    """Read `path` (defaults where absent), then apply `overrides` such as {"run.max_steps": 3}."""
    tables: dict = {}
    source = str(path) if path else "defaults"
    if path is not None:
        try:
            tables = tomllib.loads(path.read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"config file {path} does not exist") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path} is not valid TOML: {e}") from e
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not key:
            raise ConfigError(f"override {dotted!r} must name section.key")
        tables.setdefault(section, {})[key] = value
    return _from_tables(tables, source)


def parse_override(text: str) -> tuple[str, object]:
    """`section.key=value` from the command line; the value is read as TOML (3, 0.5, "x", [1, 2])."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ConfigError(f"--set {text!r} must look like section.key=value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key.strip(), value


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def to_toml(config: Config) -> str:
    lines = []
    for section in dataclasses.fields(config):
        lines.append(f"[{section.name}]")
        for key, value in dataclasses.asdict(getattr(config, section.name)).items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)
