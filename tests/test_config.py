"""A run's config: one TOML file with every knob, flags on top, clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from dgm.config import Config, ConfigError, load_config, parse_override, to_toml


def test_defaults_round_trip_through_toml(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(to_toml(Config()))
    assert load_config(path) == Config()


def test_the_readme_short_run_config_loads_and_runs_without_a_model():
    quick = load_config(Path(__file__).resolve().parent.parent / "benchmarks/suites/pyfix/quick.toml")
    assert quick.evaluation.suite == "pyfix" and not quick.model.name
    assert quick.run.max_steps >= 1 and quick.run.max_wall_time < 30 * 60


def test_file_values_and_overrides_combine(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[run]\nmax_steps = 3\n\n[selection]\nrule = "hgm"\n')
    key, value = parse_override("run.max_steps=5")
    config = load_config(path, {key: value, "evaluation.stage_sizes": [2, 4, 8],
                                "evaluation.stage_thresholds": [0.1, 0.2]})
    assert config.run.max_steps == 5
    assert config.selection.rule == "hgm"
    assert config.evaluation.stage_sizes == [2, 4, 8]
    assert config.run.max_cost == Config().run.max_cost


def test_provider_knobs_round_trip_as_an_inline_table(tmp_path):
    extra = {"reasoning_effort": "low", "thinking": {"type": "enabled", "budget_tokens": 2000}}
    config = load_config(None, {"model.extra": extra, "model.drop_params": False})
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config))
    assert load_config(path).model.extra == extra and load_config(path) == config
    key, value = parse_override('model.extra={reasoning_effort = "high"}')
    assert load_config(None, {key: value}).model.extra == {"reasoning_effort": "high"}


def test_integers_are_accepted_where_floats_are_expected():
    assert load_config(None, {"run.max_cost": 3}).run.max_cost == 3.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"run.max_stepz": 1}, "unknown key run.max_stepz"),
        ({"runn.max_steps": 1}, r"unknown section \[runn\]"),
        ({"run.max_steps": "many"}, "run.max_steps must be int, not 'many'"),
        ({"run.max_steps": True}, "run.max_steps must be int, not True"),
        ({"evaluation.stage_sizes": [1, "a"]}, r"evaluation.stage_sizes\[1\] must be int"),
        ({"evaluation.stage_sizes": [5, 10, 20]}, "one threshold per stage after the first"),
        ({"selection.rule": "best"}, "selection.rule must be dgm, greedy"),
        ({"agent.policy": "llm"}, "agent.policy = llm needs model.name"),
        ({"executor.gateway_address": "head"}, "executor.gateway_address must be host:port, not 'head'"),
        ({"model.max_concurrent_calls": 0}, "model.max_concurrent_calls and model.pause_after_failures must be at least 1"),
        ({"agent.max_cost": 0}, "agent.max_cost must be positive"),
        ({"model.extra": "low"}, "model.extra must be dict"),
        ({"model.extra": {"timeout": 600}}, "model.extra.timeout is set by dgm on every call; set model.timeout"),
        ({"model.extra": {"drop_params": False}}, "model.extra.drop_params .* set model.drop_params instead"),
        ({"model.extra": {"max_tokens": 10}}, "model.extra.max_tokens .* set model.max_tokens_agent"),
        ({"evaluation.suite": "swebnch:tasks"}, "evaluation.suite: suite 'swebnch:tasks': unknown suite kind 'swebnch'"),
        ({"evaluation.suite": "swebench:"}, "evaluation.suite: .*swebench: needs a path"),
    ],
)
def test_bad_values_name_the_knob(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[run\nmax_steps = 3")
    with pytest.raises(ConfigError, match=f"{broken} is not valid TOML"):
        load_config(broken)


def test_override_values_are_read_as_toml_or_bare_strings():
    assert parse_override("run.seed=7") == ("run.seed", 7)
    assert parse_override("model.name=openai/gpt") == ("model.name", "openai/gpt")
    assert parse_override("evaluation.stage_sizes=[1, 2]") == ("evaluation.stage_sizes", [1, 2])
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("run.seed")
