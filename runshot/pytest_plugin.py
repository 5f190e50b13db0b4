"""A pytest plugin: runshot's validation as pytest test items (installed as the pytest plugin `runshot`).

    pytest --runshot site/ --runshot-checks runtime,a11y   # one item per --runshot folder
    pytest apps/                                         # every `*.runshot.md` spec found becomes an item
    pytest --runshot-specs specs/todo.md                 # a spec file of any name becomes an item

Options:
  --runshot DIR          (repeatable) validate the project in DIR; its spec is --runshot-spec, else
                         DIR/.runshot/spec.md when present (what `runshot new` leaves), else none.
  --runshot-spec SPEC    spec file for the --runshot folders (entry page, acceptance checks).
  --runshot-specs PATH   (repeatable) a spec file, or a folder whose *.md files are specs: each is an item.
  --runshot-checks LIST  comma-separated checks (default: all).
  --runshot-strict       warnings fail too.
  --runshot-screenshots DIR  where screenshots go (default: a fresh temporary folder).

Which project a spec file validates (first that applies):
  1. the front matter's `project:` key, a folder relative to the spec file;
  2. the folder beside the spec named like it: `apps/todo.runshot.md` (or `apps/todo.md`) validates `apps/todo/`;
  3. the spec's own folder: `apps/todo/todo.runshot.md` validates `apps/todo/`.

When --runshot or --runshot-specs is given and no test paths are, pytest runs only runshot's items (not the
configured test paths). Findings make up the failure text; on failure the screenshot's path is printed and
recorded as the `runshot_screenshot` property (it shows up in --junitxml). A run that uses none of this pays
nothing: this module imports runshot's browser machinery only when an item runs.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from runshot.errors import RunshotError
from runshot.settings import from_options
from runshot.values import STATE_DIR

SPEC_SUFFIX = ".runshot.md"
SCREENSHOT_PROPERTY = "runshot_screenshot"
_STATE = "_runshot_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runshot", "runshot: validate web projects in headless Chromium")
    group.addoption("--runshot", action="append", default=[], metavar="DIR", dest="runshot_dirs",
                    help="validate the web project in DIR as a test item (repeatable)")
    group.addoption("--runshot-spec", metavar="SPEC", dest="runshot_spec", default=None,
                    help="spec file for the --runshot folders (default: DIR/.runshot/spec.md when present)")
    group.addoption("--runshot-specs", action="append", default=[], metavar="PATH", dest="runshot_specs",
                    help="a spec file, or a folder of *.md spec files, each validating the project beside it "
                         "(repeatable; files named *.runshot.md are collected anyway)")
    group.addoption("--runshot-checks", metavar="LIST", dest="runshot_checks", default=None,
                    help="comma-separated runshot checks to run (default: all)")
    group.addoption("--runshot-strict", action="store_true", dest="runshot_strict", default=False,
                    help="runshot warnings fail the item too")
    group.addoption("--runshot-screenshots", metavar="DIR", dest="runshot_screenshots", default=None,
                    help="folder for runshot's screenshots (default: a fresh temporary folder)")


class _State:
    """Per-session state: the explicit spec files and a lazily started, shared validator."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.explicit_specs: set[Path] = set()
        self.validator = None
        self.registry = None
        self.screenshots: Path | None = None
        # the session's settings, built once from the --runshot-* options (checks are validated when used)
        self.settings = from_options(checks=config.getoption("runshot_checks") or None,
                                     strict=bool(config.getoption("runshot_strict")))

    def get_registry(self):
        """Built-in and plugin checks, discovered once per session (a broken plugin: one warning line)."""
        if self.registry is None:
            from runshot.validators.runner.registry import load_registry  # lazy: start-up of every pytest session

            self.registry = load_registry()
        return self.registry

    def get_validator(self):
        if self.validator is None:
            from runshot import wiring  # lazy: start-up of every pytest session

            self.validator = wiring.validator_factory(self.settings.browser, self.get_registry())()
        return self.validator

    def screenshot_dir(self) -> Path:
        if self.screenshots is None:
            given = self.config.getoption("runshot_screenshots")
            self.screenshots = Path(given) if given else Path(tempfile.mkdtemp(prefix="runshot-screenshots-"))
            self.screenshots.mkdir(parents=True, exist_ok=True)
        return self.screenshots

    def close(self) -> None:
        validator, self.validator = self.validator, None
        if validator is not None:
            validator.close()


def _state(config: pytest.Config) -> _State:
    return getattr(config, _STATE)


def _check_names(config: pytest.Config) -> list[str] | None:
    value = config.getoption("runshot_checks")
    if not value:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    registry = _state(config).get_registry()  # only reached when the option is used
    unknown = registry.unknown(names)
    if unknown:
        raise pytest.UsageError(f"--runshot-checks: unknown check(s) {', '.join(unknown)} "
                                f"(known: {registry.describe_known()})")
    return names


def pytest_configure(config: pytest.Config) -> None:
    state = _State(config)
    setattr(config, _STATE, state)
    config.add_cleanup(state.close)
    dirs = config.getoption("runshot_dirs") or []
    specs = config.getoption("runshot_specs") or []
    if not dirs and not specs:
        return
    _check_names(config)
    explicit: list[str] = []
    for raw in specs:
        p = Path(raw)
        if p.is_dir():
            found = sorted(x for x in p.glob("*.md") if x.is_file())
            if not found:
                raise pytest.UsageError(f"--runshot-specs {raw}: no *.md spec files in that folder")
        elif p.is_file():
            found = [p]
        else:
            raise pytest.UsageError(f"--runshot-specs {raw}: no such file or folder")
        for f in found:
            state.explicit_specs.add(f.resolve())
            explicit.append(str(f))
    for d in dirs:
        if not Path(d).is_dir():
            raise pytest.UsageError(f"--runshot {d}: not a folder")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []  # asked for runshot items only: do not collect the configured test paths as well
    config.args = list(config.args) + [s for s in explicit if s not in config.args]


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    name = file_path.name
    if not name.endswith(".md"):
        return None
    if name.endswith(SPEC_SUFFIX) or file_path.resolve() in _state(parent.config).explicit_specs:
        return RunshotSpecFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    for d in config.getoption("runshot_dirs") or []:
        items.append(RunshotItem.from_parent(session, name=f"runshot[{d}]", nodeid=f"runshot[{d}]", project=Path(d),
                                             spec_path=None))


def project_for_spec(spec_path: Path, extra: dict | None = None) -> Path:
    """The project folder a spec file validates: `project:` in its front matter, else the folder named like the
    spec beside it (`todo.runshot.md` or `todo.md` -> `todo/`), else the spec's own folder."""
    folder = spec_path.parent
    declared = (extra or {}).get("project")
    if isinstance(declared, str) and declared.strip():
        return (folder / declared.strip()).resolve()
    name = spec_path.name
    stem = name[: -len(SPEC_SUFFIX)] if name.endswith(SPEC_SUFFIX) else spec_path.stem
    beside = folder / stem
    if stem and beside.is_dir():
        return beside.resolve()
    return folder.resolve()


class RunshotSpecFile(pytest.File):
    """A spec file: one item validating the project that goes with it."""

    def collect(self):
        from runshot.spec import parse_spec_file  # lazy: start-up of every pytest session

        try:
            spec = parse_spec_file(self.path)
        except RunshotError as exc:
            raise self.CollectError(f"runshot: {exc.message}") from None
        project = project_for_spec(self.path, spec.extra)
        yield RunshotItem.from_parent(self, name=spec.title or self.path.name, project=project,
                                      spec_path=self.path)


class RunshotFailed(Exception):
    """The project has error-level findings (carried for the failure text)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class RunshotItem(pytest.Item):
    """Validate one project folder with runshot; error-level findings fail the item."""

    def __init__(self, *, project: Path, spec_path: Path | None, **kwargs):
        super().__init__(**kwargs)
        self.project = Path(project)
        self.spec_path = spec_path
        self.screenshot: Path | None = None

    def _spec(self):
        from runshot.spec import Spec, parse_spec_file  # lazy: start-up of every pytest session

        if self.spec_path is not None:
            return parse_spec_file(self.spec_path)
        given = self.config.getoption("runshot_spec")
        if given:
            return parse_spec_file(Path(given))
        kept = self.project / STATE_DIR / "spec.md"
        if kept.is_file():
            return parse_spec_file(kept)
        return Spec(title=self.project.resolve().name, body="", source="(none)")

    def runtest(self) -> None:
        if not self.project.is_dir():
            raise RunshotFailed(f"runshot: {self.project}: not a folder")
        state = _state(self.config)
        spec = self._spec()
        shot = state.screenshot_dir() / (_safe_name(self.nodeid) + ".png")
        result = state.get_validator().validate(
            self.project.resolve(), spec, checks=_check_names(self.config), screenshot_path=shot,
            strict=state.settings.checks.strict,
        )
        self.screenshot = result.screenshot
        if result.passed:
            return
        if result.screenshot is not None:
            self.user_properties.append((SCREENSHOT_PROPERTY, str(result.screenshot)))
        raise RunshotFailed(_failure_text(self.project, result))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RunshotFailed):
            return excinfo.value.text
        if isinstance(excinfo.value, RunshotError):
            return f"runshot: {excinfo.value.message}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        where = self.spec_path if self.spec_path is not None else self.project
        return where, None, f"runshot: {self.project}"


def _failure_text(project: Path, result) -> str:
    errs = [f for f in result.findings if f.is_error]
    warns = [f for f in result.findings if not f.is_error]
    lines = [f"runshot: {project} failed: {len(errs)} error(s), {len(warns)} warning(s) "
             f"(checks: {', '.join(result.checks_run) or 'none'})"]
    for f in errs + warns:
        where = f" ({f.where})" if f.where else ""
        lines.append(f"  {f.severity:7} [{f.check}] {f.message}{where}")
        if f.hint and f.is_error:
            lines.append(f"          hint: {f.hint}")
    if result.screenshot is not None:
        lines.append(f"screenshot: {result.screenshot}")
    return "\n".join(lines)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "project"
