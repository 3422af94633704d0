"""Keep secrets out of everything under out/<stage>/: the stage's secret values and token look-alikes.

Uses fixtures.redact.Redactor, the project's one redactor; this module adds the sweep of files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from fixtures.contract import Contract, identity_headers
from fixtures.errors import ConfigError
from fixtures.redact import Redactor
from fixtures.stage import contract_of, load_stage

MARKUP_SUFFIXES = frozenset({".xml", ".html", ".svg"})  # there the mark must be escaped to stay well-formed
TEXT_SUFFIXES = frozenset({".json", ".xml", ".md", ".txt", ".csv", ".html", ".svg", ".log", ".toml", ".yml"})
SKIP_DIRS = frozenset({"issuer"})  # the embedded stage's generated signing keys live there by design
MARK = "<redacted>"


class TextRedactor(Protocol):
    def text(self, s: str) -> str: ...


def make_redactor(secrets: Iterable[str], headers: Iterable[str] = ()) -> TextRedactor:
    """The stage's secret values and its credential headers (identity sources) redacted."""
    return Redactor([s for s in secrets if s], headers)


def sensitive_headers(contracts: Iterable[Contract]) -> tuple[str, ...]:
    """Every header an authorizer of the stage's contracts reads the caller's credential from."""
    return tuple(sorted({name for contract in contracts for name in identity_headers(contract)}))


def redaction_of_stage_file(stage_file: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(secret values, credential headers) from a stage file, for a rebuild from files; () for what
    no longer loads."""
    try:
        stage = load_stage(stage_file) if stage_file else None
    except ConfigError:
        return (), ()
    if stage is None:
        return (), ()
    found = []
    for api in stage.apis:
        try:
            found.append(contract_of(api))
        except ConfigError:
            continue
    return stage.secrets(), sensitive_headers(found)


def redact_tree(value: Any, redactor: TextRedactor) -> Any:
    """Every string inside nested dicts/lists redacted (gate.json before it is written or shown)."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        return {k: redact_tree(v, redactor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v, redactor) for v in value]
    return value


def sweep(root: Path, redactor: TextRedactor) -> list[str]:
    """Redact every text file under root in place; returns the files that had to change."""
    changed: list[str] = []
    if not root.is_dir():
        return changed
    for path in sorted(root.rglob("*")):
        if (
            not path.is_file()
            or path.suffix not in TEXT_SUFFIXES
            or SKIP_DIRS & set(path.relative_to(root).parts)
        ):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        clean = redactor.text(text)
        if clean != text and path.suffix in MARKUP_SUFFIXES:
            clean = clean.replace(MARK, "&lt;redacted&gt;")
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            changed.append(str(path.relative_to(root)))
    return changed
