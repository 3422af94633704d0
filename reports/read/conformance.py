"""Read the conformance part's results: junit.xml (outcomes, families, records) + allure-results (API, id).

pytest writes an xfail as <skipped type="pytest.xfail">, a failure as <failure> (a strict xpass
too) and an error as <error>. The conformance plugin gives every failed, errored or strictly
passing test a failure record (fixtures/failure_record.py: rule, family, kind, sent, received,
expected, likely cause; or an exception's type and first line; or the deviation that passed) and
every test its family, as junit properties: they are read as fields, never parsed out of the text.
allure-pytest gives each result an `epic` label (the API) and the uuid the report links to.

Failures are grouped: one issue per rule and cause (kind + likely cause), with the number of cases
and one example, so one misconfiguration reads as one reason, not one per case.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixtures.failure_record import (
    FAILURE_PROPERTY,
    FAMILY_PROPERTY,
    TELLING_HEADERS,
    FailureRecord,
    from_json,
)
from reports.allure_ids import fragment, report_url
from reports.gate import ConformanceResult, Counts, TestIssue

REPORT_FILE = "report.html"
NO_RECORD = "the suite kept no failure record"
SHORT_RECEIVED = 160  # characters of the one-line "received" of a reason


@dataclass(frozen=True)
class AllureEntry:
    """What allure-pytest wrote for one test: its API and the report's id for it."""

    epic: str | None
    uuid: str | None

    @property
    def link(self) -> str:
        """The report entry to open: report.html#/<Allure 3's id, the md5 of the result's uuid> (the
        published address instead of report.html when STAGEGATE_REPORT_URL gives it)."""
        if not self.uuid:
            return ""
        address = report_url() or REPORT_FILE
        return address + fragment(self.uuid)


def allure_index(results_dir: Path) -> dict[tuple[str, str], AllureEntry]:
    """(module, test name) -> API label and uuid, from allure-pytest's *-result.json files."""
    out: dict[tuple[str, str], AllureEntry] = {}
    if not results_dir.is_dir():
        return out
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        labels = {
            lab.get("name"): lab.get("value") for lab in data.get("labels", []) if isinstance(lab, dict)
        }
        module = str(data.get("fullName", "")).split("#", 1)[0]
        if module and data.get("name"):
            out[(module, str(data["name"]))] = AllureEntry(labels.get("epic"), data.get("uuid"))
    return out


def _property(case: ET.Element, name: str) -> str | None:
    """The value of a junit <property> of this test case, or None."""
    return next((p.get("value") for p in case.iter("property") if p.get("name") == name), None)


def failure_record(case: ET.Element) -> FailureRecord | None:
    """The failure record the suite kept for this test case, or None."""
    return from_json(_property(case, FAILURE_PROPERTY))


def family_of(case: ET.Element) -> str:
    """The family the suite gave the test (the plugin's junit property on every test of a family);
    "other" for a case outside the families (a collection error, a test of no family's module)."""
    return _property(case, FAMILY_PROPERTY) or "other"


@dataclass
class _Case:
    """One failing (or strictly xpassing) test case, before grouping."""

    module: str  # "test_cors"
    classname: str
    name: str  # "test_rule[case]"
    family: str
    message: str
    xpass: bool
    record: FailureRecord | None
    entry: AllureEntry | None

    @property
    def rule(self) -> str:
        return self.name.split("[", 1)[0]

    @property
    def case(self) -> str:
        return self.name[len(self.rule) + 1 : -1] if "[" in self.name else ""

    @property
    def api(self) -> str:
        if self.entry is not None and self.entry.epic:
            return self.entry.epic
        return self.case.split(" ", 1)[0] if self.case else ""

    def key(self) -> tuple[str, ...]:
        kind, cause = (self.record.kind, self.record.cause) if self.record else ("", "")
        return (self.module, self.rule, str(self.xpass), kind, cause)


def received_short(record: FailureRecord) -> str:
    """Status, the headers that matter (the telling ones and those the expectation names) and a body
    excerpt, on one line."""
    expected = record.expected.lower()
    headers = ", ".join(
        f"{name}: {value}"
        for name, value in record.headers
        if name.lower() in TELLING_HEADERS or name.lower() in expected
    )
    body = f"body {record.body}" if record.body else ""
    text = " ".join(p for p in (str(record.status or "?"), headers, body) if p)
    return text if len(text) <= SHORT_RECEIVED else text[: SHORT_RECEIVED - 3] + "..."


def _issue(group: list[_Case], totals: Mapping[tuple[str, str, str], int]) -> TestIssue:
    first = group[0]
    test_id = f"{first.module}::{first.rule}" if first.module else first.rule
    apis = sorted({c.api for c in group})
    total = sum(totals.get((first.classname, first.rule, api), 0) for api in apis) or len(group)
    apis = [a for a in apis if a]
    record = first.record
    link = first.entry.link if first.entry else ""
    count = f"{len(group)} of {total} cases" if total > 1 or len(group) > 1 else ""
    where = ", ".join(filter(None, (" ".join(apis), count)))
    detail: dict[str, Any] = {
        "type": "conformance",
        "test": first.rule,
        "module": first.module,
        "family": first.family,
        "xpass": first.xpass,
        "apis": apis,
        "cases": len(group),
        "of": total,
        "example": {"case": first.case, "test": first.name, "message": first.message},
        "report": {"name": first.name, "full_name": f"{first.classname}#{first.rule}", "link": link},
    }
    if record is None or record.kind in ("error", "xpass"):
        single = len(group) == 1 and total == 1
        message = first.message if single else f"{where}: {first.message}" if where else first.message
        detail.update(kind="error" if not first.xpass else "xpass", cause="", likely_cause="")
        return TestIssue(test_id, first.family, message, len(group), detail)
    received, expected, likely = received_short(record), record.expected, record.likely_cause
    detail.update(
        kind=record.kind, cause=record.cause, likely_cause=likely, received=received, expected=expected
    )
    detail["example"].update(
        sent=record.sent,
        received=record.received,
        expected=record.expected,
        status=record.status,
        headers=[list(h) for h in record.headers],
        body=record.body,
        protection=record.protection,
    )
    parts = [f"received {received}", f"expected {expected}"]
    if record.kind == "control":
        parts.insert(0, "positive control failed")
    if likely:
        parts.append(f"likely cause: {likely}")
    message = (f"{where}: " if where else "") + "; ".join(parts)
    return TestIssue(test_id, first.family, message, len(group), detail)


def parse_junit(
    xml_text: str, entries: Mapping[tuple[str, str], AllureEntry] | None = None
) -> tuple[Counts, dict[str, Counts], tuple[TestIssue, ...], tuple[TestIssue, ...]]:
    """Counts overall and per family; failures and strict xpasses grouped per rule and cause.

    Raises ValueError on bad XML."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError(f"junit.xml is not valid XML: {exc}") from exc
    families: dict[str, Counts] = {}
    groups: dict[tuple[str, ...], list[_Case]] = {}
    totals: dict[tuple[str, str, str], int] = {}  # cases per (module, rule, API)
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        family = family_of(case)
        record = failure_record(case)
        one, issue = _outcome(case, record)
        families[family] = families.get(family, Counts()).plus(one)
        module = classname.rsplit(".", 1)[-1] if classname else ""
        found = _Case(module, classname, name, family, issue or "", bool(one.xpassed), record, None)
        found.entry = (entries or {}).get((classname, name))
        totals[(classname, found.rule, found.api)] = totals.get((classname, found.rule, found.api), 0) + 1
        if issue is not None:
            groups.setdefault(found.key(), []).append(found)
    total = Counts()
    for counts in families.values():
        total = total.plus(counts)
    issues = [(g[0].xpass, _issue(g, totals)) for g in groups.values()]
    failures = tuple(i for xpass, i in issues if not xpass)
    xpasses = tuple(i for xpass, i in issues if xpass)
    return total, dict(sorted(families.items())), failures, xpasses


def _outcome(case: ET.Element, record: FailureRecord | None) -> tuple[Counts, str | None]:
    """The case's outcome, and for a failure, error or strict xpass what went wrong in one line."""
    failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
    if failure is not None:
        if record is not None and record.kind == "xpass":
            return Counts(xpassed=1), record.line()
        return Counts(failed=1), record.line() if record else _without_record("failed", failure)
    if error is not None:
        return Counts(errors=1), record.line() if record else _without_record("error", error)
    if skipped is not None:
        if skipped.get("type") == "pytest.xfail":
            return Counts(xfailed=1), None
        return Counts(skipped=1), None
    return Counts(passed=1), None


def _without_record(outcome: str, element: ET.Element) -> str:
    """No record (a collection error, a crash outside a test): pytest's own one-line summary, if any."""
    lines = (element.get("message") or "").strip().splitlines()
    return f"{outcome}: {lines[0].strip()} ({NO_RECORD})" if lines else f"{outcome} ({NO_RECORD})"


def read_conformance(
    junit_path: Path, allure_dir: Path, exit_code: int | None = None
) -> ConformanceResult | None:
    """None when junit.xml is absent (the part left no results)."""
    if not junit_path.is_file():
        return None
    entries = allure_index(allure_dir)
    counts, families, failures, xpasses = parse_junit(junit_path.read_text(encoding="utf-8"), entries)
    return ConformanceResult(counts, families, failures, xpasses, exit_code)
