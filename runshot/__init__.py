"""runshot: turn a spec into a one-shot runnable project, validated in headless Chromium.

    import runshot
    result = runshot.check("site/")                 # -> runshot.CheckResult (.passed, .findings, ...)
    report = runshot.generate("A counter", "out/")  # -> the run's Report

Names are imported on first use, so `import runshot` stays cheap.
"""

import importlib
import os as _os

__version__ = "0.1.0"

# In a source checkout the subpackages runshot.generator, .validators, .templates and .samples are the top-level
# folders beside this one (pyproject.toml maps them so when installing). A Python started in the checkout's root
# imports this folder rather than the installed package, so let it find those folders too.
_ROOT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
_CHECKOUT = all(_os.path.isfile(_os.path.join(_ROOT, *p)) for p in (("pyproject.toml",), ("validators", "__init__.py")))
if _CHECKOUT and _ROOT not in __path__:
    __path__.append(_ROOT)

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

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
