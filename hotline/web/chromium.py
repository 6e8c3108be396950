"""How the browser tests and the screenshot script launch headless chromium (Debian's
package, driven by Playwright): one place for the flags and the language.

Chinese everywhere: pages ask for zh-CN, and chromium's own widgets (date pickers, file
choosers) follow ``LANGUAGE`` (with the ``chromium-l10n`` package installed). ``LANG``
stays ``C.UTF-8``: these machines generate no zh_CN locale, and a ``LANG`` that falls
back to plain C breaks non-ASCII file names in uploads and downloads.
"""

import os

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
]


def launch_options(executable_path: str = CHROMIUM) -> dict:
    """Keyword arguments for ``playwright.chromium.launch``."""
    env = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN:zh"}
    return {"executable_path": executable_path, "args": CHROMIUM_ARGS, "env": env}
