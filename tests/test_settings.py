"""The settings value: built once from flags (or the API's keywords), the environment and the config files, with
flags first; the same value whichever way it is built; unknown keywords refused; frozen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pytest

import runshot
from counterapp import answer
from fakeopenai import FakeOpenAI
from runshot import api
from runshot.cli import common
from runshot.cli.check import check as check_command
from runshot.cli.checksite import merged
from runshot.cli.new import new as new_command
from runshot.generator.localserver import LocalServer, ServerOptions
from runshot.settings import KEYWORDS, Settings, as_flat, from_options, resolve
from runshot.settings.siteconfig import load_site_config
from runshot.settings.tree import BrowserOptions, CheckOptions, ModelOptions, RunOptions
from runshot.values import Limits

FIXTURES = Path(__file__).parent / "fixtures" / "ci"


def flags_of(command: click.Command, args: list[str]) -> dict:
    """The parameters click parses for `command` from `args` (the command itself is not run)."""
    return command.make_context(command.name, args).params


def write_config(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"RUNSHOT_CONFIG": str(path)}


# ---------------------------------------------------------------- precedence


def test_the_model_comes_from_flags_then_environment_then_config_then_default(tmp_path: Path):
    env = write_config(tmp_path, 'model = "from-config"\nbase_url = "http://config.example/v1"\n')
    full_env = {**env, "RUNSHOT_MODEL": "from-env", "OPENAI_BASE_URL": "http://env.example/v1"}

    by_flags = resolve(from_options(model="from-flags", base_url="http://flags.example/v1"), env=full_env)
    assert (by_flags.model.endpoint.model, by_flags.model.endpoint.base_url) == ("from-flags", "http://flags.example/v1")
    assert by_flags.model.endpoint.origin == "flags"

    by_env = resolve(from_options(), env=full_env)
    assert (by_env.model.endpoint.model, by_env.model.endpoint.base_url) == ("from-env", "http://env.example/v1")
    assert by_env.model.endpoint.origin == "environment"

    by_config = resolve(from_options(), env=env)
    assert (by_config.model.endpoint.model, by_config.model.endpoint.base_url) == \
        ("from-config", "http://config.example/v1")
    assert by_config.model.endpoint.origin == "config"

    by_default = resolve(from_options(), env={"RUNSHOT_CONFIG": str(tmp_path / "absent.toml")})
    assert by_default.model.endpoint.is_local and by_default.model.endpoint.origin == "default"
    # a flag for one part, the environment for the other
    mixed = resolve(from_options(model="from-flags"), env=full_env)
    assert (mixed.model.endpoint.model, mixed.model.endpoint.base_url) == ("from-flags", "http://env.example/v1")


def test_the_command_line_builds_the_settings_once_from_its_flags():
    params = flags_of(new_command, ["spec.md", "-o", "out", "--model", "m", "--timeout", "50", "--retries", "2",
                                    "--max-iterations", "3", "--max-files", "10", "--no-derive-checks",
                                    "--checks", "runtime,a11y", "--strict", "--page-timeout", "30",
                                    "--sandbox", "off", "--candidates", "2"])
    settings = common.settings_from_flags(params)
    assert settings.model == ModelOptions(timeout=50, retries=2, model="m")
    assert settings.browser == BrowserOptions(page_timeout=30, sandbox="off")
    assert settings.checks == CheckOptions(names=("runtime", "a11y"), strict=True)
    assert settings.loop == RunOptions(max_iterations=3, limits=Limits(max_files=10), derive_checks=False,
                                       candidates=2)
    # what the Python API builds from the same options as keywords is the same value
    same, parts = api.split_options(None, {"model": "m", "timeout": 50, "retries": 2, "max_iterations": 3,
                                           "limits": Limits(max_files=10), "derive_checks": False,
                                           "checks": ["runtime", "a11y"], "strict": True, "page_timeout": 30,
                                           "sandbox": "off", "candidates": 2, "progress": "p"}, api.MODEL_PARTS)
    assert same == settings and parts.progress == "p"
    defaults = common.settings_from_flags(flags_of(new_command, ["spec.md", "-o", "out"]))
    assert defaults == Settings()


def test_check_flags_win_over_the_projects_config_file(tmp_path: Path, monkeypatch):
    (tmp_path / "runshot.toml").write_text('page_timeout = 20\nchecks = ["runtime"]\npages = 3\n'
                                           'allow_hosts = ["cdn.example"]\nstrict = true\n')
    monkeypatch.chdir(tmp_path)
    config = load_site_config(None)
    ctx = check_command.make_context("check", ["site", "--page-timeout", "40"])
    settings = common.settings_from_flags(merged(ctx, ctx.params, config))
    assert settings.browser.page_timeout == 40  # the flag
    assert settings.checks.names == ("runtime",) and settings.checks.pages == 3 and settings.checks.strict
    assert settings.browser.allow_hosts == ("cdn.example",)
    ctx = check_command.make_context("check", ["site"])
    assert common.settings_from_flags(merged(ctx, ctx.params, config)).browser.page_timeout == 20  # the file


# ---------------------------------------------------------------- one value, refused keywords, frozen


def test_every_field_has_one_keyword_and_flat_values_round_trip():
    branches = {f.name: f.type for f in dataclasses.fields(Settings)}
    fields = [(b, f.name) for b, kind in zip(branches, (ModelOptions, BrowserOptions, CheckOptions, RunOptions))
              for f in dataclasses.fields(kind)]
    assert sorted(KEYWORDS.values()) == sorted(fields)  # each field once, so no keyword is ambiguous
    settings = from_options(model="m", page_timeout=9, checks="runtime, a11y", waive={"r/x": "why"},
                            token_budget=100, allow_hosts=["a.example"])
    assert settings.checks.names == ("runtime", "a11y") and settings.checks.waive == (("r/x", "why"),)
    assert from_options(**as_flat(settings)) == settings
    assert from_options(settings, page_timeout=None) == settings  # None: not given


def test_unknown_keywords_are_refused_by_name(tmp_path: Path):
    with pytest.raises(TypeError, match="page_timeuot"):
        from_options(page_timeuot=3)
    with pytest.raises(TypeError, match="bogus"):
        runshot.check(FIXTURES / "good_app", bogus=1)
    with pytest.raises(TypeError, match="progress"):  # a working part the call does not take
        runshot.check(FIXTURES / "good_app", progress=object())
    with pytest.raises(TypeError, match="max_iteration"):
        runshot.generate("a counter", tmp_path / "out", max_iteration=2)
    assert not (tmp_path / "out").exists()  # refused before anything was written
    with pytest.raises(TypeError, match="colour"):
        api.fix(tmp_path, colour="red")
    with pytest.raises(TypeError, match="n_ctxx"):
        LocalServer(tmp_path / "m.gguf", n_ctxx=1)


def test_settings_are_frozen_and_never_show_credentials():
    settings = from_options(api_key="sk-secret-123456", base_url="http://user:pw-secret@example.com/v1")
    for value, name in ((settings, "model"), (settings.model, "retries"), (settings.browser, "page_timeout"),
                        (settings.checks, "strict"), (settings.loop, "max_iterations")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, None)
    assert "secret" not in repr(settings)
    assert "secret" not in repr(resolve(settings, env={"RUNSHOT_CONFIG": "/nonexistent/config.toml"}))


def test_local_server_options_as_a_value_or_keywords(tmp_path: Path):
    options = ServerOptions(n_ctx=1024, host="127.0.0.2")
    server = LocalServer(tmp_path / "m.gguf", options, n_ctx=2048)
    assert (server.n_ctx, server.host, server.ready_timeout) == (2048, "127.0.0.2", 120.0)
    assert LocalServer(tmp_path / "m.gguf", n_threads=3).n_threads == 3


# ---------------------------------------------------------------- the same run, either way


def test_check_with_a_settings_value_is_check_with_keywords():
    by_keywords = runshot.check(FIXTURES / "broken_app", spec="a page", checks="runtime", page_timeout=20)
    by_value = runshot.check(FIXTURES / "broken_app", spec="a page",
                             settings=from_options(checks=["runtime"], page_timeout=20))
    assert not by_value.passed and by_value.checks_run == by_keywords.checks_run == ["runtime"]
    assert sorted(f.rule for f in by_value.findings) == sorted(f.rule for f in by_keywords.findings)


def test_generate_takes_a_settings_value(tmp_path: Path):
    out = tmp_path / "out"
    with FakeOpenAI(answer("Counter")) as fake:
        settings = from_options(model="scripted", base_url=fake.base_url, checks=["runtime"], derive_checks=False,
                                max_iterations=1)
        report = runshot.generate("A counter with an Increment button", out, settings)
        assert len(fake.chat_requests) == 1
    assert report.passed and report.model["name"] == "scripted" and len(report.iterations) == 1
