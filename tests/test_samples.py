"""The shipped sample specs load, and every name their checks rely on is spelled out in the spec's text."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from runshot.spec import load_spec

SAMPLES = Path(str(resources.files("runshot.samples")))
NAMES = ["hypercube", "dialog-game", "todo", "counter", "tip-calculator"]


def sample_paths():
    return sorted(SAMPLES.glob("*.md"))


def test_the_samples_ship_with_the_package():
    shipped = {p.stem for p in sample_paths()}
    assert set(NAMES) <= shipped


@pytest.mark.parametrize("name", NAMES)
def test_sample_loads_with_checks(name):
    spec = load_spec(str(SAMPLES / f"{name}.md"))
    assert spec.title and spec.body and spec.entry == "index.html"
    assert spec.source.endswith(f"{name}.md")
    assert len(spec.checks) >= 2
    for check in spec.checks:
        assert check.name and check.steps
        assert any(step.action == "expect" for step in check.steps), check.name


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_every_name_a_check_uses_is_written_in_the_spec(path):
    """A model can only pass a check whose role names, labels and texts the spec tells it verbatim."""
    spec = load_spec(str(path))
    body = spec.body
    for check in spec.checks:
        for step in check.steps:
            for key in ("name", "label", "text", "value"):
                value = step.args.get(key)
                if isinstance(value, str) and value and not (step.action in ("fill", "select") and key == "value"):
                    assert value in body, f"{path.name}: {check.name}: {key} {value!r} is not in the spec text"
            for attr, value in (step.args.get("attribute") or {}).items():
                assert f'{attr}="{value}"' in body, f"{path.name}: attribute {attr}={value!r} not in the spec text"


def test_hypercube_is_animated_with_a_toggle_button():
    spec = load_spec(str(SAMPLES / "hypercube.md"))
    assert spec.animated is True
    steps = [s for c in spec.checks for s in c.steps]
    assert any(s.action == "expect" and s.args.get("css") == "canvas" for s in steps)
    assert any(s.action == "click" and s.args == {"role": "button", "name": "Pause"} for s in steps)


def test_dialog_game_checks_the_dialog_keyboard_contract():
    spec = load_spec(str(SAMPLES / "dialog-game.md"))
    steps = [s for c in spec.checks for s in c.steps]
    assert any(s.action == "press" and s.args.get("key") == "Escape" for s in steps)
    assert any(s.args.get("role") == "dialog" and s.args.get("hidden") for s in steps)
    assert any(s.args.get("focused") for s in steps)
    assert {s.args.get("name") for s in steps if s.args.get("role") == "dialog"} == {"Rules", "Game over", "Settings"}


# --- a correct app passes each sample's checks (real Chromium, the real acceptance runner) ---------------------

REFERENCE = Path(__file__).parent / "fixtures" / "samples"


@pytest.fixture(scope="module")
def validator():
    from runshot.validators.runner.project import Validator

    with Validator() as v:
        yield v


@pytest.mark.parametrize("name", NAMES)
def test_a_correct_app_passes_the_sample_checks(validator, name):
    spec = load_spec(str(SAMPLES / f"{name}.md"))
    result = validator.validate(REFERENCE / name, spec, ["acceptance"])
    assert result.checks_run == ["acceptance"]
    assert result.findings == [], [f.message for f in result.findings]
    assert result.passed


def test_a_broken_app_fails_the_sample_checks(validator, tmp_path):
    html = (REFERENCE / "counter" / "index.html").read_text()
    broken = html.replace("count = 0; show();", "show();")  # Reset no longer resets
    assert broken != html
    (tmp_path / "index.html").write_text(broken)
    result = validator.validate(tmp_path, load_spec(str(SAMPLES / "counter.md")), ["acceptance"])
    assert not result.passed
    (finding,) = result.errors
    assert finding.check == "acceptance" and "decrements and resets" in finding.message and "Count: 0" in finding.message
