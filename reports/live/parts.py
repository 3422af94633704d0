"""Run one part (pytest or Locust) as a subprocess: output to a log, a live progress line, a time limit.

Each part runs in its own process group so that a stop (time limit, Ctrl-C of the gate) takes the
whole part down; the gate itself decides when, and always cleans up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

STOP_GRACE_S = 5.0
PLAIN_EVERY_S = 5.0  # without a terminal, one progress line every few seconds


@dataclass(frozen=True)
class PartRun:
    exit_code: int | None  # None: stopped by the time limit
    seconds: float
    log_tail: str


class ProgressLine:
    """One line per part: rewritten in place on a terminal, printed every few seconds otherwise."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.clock = clock
        self.last_plain = -PLAIN_EVERY_S
        self.width = 0

    def update(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        elif self.clock() - self.last_plain >= PLAIN_EVERY_S:
            self.stream.write(text + "\n")
            self.last_plain = self.clock()
        self.stream.flush()

    def finish(self, text: str) -> None:
        self.stream.write(("\r" + text.ljust(self.width) if self.tty else text) + "\n")
        self.stream.flush()
        self.width = 0
        self.last_plain = -PLAIN_EVERY_S


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the part's process group, then SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def run_part(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    describe: Callable[[float], str],
    progress: ProgressLine,
    timeout_s: float,
    poll_s: float = 0.5,
) -> PartRun:
    """Run until exit or time limit, showing describe(elapsed) every poll; always reaps the process."""
    start = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while True:
                try:
                    code: int | None = process.wait(poll_s)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - start
                    if elapsed > timeout_s:
                        stop_group(process)
                        code = None
                        break
                    progress.update(describe(elapsed))
        finally:
            stop_group(process)
    return PartRun(code, time.monotonic() - start, tail(log_path))
