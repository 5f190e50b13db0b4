"""Real Chromium: waiting for a page to settle follows what the page is doing, and probes skip controls a click
cannot reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from runshot.spec import Spec
from runshot.validators.browser.context import CheckContext, PageEvents, Timeouts, settle
from runshot.validators.browser.domtools import clickable
from runshot.validators.runner.project import Validator
from runshot.validators.serve.server import serve

TIMEOUTS = Timeouts(load=6.0, action=3.0, check=10.0, settle=0.3)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
<style>
  .skip { position: absolute; left: -999px; top: 0; }
  .cover { position: fixed; inset: 0; background: rgb(0 0 0 / 50%); }
  #covered { position: relative; z-index: 0; }
</style></head>
<body><a class="skip" href="#main">Skip to content</a>
<main id="main"><h1>t</h1>
<button id="later" type="button">Later</button>
<button id="fetch" type="button">Fetch</button>
<button id="far" type="button">Far</button>
<label id="wrap"><input id="box" type="checkbox"> Box</label>
<p id="out">idle</p>
<div id="host"></div>
</main>
<button id="covered" type="button">Covered</button><div class="cover" id="cover" hidden></div>
<script>
const out = document.getElementById('out');
document.getElementById('later').onclick = () => setTimeout(() => { out.textContent = 'later done'; }, 400);
document.getElementById('fetch').onclick = () =>
  fetch('data.json').then((r) => r.json()).then((d) => fetch(d.next)).then((r) => r.json())
    .then((d) => { out.textContent = d.text; });
document.getElementById('far').onclick = () => setTimeout(() => { out.textContent = 'far done'; }, 5000);
document.getElementById('host').attachShadow({mode: 'open'}).innerHTML = '<button>Inside</button>';
</script></body></html>
"""


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=TIMEOUTS) as v:
        yield v


@pytest.fixture()
def app(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "data.json").write_text('{"next": "more.json"}')
    (tmp_path / "more.json").write_text('{"text": "fetched twice"}')
    return tmp_path


def drive(validator: Validator, folder: Path, actions):
    """Open the app in a real session, give `actions(ctx)` a CheckContext on it, return what it returns."""
    host = validator.host
    with serve(folder) as server:
        async def go():
            events = PageEvents()
            async with host.open_session(server.base_url, "index.html", timeouts=TIMEOUTS, events=events) as s:
                ctx = CheckContext(spec=Spec(title="t", body="", source="prompt"), project_dir=folder,
                                   base_url=server.base_url, entry_url=server.base_url + "index.html", session=s,
                                   open_session=None, timeouts=TIMEOUTS)
                return await actions(ctx)

        return host.run(go, 60)


# A fixed 80 ms quiet time ends before the 400 ms timer fires or the second fetch returns; waiting on what the
# page has pending does not.
@pytest.mark.parametrize("button, shown", [("#later", "later done"), ("#fetch", "fetched twice")],
                         ids=["a timer the click set", "a chain of fetches"])
def test_settle_waits_for_what_the_click_started(validator: Validator, app: Path, button: str, shown: str) -> None:
    async def actions(ctx):
        await ctx.page.click(button)
        await ctx.settle(most=1.5)
        return await ctx.page.text_content("#out")

    assert drive(validator, app, actions) == shown


def test_settle_does_not_wait_for_a_timer_beyond_its_cap(validator: Validator, app: Path) -> None:
    async def actions(ctx):
        await ctx.page.click("#far")
        start = await ctx.page.evaluate("performance.now()")
        await settle(ctx.page, 0.08, 2.0, 5.0)
        took = await ctx.page.evaluate("performance.now()") - start
        return took, await ctx.page.text_content("#out")

    took, text = drive(validator, app, actions)
    assert text == "idle"
    assert took < 1500, f"settle waited {took:.0f} ms for a timer due in 5 s (its cap is 2000 ms)"


def test_clickable_tells_which_controls_a_click_can_reach(validator: Validator, app: Path) -> None:
    async def actions(ctx):
        seen = {}
        for sel in ("#later", ".skip", "#box", "#host >> button"):
            seen[sel] = await clickable(ctx, ctx.page, sel)
        await ctx.page.evaluate("document.getElementById('cover').hidden = false")
        seen["#covered"] = await clickable(ctx, ctx.page, "#covered")
        seen["#gone"] = await clickable(ctx, ctx.page, "#gone")  # matches nothing (any more): no
        return seen

    seen = drive(validator, app, actions)
    assert seen == {"#later": True, ".skip": False, "#box": True, "#host >> button": True, "#covered": False,
                    "#gone": False}
