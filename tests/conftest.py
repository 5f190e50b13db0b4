"""Shared pytest fixtures. Keep each section small; helpers live in their own modules beside this file."""

from __future__ import annotations

import pytest

from fakeopenai import FakeOpenAI

# --- order -------------------------------------------------------------------------------------------------------

# scripts/test.sh runs the files on two workers, one file each at a time (pytest-xdist, --dist loadfile), handed out
# in collection order. The longest files go first, so that none of them starts last while the other worker has
# nothing left to do. Only the order of the files changes: each file's tests stay together and in their order.
LONGEST_FIRST = ("test_plan.py", "test_pipeline.py", "test_fix.py", "test_sandboxed_validation.py", "test_batch.py",
                 "test_gallery.py", "test_checks.py", "test_broken_answers.py", "test_ci.py", "test_site_check.py",
                 "test_cassette.py", "test_ray_batch.py", "test_browser_runtime.py", "test_derive_cli.py",
                 "test_vite.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort: the others keep their order


# --- model endpoint ----------------------------------------------------------------------------------------------


@pytest.fixture
def fake_openai():
    """A scripted OpenAI-compatible server on 127.0.0.1: `fake_openai.script("answer", Reply(status=429), ...)`."""
    with FakeOpenAI() as fake:
        yield fake
