"""Read the conformance part's results: junit.xml (outcomes, failure fields) + allure-results (labels).

pytest writes an xfail as <skipped type="pytest.xfail"> and a strict xpass as a <failure> whose
message starts with "[XPASS(strict)]"; allure-pytest gives each result a `feature` label (the rule
family) and an `epic` label (the API), set by the conformance suite. A failure that went through the
suite's diagnosis carries its fields (rule, family, kind, sent, received, expected, likely cause) as
the junit property `conformance.harness.diagnosis.FAILURE_PROPERTY` (JSON): they are read as fields, never
parsed out of the message.

Failures are grouped: one issue per rule and cause (kind + likely cause), with the number of cases
and one example, so one misconfiguration reads as one reason, not one per case.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.harness.diagnosis import FAILURE_PROPERTY
from reports.gate import ConformanceResult, Counts, TestIssue
from reports.write.report_data import fragment, report_url

XPASS_PREFIX = "[XPASS(strict)]"
MODULE_PREFIX = "test_"
REPORT_FILE = "report.html"
SHORT_RECEIVED = 160  # characters of the one-line "received" of a reason


@dataclass(frozen=True)
class AllureEntry:
    """What allure-pytest wrote for one test: its family, API and the report's id for it."""

    feature: str | None
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
    """(module, test name) -> labels and uuid, from allure-pytest's *-result.json files."""
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
            out[(module, str(data["name"]))] = AllureEntry(
                labels.get("feature"), labels.get("epic"), data.get("uuid")
            )
    return out


def families_from_allure(results_dir: Path) -> dict[tuple[str, str], str]:
    """(module, test name) -> feature label, from allure-pytest's *-result.json files."""
    return {k: e.feature for k, e in allure_index(results_dir).items() if e.feature}


def family_of(classname: str, name: str, labels: Mapping[tuple[str, str], str]) -> str:
    """The feature label, else the module name without "test_" (conformance/test_<family>.py)."""
    label = labels.get((classname, name))
    if label:
        return label
    module = classname.rsplit(".", 1)[-1]
    return module.removeprefix(MODULE_PREFIX) or "other"


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


def _error_line(message: str | None, text: str | None) -> str:
    """What went wrong in one line: pytest's message, else the last `E   ` line of its report (the
    report's first lines are the test's arguments, Python reprs that explain nothing)."""
    if (message or "").strip():
        return _first_line(message)
    raised = [line[1:].strip() for line in (text or "").splitlines() if line.startswith("E ")]
    return raised[-1][:300] if raised else _first_line(text)


@dataclass
class _Case:
    """One failing (or strictly xpassing) test case, before grouping."""

    module: str  # "test_cors"
    classname: str
    name: str  # "test_rule[case]"
    family: str
    message: str
    xpass: bool
    fields: Mapping[str, Any] | None
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
        f = self.fields or {}
        return (self.module, self.rule, str(self.xpass), str(f.get("kind", "")), str(f.get("cause", "")))


@dataclass
class _Group:
    cases: list[_Case] = field(default_factory=list)


def failure_fields(case: ET.Element) -> Mapping[str, Any] | None:
    """The diagnosis the suite recorded for this case (junit <property>), or None."""
    for prop in case.iter("property"):
        if prop.get("name") == FAILURE_PROPERTY:
            try:
                found = json.loads(prop.get("value") or "")
            except ValueError:
                return None
            return found if isinstance(found, Mapping) else None
    return None


ALWAYS_SHOWN = (
    "x-amzn-errortype",
    "www-authenticate",
    "allow",
    "access-control-allow-origin",
    "access-control-allow-credentials",
)


def received_short(fields: Mapping[str, Any]) -> str:
    """Status, the headers that matter (those the expectation names, the error type, the challenge,
    the allowed origin) and a body excerpt, on one line."""
    status = fields.get("status")
    expected = str(fields.get("expected", "")).lower()
    headers = ", ".join(
        f"{h[0]}: {h[1]}"
        for h in fields.get("headers") or ()
        if len(h) == 2 and (str(h[0]).lower() in ALWAYS_SHOWN or str(h[0]).lower() in expected)
    )
    body = str(fields.get("body") or "")
    text = " ".join(p for p in (str(status or "?"), headers, f"body {body}" if body else "") if p)
    return text if len(text) <= SHORT_RECEIVED else text[: SHORT_RECEIVED - 3] + "..."


def _issue(group: list[_Case], totals: Mapping[tuple[str, str, str], int]) -> TestIssue:
    first = group[0]
    test_id = f"{first.module}::{first.rule}" if first.module else first.rule
    apis = sorted({c.api for c in group})
    total = sum(totals.get((first.classname, first.rule, api), 0) for api in apis) or len(group)
    apis = [a for a in apis if a]
    fields = first.fields
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
    if fields is None:
        single = len(group) == 1 and total == 1
        message = first.message if single else f"{where}: {first.message}" if where else first.message
        detail.update(kind="error" if not first.xpass else "xpass", cause="", likely_cause="")
        return TestIssue(test_id, first.family, message, len(group), detail)
    received, expected = received_short(fields), str(fields.get("expected", ""))
    likely = str(fields.get("likely_cause") or "")
    detail.update(
        kind=str(fields.get("kind", "")),
        cause=str(fields.get("cause", "")),
        likely_cause=likely,
        received=received,
        expected=expected,
    )
    detail["example"].update(
        {
            k: fields.get(k)
            for k in ("sent", "received", "expected", "status", "headers", "body", "protection")
        }
    )
    parts = [f"received {received}", f"expected {expected}"]
    if fields.get("kind") == "control":
        parts.insert(0, "positive control failed")
    if likely:
        parts.append(f"likely cause: {likely}")
    message = (f"{where}: " if where else "") + "; ".join(parts)
    return TestIssue(test_id, first.family, message, len(group), detail)


def parse_junit(
    xml_text: str,
    labels: Mapping[tuple[str, str], str],
    entries: Mapping[tuple[str, str], AllureEntry] | None = None,
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
        family = family_of(classname, name, labels)
        one, issue = _outcome(case)
        families[family] = families.get(family, Counts()).plus(one)
        module = classname.rsplit(".", 1)[-1] if classname else ""
        found = _Case(module, classname, name, family, issue or "", bool(one.xpassed), None, None)
        found.entry = (entries or {}).get((classname, name))
        totals[(classname, found.rule, found.api)] = totals.get((classname, found.rule, found.api), 0) + 1
        if issue is not None:
            found.fields = None if one.xpassed else failure_fields(case)
            groups.setdefault(found.key(), []).append(found)
    total = Counts()
    for counts in families.values():
        total = total.plus(counts)
    issues = [(g[0].xpass, _issue(g, totals)) for g in groups.values()]
    failures = tuple(i for xpass, i in issues if not xpass)
    xpasses = tuple(i for xpass, i in issues if xpass)
    return total, dict(sorted(families.items())), failures, xpasses


def _outcome(case: ET.Element) -> tuple[Counts, str | None]:
    failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
    if failure is not None:
        message = _error_line(failure.get("message", ""), failure.text)
        if message.startswith(XPASS_PREFIX):
            return Counts(xpassed=1), _first_line(message.removeprefix(XPASS_PREFIX)) or "unexpectedly passed"
        return Counts(failed=1), _first_line(_without_prefix(message)) or "failed"
    if error is not None:
        return Counts(errors=1), _error_line(error.get("message", ""), error.text) or "error"
    if skipped is not None:
        if skipped.get("type") == "pytest.xfail":
            return Counts(xfailed=1), None
        return Counts(skipped=1), None
    return Counts(passed=1), None


def _without_prefix(message: str) -> str:
    """pytest.fail's message without pytest's "Failed: " prefix."""
    return message.removeprefix("Failed: ")


def read_conformance(
    junit_path: Path, allure_dir: Path, exit_code: int | None = None
) -> ConformanceResult | None:
    """None when junit.xml is absent (the part left no results)."""
    if not junit_path.is_file():
        return None
    entries = allure_index(allure_dir)
    labels = {k: e.feature for k, e in entries.items() if e.feature}
    counts, families, failures, xpasses = parse_junit(junit_path.read_text(encoding="utf-8"), labels, entries)
    return ConformanceResult(counts, families, failures, xpasses, exit_code)
