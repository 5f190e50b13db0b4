"""Shared pytest fixtures. Keep each section small; helpers live in their own modules beside this file."""

from __future__ import annotations

import pytest

from fakeopenai import FakeOpenAI

# --- model endpoint ----------------------------------------------------------------------------------------------


@pytest.fixture
def fake_openai():
    """A scripted OpenAI-compatible server on 127.0.0.1: `fake_openai.script("answer", Reply(status=429), ...)`."""
    with FakeOpenAI() as fake:
        yield fake
