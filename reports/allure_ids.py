"""Addresses of Allure results in the published report, for readers and writers alike.

A reason in gate.json (read from the conformance results) and a link on an Allure page (written by
the gate) name a result the same way: the report's address plus Allure 3's id of the result.
"""

from __future__ import annotations

import hashlib
import os

REPORT_URL_ENV = "STAGEGATE_REPORT_URL"  # where report.html is published (e.g. the CI artifact's URL)


def report_url() -> str:
    """The published report's http(s) address, or "": Allure links only to absolute http(s) URLs,
    so without it the pages name results by their place in the tree instead of linking."""
    url = os.environ.get(REPORT_URL_ENV, "").strip().split("#", 1)[0]
    return url if url.startswith(("http://", "https://")) else ""


def fragment(result_uuid: str) -> str:
    """Allure 3's address of a result inside the single file: #/<md5 of the result's uuid>."""
    return "#/" + hashlib.md5(result_uuid.encode("utf-8")).hexdigest()  # noqa: S324 - Allure's id scheme
