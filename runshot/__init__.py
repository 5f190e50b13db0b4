"""runshot: turn a spec into a one-shot runnable project, validated in headless Chromium."""

__version__ = "0.1.0"
