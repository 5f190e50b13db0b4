"""Exceptions for our own failures and the environment's (model mistakes are findings, not exceptions)."""

from __future__ import annotations


class RunshotError(Exception):
    """An expected failure that ends a command with one clear line and an exit code."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(RunshotError):
    """Bad flags, an unreadable or invalid spec, OUT not empty, no endpoint reachable: exit 2."""

    exit_code = 2


class ModelError(RunshotError):
    """The model endpoint failed (after retries) before a project could be judged: exit 3."""

    exit_code = 3


class EnvironmentProblem(UsageError):
    """Something runshot needs is missing on this machine (Chromium, an extra, a model file): exit 2."""
