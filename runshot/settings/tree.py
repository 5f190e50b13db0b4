"""The settings of one run or check: a small tree of frozen values, built once and read where they are used.

    settings = from_options(model="gpt-4o-mini", page_timeout=30, checks="runtime,a11y")
    settings.model.model, settings.browser.page_timeout, settings.checks.names, settings.loop.max_iterations

`from_options` is the one place flat keywords (the Python API's conveniences, the command line's flags) become
settings. Adding an option: its field in one branch here, its flag, and where it is used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from runshot.settings.config import Endpoint, resolve_endpoint
from runshot.values import Limits


@dataclass(frozen=True)
class ModelOptions:
    """Which model, and the limits of one answer; None means the default for the kind of endpoint."""

    timeout: float | None = None  # seconds per attempt (hosted 120, local 600)
    deadline: float | None = None  # seconds per answer, retries included (hosted 900, local 1800)
    max_tokens: int | None = None
    retries: int = 4
    record: str | None = None  # a folder: write every request and answer there (runshot.scale.cassette)
    replay: str | None = None  # a folder: answer from the cassette there, with no endpoint at all
    model: str | None = None  # a name, "local" or "local:/path.gguf" (None: environment, config file, default)
    base_url: str | None = field(default=None, repr=False)  # may hold credentials: never shown
    api_key: str | None = field(default=None, repr=False)
    endpoint: Endpoint | None = None  # resolved from the three above, the environment and the config file


@dataclass(frozen=True)
class BrowserOptions:
    chromium: str | None = None
    sandbox: str | None = None  # "auto" (default), "off", "require"
    page_timeout: float = 15.0
    check_timeout: float = 60.0
    check_jobs: int | None = None  # interacting checks of one validation at once (None: sized to the cores)
    allow_hosts: tuple[str, ...] = ()  # outside hosts pages may reach (`--allow-host`)
    reach: tuple[str, ...] = ()  # a checked URL's own host, when it is not loopback
    escape_proxy: str | None = None  # where what escapes request routing goes (see BrowserSettings)
    outside: str = "error"  # the severity of a blocked outside request: "warning" for an existing app


@dataclass(frozen=True)
class CheckOptions:
    """Which checks judge a project, how strictly, and (for `check` of a site) which pages."""

    names: tuple[str, ...] | None = None  # None: every registered check (keyword and flag: `checks`)
    strict: bool = False  # warnings count as errors
    pages: int = 10  # pages of a site checked at most, the entry page included
    page: tuple[str, ...] = ()  # pages named instead (no links followed)
    any_host: bool = False  # a URL may be on a host that is not loopback or private
    waive: tuple[tuple[str, str], ...] = ()  # (rule id, reason): reported as waived, not counted


# The embedded model's default run time budget: on 2 cores a run derives its checks, generates and repairs once or
# twice, and ends judged (its best iteration kept) within 10 minutes instead of being interrupted.
LOCAL_RUN_TIMEOUT = 540.0


@dataclass(frozen=True)
class RunOptions:
    """The repair loop's options (runshot.loop reads them as `run.options.X`)."""

    max_iterations: int = 4
    limits: Limits = field(default_factory=Limits)
    token_budget: int | None = None  # stop repairing once this many tokens were spent
    run_timeout: float | None = None  # seconds for the whole run (None: LOCAL_RUN_TIMEOUT on the embedded model,
    # else none; 0: none): each model call ends by then, no iteration starts that the time left cannot hold
    candidates: int = 1  # independent first attempts at spread temperatures; the best one is repaired
    model_jobs: int = 1  # model calls at once (candidates); a local llama server answers one at a time anyway
    max_findings_per_round: int = 12  # findings shown in one repair prompt, most blocking first
    edits: bool = True  # repair answers may use SEARCH/REPLACE edit blocks besides whole files
    retry_temperature: float = 0.9  # a repair that repeated the previous errors is retried this hot
    derive_checks: bool = True  # a spec without acceptance checks gets checks written by the model first
    fresh_starts: bool = True  # after repeated errors, start afresh (off when fixing an existing project)
    ranks: dict[str, int] = field(default_factory=dict, hash=False)  # check name -> rank in repair prompts


@dataclass(frozen=True)
class Settings:
    model: ModelOptions = field(default_factory=ModelOptions)
    browser: BrowserOptions = field(default_factory=BrowserOptions)
    checks: CheckOptions = field(default_factory=CheckOptions)
    loop: RunOptions = field(default_factory=RunOptions)


ALIASES = {"checks": "names"}  # keyword -> field, where the field's own name would read badly
_BRANCHES = {"model": ModelOptions, "browser": BrowserOptions, "checks": CheckOptions, "loop": RunOptions}


def _keywords() -> dict[str, tuple[str, str]]:
    """Every flat keyword -> (branch, field). Field names are unique across the branches (a test keeps them so)."""
    fields = {f.name: (branch, f.name) for branch, kind in _BRANCHES.items() for f in dataclasses.fields(kind)}
    for keyword, name in ALIASES.items():
        fields[keyword] = fields.pop(name)
    return fields


KEYWORDS = _keywords()


def _names(value) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [n.strip() for n in value.split(",")]
    names = tuple(n for n in value if n)
    return names or None


# How a keyword's value becomes the field's (a list or "a,b" of checks, a path, a dict of waivers)
NORMALIZE = {
    "names": _names,
    "record": str,
    "replay": str,
    "chromium": str,
    "allow_hosts": tuple,
    "reach": tuple,
    "page": tuple,
    "waive": lambda value: tuple(sorted(dict(value).items())),
}


def from_options(settings: Settings | None = None, **options) -> Settings:
    """`settings` (default: the defaults) with each keyword's value in its place; None means "not given".
    An unknown keyword is a TypeError naming it."""
    unknown = [name for name in options if name not in KEYWORDS]
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    settings = settings or Settings()
    changes: dict[str, dict] = {}
    for keyword, value in options.items():
        if value is None:
            continue
        branch, name = KEYWORDS[keyword]
        changes.setdefault(branch, {})[name] = NORMALIZE.get(name, _same)(value)
    return dataclasses.replace(settings, **{branch: dataclasses.replace(getattr(settings, branch), **values)
                                            for branch, values in changes.items()})


def _same(value):
    return value


def as_flat(settings: Settings) -> dict:
    """Every keyword with its value in `settings` (the inverse of from_options)."""
    return {keyword: getattr(getattr(settings, branch), name) for keyword, (branch, name) in KEYWORDS.items()}


def resolve(settings: Settings, env: dict | None = None, config: dict | None = None) -> Settings:
    """`settings` with the model's endpoint decided: flags (the settings' own model, base_url, api_key), then the
    environment, then the config file, then the embedded default (see runshot.settings.config)."""
    m = settings.model
    endpoint = resolve_endpoint(m.model, m.base_url, m.api_key, env, config)
    return dataclasses.replace(settings, model=dataclasses.replace(m, endpoint=endpoint))


def check_names(settings: Settings) -> list[str] | None:
    """The checks asked for (None: every registered check)."""
    names = settings.checks.names
    return list(names) if names is not None else None
