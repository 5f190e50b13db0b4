"""Settings: one frozen value (model, browser, checks, loop) built once from flags or keywords, the environment and
the config files, and read where each option is used. `config` reads the user's model settings, `siteconfig` a
project's runshot.toml."""

from runshot.settings.tree import (KEYWORDS, LOCAL_RUN_TIMEOUT, BrowserOptions, CheckOptions, ModelOptions,
                                   RunOptions, Settings, as_flat, check_names, from_options, resolve)

__all__ = ["KEYWORDS", "LOCAL_RUN_TIMEOUT", "BrowserOptions", "CheckOptions", "ModelOptions", "RunOptions",
           "Settings", "as_flat", "check_names", "from_options", "resolve"]
