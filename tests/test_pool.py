"""Real Chromium: an isolated page handed from one check to the next loads as a first visit would, and a page
that cannot be trusted any more is not handed on."""

from __future__ import annotations

from pathlib import Path

import pytest

from runshot.spec import load_spec
from runshot.validators.browser.context import Timeouts
from runshot.validators.browser.pool import SessionPool
from runshot.validators.runner.project import Validator
from runshot.validators.serve.server import serve

TIMEOUTS = Timeouts(load=6.0, action=3.0, check=10.0, settle=0.3)

# The page reports what an earlier visit left behind, then leaves something of everything behind itself.
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
<style>button { display: block; width: 100%; height: 200px; } button:hover { outline: 4px solid red; }</style>
</head><body><main><h1>t</h1><button id="b" type="button">B</button><p id="seen"></p></main>
<script>
const seen = [];
if (localStorage.getItem('visited')) seen.push('local');
if (sessionStorage.getItem('visited')) seen.push('session');
if (document.cookie.includes('visited=1')) seen.push('cookie');
document.getElementById('seen').textContent = seen.join(',') || 'first visit';
console.error('loaded with: ' + (seen.join(',') || 'nothing'));
localStorage.setItem('visited', '1');
sessionStorage.setItem('visited', '1');
document.cookie = 'visited=1';
const open = indexedDB.open('db', 1);
open.onupgradeneeded = () => open.result.createObjectStore('s');
document.getElementById('b').onclick = () => window.open('index.html?popup', '_blank');
</script></body></html>
"""


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=TIMEOUTS) as v:
        yield v


@pytest.fixture()
def app(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(PAGE)
    return tmp_path


def in_pool(validator: Validator, folder: Path, body):
    with serve(folder) as server:
        async def go():
            pool = SessionPool(validator.host, server.base_url, "index.html", TIMEOUTS)
            try:
                return await body(pool), pool.opened, pool.reused
            finally:
                await pool.close()

        return validator.host.run(go, 90)


def test_a_handed_on_page_loads_as_a_first_visit(validator: Validator, app: Path) -> None:
    async def body(pool):
        async with pool.open() as s:
            first_page = s.page
            await s.page.hover("#b")
            await s.page.click("#b")  # a popup: closed before the page is handed on
            await s.page.wait_for_timeout(300)
            popups = len(s.page.context.pages)
        async with pool.open() as s:
            same = s.page is first_page
            text = await s.page.text_content("#seen")
            dbs = await s.page.evaluate("async () => (await indexedDB.databases()).length")
            await s.page.wait_for_timeout(300)
            hovered = await s.page.evaluate("() => document.querySelector('#b').matches(':hover')")
            pages = len(s.page.context.pages)
            errors = [e["text"] for e in s.events.console_errors]
        return popups, same, text, dbs, hovered, pages, errors

    (popups, same, text, dbs, hovered, pages, errors), opened, reused = in_pool(validator, app, body)
    assert popups == 2
    assert same and (opened, reused) == (1, 1)
    assert text == "first visit"
    assert dbs == 1  # the page opened its database again, after the old one was deleted
    assert not hovered
    assert pages == 1
    assert errors == ["loaded with: nothing"]  # this session's events only, from its own load


def test_a_page_whose_check_failed_or_hangs_is_not_handed_on(validator: Validator, app: Path) -> None:
    async def body(pool):
        with pytest.raises(RuntimeError):
            async with pool.open():
                raise RuntimeError("the check broke")
        async with pool.open() as s:
            await s.page.evaluate("() => { setTimeout(() => { for (;;) {} }, 0); }")  # frozen from now on
            await s.page.wait_for_timeout(200)
        async with pool.open() as s:
            return await s.page.text_content("#seen")

    text, opened, reused = in_pool(validator, app, body)
    assert text == "first visit"
    assert (opened, reused) == (3, 0)


def test_a_page_handed_on_takes_the_size_asked_for(validator: Validator, app: Path) -> None:
    async def body(pool):
        sizes = []
        for viewport in (None, (375, 667), None):
            async with pool.open(viewport=viewport) as s:
                sizes.append((s.page.viewport_size, await s.page.evaluate("() => [innerWidth, screen.width]")))
        return sizes

    sizes, opened, reused = in_pool(validator, app, body)
    assert sizes == [({"width": 1280, "height": 800}, [1280, 1280]), ({"width": 375, "height": 667}, [375, 375]),
                     ({"width": 1280, "height": 800}, [1280, 1280])]  # the screen follows, as in a fresh context
    assert (opened, reused) == (1, 2)


def test_a_validation_hands_pages_on_between_its_checks(app: Path) -> None:
    # One check at a time, in the order given: the sweep leaves storage, a cookie and a popup behind; the
    # acceptance check after it gets the sweep's page, which must look like a first visit.
    spec_file = app / "spec.md"
    spec_file.write_text("---\ntitle: t\nchecks:\n  - name: a first visit\n    steps:\n"
                         "      - expect: {text: first visit}\n---\nA page.\n")
    with Validator(timeouts=TIMEOUTS, check_jobs=1) as v:
        result = v.validate(app, load_spec(str(spec_file)), checks=["runtime", "sweep", "mobile", "acceptance"])
    assert result.info["isolated_pages"] == {"opened": 1, "reused": 2}
    assert not [f for f in result.findings if f.check == "acceptance"], result.findings


def test_plugin_checks_get_contexts_of_their_own(app: Path) -> None:
    # A plugin may change its context in ways a reload does not undo (here an init script that rewrites the
    # page): its page is never handed on, so the acceptance check after it still sees a first visit.
    from runshot.validators.runner.registry import built_in_registry, function_check

    async def polluting(ctx):
        async with ctx.open_session() as s:
            await s.page.context.add_init_script(
                "addEventListener('DOMContentLoaded', () => { document.getElementById('seen').textContent = 'x'; })")
        return []

    registry = built_in_registry().with_checks(function_check("polluting", polluting, source="a-plugin",
                                                              needs="isolated"))
    spec_file = app / "spec.md"
    spec_file.write_text("---\ntitle: t\nchecks:\n  - name: a first visit\n    steps:\n"
                         "      - expect: {text: first visit}\n---\nA page.\n")
    with Validator(timeouts=TIMEOUTS, check_jobs=1, registry=registry) as v:
        result = v.validate(app, load_spec(str(spec_file)), checks=["runtime", "polluting", "sweep", "acceptance"])
    assert result.info["isolated_pages"] == {"opened": 1, "reused": 1}
    assert not [f for f in result.findings if f.check in ("acceptance", "polluting")], result.findings
