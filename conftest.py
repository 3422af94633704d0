"""Repository-root pytest configuration: the stage options and the conformance plugin.

`pytest` checks the embedded stage (`--stage local`); `pytest --stage staging` (a name under
stages/ or a path) checks a deployed one. The plugin itself lives in conformance/plugin.py and does
nothing unless conformance tests are collected, so the self-tests in tests/ never load a stage.
The options (--stage, --fault) come from conformance/options.py, an entry-point plugin.
"""

from __future__ import annotations

pytest_plugins = ["conformance.plugin", "conformance.session"]
