"""Where settings come from: flags, then environment, then the config file, then the embedded default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from runshot.errors import UsageError
from runshot.redact import redact_url

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
LOCAL = "local"


def config_path(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("RUNSHOT_CONFIG"):
        return Path(env["RUNSHOT_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "runshot" / "config.toml"


def load_config(env: dict | None = None) -> dict:
    """The config file's table, or {} when there is none. A broken file is a usage error naming it."""
    path = config_path(env)
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config file ({exc})") from None
    if "api_key" in data:
        raise UsageError(f"{path}: do not keep API keys in the config file; use OPENAI_API_KEY")
    return data


@dataclass(frozen=True)
class Endpoint:
    """Which model to talk to. `local` means the embedded model (or `local:/path.gguf`)."""

    model: str
    base_url: str | None
    api_key: str | None
    origin: str  # which layer decided: "flags", "environment", "config", "default"

    @property
    def is_local(self) -> bool:
        return self.model == LOCAL or self.model.startswith(LOCAL + ":")

    def __repr__(self) -> str:  # never show the key, nor credentials inside the URL
        return f"Endpoint(model={self.model!r}, base_url={redact_url(self.base_url)!r}, origin={self.origin!r})"


def resolve_endpoint(
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    env: dict | None = None,
    config: dict | None = None,
) -> Endpoint:
    env = os.environ if env is None else env
    config = load_config(env) if config is None else config

    def pick(flag, env_name, cfg_name):
        if flag:
            return flag, "flags"
        if env.get(env_name):
            return env[env_name], "environment"
        if config.get(cfg_name):
            return str(config[cfg_name]), "config"
        return None, None

    m, m_origin = pick(model, "RUNSHOT_MODEL", "model")
    url, url_origin = pick(base_url, "OPENAI_BASE_URL", "base_url")
    key = api_key or env.get("OPENAI_API_KEY") or None

    if m is not None and (m == LOCAL or m.startswith(LOCAL + ":")):
        return Endpoint(model=m, base_url=None, api_key=None, origin=m_origin)
    if m is None and url is None and key is None:
        return Endpoint(model=LOCAL, base_url=None, api_key=None, origin="default")
    if url is None:
        url = OPENAI_BASE_URL
        url_origin = "default"
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url must start with http:// or https:// (got {redact_url(url)!r})")
    origin = m_origin or url_origin or "environment"
    return Endpoint(model=m or "", base_url=url.rstrip("/"), api_key=key, origin=origin)
