"""The project's check settings for CI: `runshot.toml`, or `[tool.runshot]` in `pyproject.toml`.

    settings = load_site_config(None)          # ./runshot.toml, else ./pyproject.toml's [tool.runshot], else none
    settings = load_site_config("ci/runshot.toml")

It holds what a CI job would otherwise repeat on every `runshot check` (and the baseline `runshot regress` compares
with). Flags given on the command line override it. Paths in it are relative to the file's folder. This is not
the user's own settings file (~/.config/runshot/config.toml, runshot/settings/config.py), which holds model settings and
is never read here. A bad file is one UsageError line (exit 2).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from runshot.errors import UsageError

FILE_NAME = "runshot.toml"
PYPROJECT = "pyproject.toml"

# key -> (type(s) its value must have, whether it names a path relative to the file)
KEYS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "url": (str, False),
    "folder": (str, True),
    "start": (str, False),
    "start_timeout": ((int, float), False),
    "pages": (int, False),
    "page": (list, False),
    "allow_hosts": (list, False),
    "any_host": (bool, False),
    "checks": (list, False),
    "strict": (bool, False),
    "spec": (str, True),
    "waive": (dict, False),
    "baseline": (str, True),
    "json": (str, True),
    "junit": (str, True),
    "summary": (str, True),
    "screenshot": (str, True),
    "page_timeout": ((int, float), False),
    "check_timeout": ((int, float), False),
    "jobs_checks": (int, False),
    "sandbox": (str, False),
    "chromium": (str, True),
    "timings": (bool, False),
}
LISTS_OF_STR = ("page", "allow_hosts", "checks")


@dataclass(frozen=True)
class SiteConfig:
    """The settings read (key -> value, paths made absolute), where from, and the rules waived with reasons."""

    values: dict = field(default_factory=dict)
    source: str = ""  # the file (and table) they came from; "" when there is none
    waived: dict[str, str] = field(default_factory=dict)  # rule id -> reason

    def get(self, key: str, default=None):
        return self.values.get(key, default)


def find_config(cwd: Path | None = None) -> tuple[Path, bool] | None:
    """(file, whether it is a pyproject.toml) in `cwd`: runshot.toml first, then a pyproject.toml with
    [tool.runshot]; None when neither is there."""
    cwd = cwd or Path.cwd()
    if (cwd / FILE_NAME).is_file():
        return cwd / FILE_NAME, False
    pyproject = cwd / PYPROJECT
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None  # a pyproject.toml that is not ours to judge
        if isinstance(data.get("tool"), dict) and "runshot" in data["tool"]:
            return pyproject, True
    return None


def load_site_config(path: str | None = None, cwd: Path | None = None) -> SiteConfig:
    """The settings in `path` (`--config`), else the ones found in `cwd` (see find_config), else empty ones."""
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise UsageError(f"--config {path}: no such file")
        in_pyproject = file.name == PYPROJECT
    else:
        found = find_config(cwd)
        if found is None:
            return SiteConfig()
        file, in_pyproject = found
    table = _read_table(file, in_pyproject)
    label = f"{file} [tool.runshot]" if in_pyproject else str(file)
    return SiteConfig(_validated(table, label, file.resolve().parent), label, _waived(table.get("waive"), label))


def _read_table(file: Path, in_pyproject: bool) -> dict:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{file}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{file}: not valid TOML ({exc})") from None
    if not in_pyproject:
        return data
    table = data.get("tool", {}).get("runshot") if isinstance(data.get("tool"), dict) else None
    if not isinstance(table, dict):
        raise UsageError(f"{file}: no [tool.runshot] table")
    return table


def _validated(table: dict, label: str, folder: Path) -> dict:
    values: dict = {}
    for key, value in table.items():
        if key not in KEYS:
            raise UsageError(f"{label}: unknown setting {key!r} (known: {', '.join(KEYS)})")
        kinds, is_path = KEYS[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
            raise UsageError(f"{label}: {key} must be {_describe(kinds)}, not {type(value).__name__}")
        if key in LISTS_OF_STR and not all(isinstance(v, str) and v.strip() for v in value):
            raise UsageError(f"{label}: {key} must be a list of non-empty strings")
        if key == "waive":
            continue
        values[key] = str(folder / value) if is_path and value != "-" else value  # "-": standard output
    if "url" in values and "folder" in values:
        raise UsageError(f"{label}: give url or folder, not both")
    if "start" in values and "url" not in values:
        raise UsageError(f"{label}: start needs url (the address the started app answers at)")
    if "pages" in values and not 1 <= values["pages"] <= 1000:
        raise UsageError(f"{label}: pages must be between 1 and 1000")
    return values


def _waived(table, label: str) -> dict[str, str]:
    """[waive] maps rule ids to the reason each is waived; a rule without a reason is refused."""
    if table is None:
        return {}
    out: dict[str, str] = {}
    for rule, reason in table.items():
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{label}: waive.{rule} needs a reason (a non-empty string)")
        out[str(rule)] = reason.strip()
    return out


def _as_tuple(kinds) -> tuple:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _describe(kinds) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
             dict: "a table"}
    return " or ".join(dict.fromkeys(names[k] for k in _as_tuple(kinds)))
