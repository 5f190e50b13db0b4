"""The data walk (the `forms` check): forms and inputs filled in as a user would, in real Chromium.

The todo apps of the labelled corpus go through the real Validator with no spec steps. The safety rules (no
typing into passwords or payment fields, no submission off the origin) are tried against two real HTTP servers
on two origins that record every request, in a browser context without runshot's request isolation: a walk that
broke them would reach the servers, not a block.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import pytest

from runshot.spec import Spec
from runshot.validators.checks import forms
from runshot.validators.browser.chromium import BrowserSettings
from runshot.validators.browser.context import CheckContext, PageEvents, PageSession, Timeouts
from runshot.validators.checks.formvalues import entries_for, leaves_origin, number_value, sensitive, skip_reason
from runshot.validators.browser.pages import instrument_page, load_page
from runshot.validators.runner.project import Validator
from runshot.values import ERROR

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
TIMEOUTS = Timeouts(load=10, action=3, check=30, settle=0.3)


# ---- values and safety rules, without a browser ----


@pytest.mark.parametrize("attrs", [
    {"min": "1", "max": "8"},
    {"min": "1", "max": "8", "step": "3"},
    {"min": "10", "max": "20", "step": "5", "name": "guests"},
    {"min": "0.5", "max": "1.5", "step": "0.25", "name": "price"},
    {"min": "-5", "max": "-1"},
    {"max": "1"},
    {"min": "100"},
    {"min": "2026", "max": "2030", "name": "year"},
])
def test_numbers_fall_inside_min_max_on_the_step(attrs):
    value = Decimal(number_value({"type": "number", **attrs}))
    low, high = Decimal(attrs.get("min", "-1e9")), Decimal(attrs.get("max", "1e9"))
    assert low <= value <= high, value
    step = Decimal(attrs.get("step", "1"))
    assert (value - Decimal(attrs.get("min", "0"))) % step == 0, value


@pytest.mark.parametrize("field", [
    {"type": "password", "name": "secret"},
    {"type": "text", "autocomplete": "billing cc-number"},
    {"type": "text", "autocomplete": "one-time-code"},
    {"type": "text", "name": "cardNumber"},
    {"type": "text", "name": "cvv"},
    {"type": "text", "label": "IBAN"},
    {"type": "tel", "id": "user_pin"},
    {"type": "text", "placeholder": "Security code"},
    {"type": "text", "label": "Password"},
])
def test_passwords_and_payment_fields_are_never_given_a_value(field):
    assert sensitive(field)
    target = {"kind": "input", "fields": [{**field, "sel": "#x", "textual": True, "usable": True}]}
    assert entries_for(target, 0, "") == []
    assert skip_reason(target, "http://127.0.0.1:1") != ""


@pytest.mark.parametrize("field", [
    {"type": "text", "label": "Shipping address"},
    {"type": "text", "placeholder": "What needs to be done?"},
    {"type": "email", "name": "email"},
    {"type": "text", "label": "Spinner speed"},
])
def test_ordinary_fields_are_not_taken_for_secrets(field):
    assert not sensitive(field)


def test_off_origin_actions_and_formactions_are_recognised():
    origin = "http://127.0.0.1:8000"
    form = {"kind": "form", "method": "post", "fields": []}
    assert leaves_origin({**form, "action": "http://127.0.0.1:9000/collect"}, origin)
    assert leaves_origin({**form, "action": "javascript:void(0)"}, origin)
    assert not leaves_origin({**form, "action": "http://127.0.0.1:8000/subscribe"}, origin)
    assert not leaves_origin({**form, "method": "dialog", "action": "https://elsewhere.example/"}, origin)
    assert skip_reason({**form, "action": origin + "/x", "target": "_blank"}, origin) != ""


def test_every_page_script_is_valid_javascript():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    scripts = [p for p in resources.files("runshot.validators").joinpath("page_scripts").iterdir()
               if p.name.endswith(".js")]
    assert scripts
    for script in scripts:
        done = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, (script.name, done.stderr)


# ---- the corpus todo apps through the real Validator ----


@pytest.fixture(scope="module")
def validator():
    with Validator(timeouts=TIMEOUTS) as v:
        yield v


def _validate(validator, name: str):
    spec = Spec(title=name, body="A small web app.", source="corpus")
    return validator.validate(CORPUS / name, spec, checks=["forms"])


def test_a_checkbox_that_only_exists_once_a_todo_is_added_is_caught(validator):
    result = _validate(validator, "bad-todomvc-unlabelled-toggle")
    mine = [f for f in result.findings if f.check == "forms"]
    assert [(f.severity, f.rule) for f in mine] == [(ERROR, "label")], [f.message for f in mine]
    assert mine[0].message.startswith(
        "After typing 'Buy milk' into 'What needs to be done?' and pressing Enter: axe rule 'label'"), mine[0].message
    assert "toggle" in mine[0].where
    assert result.info["forms_submitted"] == 2  # a second todo too: the input emptied after the first
    assert not result.passed


def test_its_twin_with_labelled_checkboxes_passes(validator):
    result = _validate(validator, "good-todomvc")
    assert [f.message for f in result.findings if f.check == "forms"] == []
    assert result.info["forms_submitted"] == 2
    assert result.passed


def test_a_defect_that_only_a_second_todo_shows_is_caught_and_named(validator):
    result = _validate(validator, "bad-todomvc-second-todo-throws")
    mine = [f for f in result.findings if f.check == "forms"]
    assert [(f.severity, f.rule) for f in mine] == [(ERROR, "forms/exception")], [f.message for f in mine]
    assert mine[0].message.startswith(
        "Typing 'Buy milk', then 'Walk the dog' into 'What needs to be done?' and pressing Enter after each throws "
        "an uncaught exception: TypeError"), mine[0].message


def test_a_lone_input_is_sent_with_its_add_button_when_enter_does_nothing(validator):
    result = _validate(validator, "bad-shopping-list-unnamed-remove")
    mine = [f for f in result.findings if f.check == "forms"]
    assert [(f.severity, f.rule) for f in mine] == [(ERROR, "button-name")], [f.message for f in mine]
    assert mine[0].message.startswith("After typing 'Buy milk' into 'Item' and clicking button \"Add\" (#add): ")
    assert _validate(validator, "good-shopping-list").passed


def test_a_form_sent_filled_in_that_throws_is_caught(validator):
    result = _validate(validator, "bad-contact-submit-throws")
    mine = [f for f in result.findings if f.check == "forms"]
    assert [(f.severity, f.rule) for f in mine] == [(ERROR, "forms/exception")], [f.message for f in mine]
    assert mine[0].message.startswith("Filling in 'Name' with 'Alex Morgan', 'Email' with 'alex.morgan@example.com', "
                                      "'Message' with "), mine[0].message
    assert 'and clicking button "Send message"' in mine[0].message
    assert _validate(validator, "good-contact-form").passed


def test_a_blocked_outside_request_on_submit_is_left_to_the_runtime_check(validator, tmp_path):
    # The sign-up pings an analytics host when sent: blocked, as every outside request is. Chromium logs that as
    # a console error; whether a blocked request fails the app is the runtime check's policy, not the walk's.
    app = tmp_path / "signup"
    shutil.copytree(CORPUS / "good-newsletter-signup", app)
    script = app / "app.js"
    script.write_text(script.read_text().replace(
        "  event.preventDefault();\n",
        '  event.preventDefault();\n  fetch("https://analytics.example.com/hit", {mode: "no-cors"}).catch(() => {});\n', 1))
    assert "analytics" in script.read_text()
    result = validator.validate(app, Spec(title="signup", body="A sign-up form.", source="test"), checks=["forms"])
    assert [f.message for f in result.findings if f.check == "forms"] == []
    assert result.info["forms_submitted"] == 1


# ---- safety, against two recording servers on two origins ----

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Casa Verde</title></head>
<body><main>
<h1>Casa Verde</h1>
<form id="booking">
  <label for="who">Your name</label><input id="who" name="name" required>
  <label for="guests">Guests</label><input id="guests" name="guests" type="number" min="3" max="6" step="1" required>
  <label for="day">Day</label><input id="day" name="day" type="date" min="2030-01-01" required>
  <button type="submit">Book</button>
</form>
<p id="booked" role="status"></p>
<form id="news" action="OTHER/subscribe" method="post">
  <label for="news-email">E-mail for our newsletter</label><input id="news-email" name="email" type="email">
  <button type="submit">Subscribe</button>
</form>
<form id="login">
  <label for="user">E-mail</label><input id="user" name="user" type="email">
  <label for="pw">Password</label><input id="pw" name="pw" type="password">
  <button type="submit">Log in</button>
</form>
<form id="pay">
  <label for="holder">Name</label><input id="holder" name="holder">
  <label for="cc">Card</label><input id="cc" name="cc" autocomplete="cc-number">
  <button type="submit">Pay</button>
</form>
<label for="pin">PIN</label><input id="pin" inputmode="numeric">
</main>
<script>
const post = (path, body) => fetch(path, {method: 'POST', body: JSON.stringify(body)});
document.getElementById('booking').addEventListener('submit', async (e) => {
  e.preventDefault();
  const data = Object.fromEntries(new FormData(e.target));
  await post('/api/bookings', data);
  document.getElementById('booked').textContent = `Booked for ${data.guests} on ${data.day}.`;
});
for (const id of ['pw', 'cc', 'pin']) {
  document.getElementById(id).addEventListener('input', () => post('/api/typed', {id}));
}
document.getElementById('login').addEventListener('submit', (e) => { e.preventDefault(); post('/api/login', {}); });
document.getElementById('pay').addEventListener('submit', (e) => { e.preventDefault(); post('/api/pay', {}); });
</script>
</body></html>
"""


class _Recorder(ThreadingHTTPServer):
    def __init__(self, page: str = ""):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.page = page
        self.seen: list[tuple[str, str, str]] = []  # (method, path, body)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder

    def _answer(self, body: bytes, kind: str = "text/html") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.seen.append(("GET", self.path, ""))
        self._answer(self.server.page.encode() if self.path in ("/", "/index.html") else b"", "text/html")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(("POST", self.path, self.rfile.read(length).decode("utf-8", "replace")))
        self._answer(b"{}", "application/json")

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def _serving(server: _Recorder):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _walk_plain_context(validator, app: _Recorder) -> tuple[list, dict]:
    """Run the forms check on `app` in contexts with no request isolation: (findings, info)."""
    host = validator.host

    @contextlib.asynccontextmanager
    async def open_session(path=None, viewport=None):
        browser = await host.browser()
        context = await browser.new_context()
        try:
            page = await context.new_page()
            events = PageEvents()
            instrument_page(page, events)
            url = app.origin + "/"
            await load_page(page, url, TIMEOUTS, events)
            yield PageSession(page=page, events=events, url=url)
        finally:
            await context.close()

    async def go():
        async with open_session() as session:
            ctx = CheckContext(spec=Spec(title="t", body="", source="prompt"), project_dir=Path("."),
                               base_url=app.origin + "/", entry_url=app.origin + "/", session=session,
                               open_session=open_session, timeouts=TIMEOUTS)
            found = await forms.check_forms(ctx)
            return found, ctx.info

    return host.run(go, 90)


@pytest.fixture(scope="module")
def plain_validator():
    """A browser outside the sandbox: it must reach the test's own servers on this machine's loopback."""
    with Validator(settings=BrowserSettings(sandbox="off"), timeouts=TIMEOUTS) as v:
        yield v


def test_the_walk_never_submits_off_origin_nor_types_secrets(plain_validator):
    validator = plain_validator
    other = _Recorder()
    app = _Recorder(PAGE.replace("OTHER", other.origin))
    with _serving(other), _serving(app):
        findings, info = _walk_plain_context(validator, app)
    posts = [(path, body) for method, path, body in app.seen if method == "POST"]
    assert other.seen == []  # the newsletter form posts off the origin: never submitted
    assert [p for p, _ in posts] == ["/api/bookings"], posts  # nothing typed into PIN, password or card fields
    booking = json.loads(posts[0][1])
    assert 3 <= int(booking["guests"]) <= 6  # the number field's min and max
    assert booking["day"] >= "2030-01-01" and booking["name"]
    skipped = " | ".join(info.get("forms_skipped", []))
    assert "outside the app" in skipped and "#news" in skipped, skipped
    assert skipped.count("password or payment field") == 3, skipped  # the login and payment forms, the PIN
    assert [f for f in findings if f.severity == ERROR] == [], [f.message for f in findings]


def test_a_submission_that_loads_another_page_is_noted_not_judged(validator):
    # results.html has an image without alt, an unlabelled input and a console error: none of it is reported
    # against the search form, whose submission loads that page.
    folder = Path(__file__).parent / "fixtures" / "forms" / "search_to_results"
    result = validator.validate(folder, Spec(title="finder", body="A plant finder.", source="test"), checks=["forms"])
    assert [f.message for f in result.findings if f.check == "forms"] == []
    navigated = result.info.get("forms_navigated") or []
    assert len(navigated) == 1 and "results.html?q=Basil" in navigated[0], navigated
    assert navigated[0].startswith("typing 'Basil' into 'Search plants' and pressing Enter"), navigated


def test_a_submission_that_freezes_the_page_is_an_error_naming_the_state(validator):
    folder = Path(__file__).parent / "fixtures" / "forms" / "converter_freezes"
    result = validator.validate(folder, Spec(title="converter", body="Miles to km.", source="test"),
                                checks=["forms"])
    mine = [f for f in result.findings if f.check == "forms"]
    assert [(f.severity, f.rule) for f in mine] == [(ERROR, "forms/freeze")], [f.message for f in mine]
    assert mine[0].message.startswith("Typing '2' into 'Miles' and pressing Enter froze the page"), mine[0].message
