"""runshot: turn a spec into a one-shot runnable project, validated in headless Chromium.

    import runshot
    result = runshot.check("site/")                 # -> runshot.CheckResult (.passed, .findings, ...)
    report = runshot.generate("A counter", "out/")  # -> the run's Report

Names are imported on first use, so `import runshot` stays cheap.
"""

__version__ = "0.1.0"

_LAZY = {
    "generate": "runshot.api",
    "check": "runshot.api",
    "check_site": "runshot.api",
    "CheckResult": "runshot.api",
    "Finding": "runshot.values",
    "Spec": "runshot.spec",
    "Report": "runshot.report",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runshot' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
