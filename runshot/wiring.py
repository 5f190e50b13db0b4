"""From settings (flags, environment, config file) to working parts: a model client with its `ask` function and
redacted description, and a validator. `runshot new`, `runshot batch`, the Python API, the pytest plugin and the
benchmarks all build their parts here, so they cannot drift apart.

    endpoint = resolve_endpoint(model, base_url, api_key)
    with ExitStack() as stack:
        model = open_model(stack, endpoint, ModelOptions(retries=4))
        validator = open_validator(stack, BrowserOptions(chromium=None))
        run_new(spec, out, model.ask, ..., model_info=model.description, ...)
"""

from __future__ import annotations

import os
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, ContextManager
from urllib.parse import urlsplit

from runshot.errors import UsageError
from runshot.redact import redact_url, strip_query, url_secrets
from runshot.settings.config import Endpoint
from runshot.settings.tree import BrowserOptions, ModelOptions

Note = Callable[[str], None]
Status = Callable[[str], ContextManager]


@dataclass
class Model:
    """A model ready to answer: `ask(messages, on_progress)` is what the repair loop calls."""

    settings: object  # runshot.generator.client.ModelSettings (holds the key: never print it)
    client: object
    description: dict  # {"name", "base_url"} with credentials redacted: fit for reports and consoles
    secrets: tuple[str, ...]  # values to scrub from anything written (API key, URL password, query tokens)
    cassette: object = None  # the runshot.scale.cassette Recorder or Player under the client, when there is one
    local: bool = False  # the embedded model, on this machine's CPU

    def ask(self, messages: list[dict], on_progress=None, temperature: float | None = None, seed: int | None = None,
            schema: dict | None = None, deadline: float | None = None):
        """One answer (runshot.generator.client.complete); `deadline` (seconds) shortens the model's own deadline
        for this answer (a run's time budget): an answer still streaming then is kept as it is, cut there."""
        from runshot.generator.client import complete  # lazy: start-up

        settings = self.settings
        if deadline is not None and deadline < settings.deadline:
            settings = replace(settings, deadline=max(deadline, 1.0))
        return complete(self.client, settings, messages, on_progress=on_progress, temperature=temperature,
                        seed=seed, schema=schema)

    @property
    def name(self) -> str:
        return self.description["name"]

    @property
    def where(self) -> str:
        return self.description.get("base_url") or "(local)"


def endpoint_secrets(endpoint: Endpoint | None = None, env: dict | None = None) -> tuple[str, ...]:
    """Secret values known for this run: the API key and credentials inside the base URL (flags or environment)."""
    env = os.environ if env is None else env
    found: list[str] = []
    if endpoint is not None:
        found += [endpoint.api_key or ""] + url_secrets(endpoint.base_url)
    found += [env.get("OPENAI_API_KEY") or ""] + url_secrets(env.get("OPENAI_BASE_URL"))
    return tuple(dict.fromkeys(s for s in found if s))


def make_model_client(settings, transport=None):
    """An openai client for `settings`. Query parameters of the base URL (e.g. `?api-key=…`) are sent as the
    client's default query, because the client would otherwise glue its request paths after them. With
    `transport` (an httpx transport, e.g. a cassette's) the client's requests go through it."""
    from runshot.generator.client import make_client  # lazy: start-up

    if not settings.base_url or "?" not in settings.base_url:
        client = make_client(settings)
    else:
        bare, params = strip_query(settings.base_url)
        client = make_client(replace(settings, base_url=bare))
        client = client.with_options(default_query=params) if params else client
    if transport is not None:
        import openai  # lazy: the generator's dependency, loaded by make_client already

        client = client.with_options(http_client=openai.DefaultHttpxClient(transport=transport))
    return client


def _base_path(base_url: str | None) -> str:
    return urlsplit(strip_query(base_url)[0]).path if base_url else ""


def open_replay(options: ModelOptions, secrets: tuple[str, ...] = ()) -> Model:
    """A model answering from the cassette in `options.replay`: the recorded model name and (redacted) base URL,
    no endpoint, no server started."""
    from runshot.generator.client import ModelSettings  # lazy: start-up
    from runshot.scale.cassette import Player  # lazy: start-up (`runshot check` asks no model)

    player = Player(Path(options.replay), secrets)
    name, base = player.meta.get("model") or "", player.meta.get("base_url") or "http://replay.invalid/v1"
    settings = ModelSettings(name=name, base_url=base, api_key=None, timeout=options.timeout or 120,
                             deadline=options.deadline or 900, max_tokens=options.max_tokens,
                             max_retries=options.retries)
    description = {"name": name, "base_url": player.meta.get("base_url")}
    return Model(settings, make_model_client(settings, player), description, secrets, player)


def only_model(endpoint: Endpoint) -> str:
    """No model named for an endpoint: the one model it serves, or a usage error asking for a name."""
    from runshot.generator.client import ModelSettings  # lazy: start-up

    try:
        client = make_model_client(ModelSettings(name="", base_url=endpoint.base_url, api_key=endpoint.api_key,
                                                 timeout=10))
        ids = [m.id for m in client.models.list()]
    except Exception:  # noqa: BLE001 (an endpoint that cannot list models just needs a name)
        ids = []
    if len(ids) == 1:
        return ids[0]
    raise UsageError("no model named: pass --model NAME (or set RUNSHOT_MODEL)")


def start_local(stack: ExitStack, endpoint: Endpoint, note: Note | None = None,
                status: Status | None = None) -> tuple[str, str]:
    """Start the embedded model's server (stopped when `stack` closes): (base URL, model name)."""
    from runshot.generator import local  # lazy: start-up (`runshot check` asks no model)

    path = local.resolve_local(endpoint.model)
    hint = "" if endpoint.origin != "default" else " (no endpoint configured; use --base-url/--model for a hosted one)"
    if note is not None:
        note(f"model: local {path.name}{hint}")
    with (status or (lambda text: nullcontext()))("starting the local model server…"):
        server = stack.enter_context(local.LocalServer(path, log_dir=Path(local.cache_dir()) / "logs"))
    return server.base_url, path.stem


def open_model(stack: ExitStack, endpoint: Endpoint, options: ModelOptions = ModelOptions(),
               note: Note | None = None, status: Status | None = None,
               local_servers: dict[str, tuple[str, str]] | None = None) -> Model:
    """The model behind `endpoint`, ready to ask. A local model's server is started (once per GGUF when
    `local_servers` is shared between calls) and stopped with `stack`."""
    from runshot.generator.client import ModelSettings  # lazy: start-up

    if options.replay:
        return open_replay(options, endpoint_secrets(endpoint))
    if endpoint.is_local:
        servers = {} if local_servers is None else local_servers
        if endpoint.model not in servers:
            servers[endpoint.model] = start_local(stack, endpoint, note, status)
        base, name = servers[endpoint.model]
        settings = ModelSettings(name=name, base_url=base, api_key=None, timeout=options.timeout or 600,
                                 deadline=options.deadline or 1800, max_tokens=options.max_tokens,
                                 max_retries=options.retries)
    else:
        name = endpoint.model or only_model(endpoint)
        settings = ModelSettings(name=name, base_url=endpoint.base_url, api_key=endpoint.api_key,
                                 timeout=options.timeout or 120, deadline=options.deadline or 900,
                                 max_tokens=options.max_tokens, max_retries=options.retries)
    description = {"name": settings.name, "base_url": redact_url(settings.base_url) if settings.base_url else None}
    secrets = endpoint_secrets(endpoint)
    recorder = None
    if options.record:
        from runshot.scale.cassette import Recorder  # lazy: start-up (`runshot check` asks no model)

        meta = {"model": settings.name, "base_url": description["base_url"]}
        recorder = Recorder(Path(options.record), meta, _base_path(settings.base_url), secrets)
    return Model(settings, make_model_client(settings, recorder), description, secrets, recorder,
                 local=endpoint.is_local)


def check_browser(browser: BrowserOptions) -> None:
    """Fail early (before any tokens are spent) when no Chromium can be found."""
    from runshot.validators.browser.chromium import BrowserSettings  # lazy: start-up

    BrowserSettings(executable=browser.chromium).resolve_executable()


def _browser_settings(browser: BrowserOptions):
    from runshot.validators.browser.chromium import BrowserSettings  # lazy: start-up

    return BrowserSettings(executable=browser.chromium, sandbox=browser.sandbox or "auto",
                           allow_hosts=tuple(browser.allow_hosts), reach=tuple(browser.reach),
                           escape_proxy=browser.escape_proxy)


def validator_factory(browser: BrowserOptions = BrowserOptions(), registry=None, host=None) -> Callable[[], object]:
    """A function making Validators with these options (for pools that start one browser per slot). With
    `host` (see open_host) they use that browser host, which their caller closes."""
    from runshot.validators.browser.context import Timeouts  # lazy: start-up
    from runshot.validators.runner.project import Validator  # lazy: start-up

    settings = host.settings if host is not None else _browser_settings(browser)
    timeouts = Timeouts(load=browser.page_timeout, check=browser.check_timeout)

    def make():
        return Validator(settings, timeouts, host=host, check_jobs=browser.check_jobs, registry=registry,
                         outside=browser.outside)

    return make


def open_host(stack: ExitStack, browser: BrowserOptions = BrowserOptions()):
    """A browser host (closed with `stack`) whose Playwright driver starts now, in the background: made before
    the rest of a validation is set up, it has the driver running by the time the first page is opened."""
    from runshot.validators.browser.chromium import BrowserHost  # lazy: start-up

    host = stack.enter_context(BrowserHost(_browser_settings(browser)))
    host.prestart()
    return host


def open_validator(stack: ExitStack, browser: BrowserOptions = BrowserOptions(), registry=None, host=None):
    """A Validator (closed with `stack`), on `host` when given (see open_host)."""
    return stack.enter_context(validator_factory(browser, registry, host)())
