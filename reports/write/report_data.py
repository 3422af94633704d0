"""Read what the single-file Allure 3 report carries (PURE, on the page's text).

The page embeds every data file as `d("<name>","<base64>")`: one per test result
(`data/test-results/<id>.json`), attachment and widget. A result lists its attachments as links;
Allure marks a link `missed` when the file it names is not in the results (or when one file is
referenced by two results: Allure uses a file once). The gate checks there is none after rendering.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

_ENTRY = re.compile(r'd\("([^"]+)","([A-Za-z0-9+/=]*)"\)')
RESULTS_PREFIX = "data/test-results/"


def entries(page: str, prefix: str = "") -> dict[str, bytes]:
    """Name -> decoded bytes of every embedded data file whose name starts with prefix."""
    return {name: base64.b64decode(value) for name, value in _ENTRY.findall(page) if name.startswith(prefix)}


def results_of(page: str) -> list[dict[str, Any]]:
    """The report's test results (one per Allure result), as Allure 3 rendered them."""
    out = []
    for body in entries(page, RESULTS_PREFIX).values():
        try:
            found = json.loads(body)
        except ValueError:
            continue
        if isinstance(found, dict):
            out.append(found)
    return out


def _links(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every attachment link in a result, its steps (nested), set-up and tear-down."""
    if isinstance(node, Mapping):
        link = node.get("link")
        if node.get("type") == "attachment" and isinstance(link, Mapping):
            yield link
        for key in ("steps", "attachments", "setup", "teardown"):
            for child in node.get(key) or ():
                yield from _links(child)


def missed_attachments(page: str) -> list[str]:
    """ "<result name>: <attachment name>" for each attachment the report lists but does not hold."""
    return sorted(
        {
            f"{result.get('name')}: {link.get('name')}"
            for result in results_of(page)
            for link in _links(result)
            if link.get("missed")
        }
    )
