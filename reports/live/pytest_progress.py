"""pytest plugin (`-p reports.live.pytest_progress`): appends "done total failed" lines to a progress file.

The gate reads the file given in STAGEGATE_PROGRESS_FILE to show how far the conformance part is,
without parsing pytest's terminal output. Without that variable the plugin does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV = "STAGEGATE_PROGRESS_FILE"


class _Progress:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = 0
        self.done = 0
        self.failed = 0

    def _write(self) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(f"{self.done} {self.total} {self.failed}\n")

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        self._write()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # One count per test: its call phase, or the setup phase when setup did not pass.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done += 1
            if report.failed:
                self.failed += 1
            self._write()


def pytest_configure(config: pytest.Config) -> None:
    target = os.environ.get(ENV)
    if target:
        config.pluginmanager.register(_Progress(Path(target)), "stagegate-progress")


def read_progress(path: Path) -> tuple[int, int, int] | None:
    """The last (done, total, failed) line, or None before collection finished."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError:
        return None
    for line in reversed(lines):
        parts = line.split()
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return int(parts[0]), int(parts[1]), int(parts[2])
    return None
