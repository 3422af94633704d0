"""Stand-ins the self-tests share for the harness's collaborators (no I/O, nothing to hide)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class NoRedaction:
    """A redactor with nothing to hide: text and headers pass through unchanged."""

    def text(self, s: str) -> str:
        return s

    def headers(self, h: Any) -> Any:
        return h


@dataclass(frozen=True)
class ApiFlavour:
    """The two facts Check.rejected reads of an API under test."""

    flavor: str
    embedded: bool
