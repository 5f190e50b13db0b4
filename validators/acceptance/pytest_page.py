"""A pytest plugin for acceptance tests written with pytest-playwright's `page` fixture.

runshot runs such tests as `python -m pytest FILE -p runshot.validators.acceptance.pytest_page --base-url=URL`.
The plugin points pytest-playwright at runshot's Chromium (RUNSHOT_CHROMIUM, else the one on PATH)
and gives every test context the same isolation as runshot's own pages: only the app's origin is
reachable, service workers are blocked, WebRTC/WebSocket/beacons to other hosts are refused.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from runshot.validators.sandbox.confined import minimal_env
from runshot.validators.browser.chromium import INIT_SCRIPT, BrowserSettings, find_chromium, origin_of, same_origin


class _RunshotPage:
    """Fixture overrides, registered after pytest-playwright so that they take precedence."""

    @pytest.fixture(scope="session")
    def browser_type_launch_args(self, pytestconfig, browser_name):  # noqa: ANN001 (pytest fixtures)
        args: dict = {}
        if pytestconfig.getoption("--headed", default=False):
            args["headless"] = False
        if browser_name == "chromium":
            args["executable_path"] = find_chromium()
            args["args"] = BrowserSettings().launch_args()
            args["env"] = minimal_env()  # the API key never reaches the browser
        return args

    @pytest.fixture(scope="session")
    def browser_context_args(self, base_url):  # noqa: ANN001
        args: dict = {"service_workers": "block"}
        if base_url:
            args["base_url"] = base_url
            # As in runshot's own contexts: what escapes routing ends at the app's server, refused.
            app_host = urlsplit(base_url).netloc
            args["proxy"] = {"server": f"http://{app_host}", "bypass": f"<-loopback>,{app_host}"}
        return args

    @pytest.fixture(autouse=True)
    def _runshot_isolation(self, request, base_url):  # noqa: ANN001
        if not base_url or not ({"page", "context"} & set(request.fixturenames)):
            yield
            return
        context = request.getfixturevalue("context")
        origin = origin_of(base_url)
        timeout_ms = float(os.environ.get("RUNSHOT_ACTION_TIMEOUT_MS", "5000"))
        context.set_default_timeout(timeout_ms)

        def route(route) -> None:  # noqa: ANN001
            if same_origin(route.request.url, origin):
                route.continue_()
            else:
                route.abort("blockedbyclient")

        context.add_init_script(INIT_SCRIPT)
        context.route("**/*", route)
        yield


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("runshot-page-overrides"):
        config.pluginmanager.register(_RunshotPage(), "runshot-page-overrides")
