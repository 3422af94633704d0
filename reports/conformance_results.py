"""Read the conformance part's results: junit.xml (outcomes) + allure-results (rule family labels).

pytest writes an xfail as <skipped type="pytest.xfail"> and a strict xpass as a <failure> whose
message starts with "[XPASS(strict)]"; allure-pytest gives each result a `feature` label (the rule
family, set by the conformance suite).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from reports.gate import ConformanceResult, Counts, TestIssue

XPASS_PREFIX = "[XPASS(strict)]"
MODULE_PREFIX = "test_"


def families_from_allure(results_dir: Path) -> dict[tuple[str, str], str]:
    """(module, test name) -> feature label, from allure-pytest's *-result.json files."""
    out: dict[tuple[str, str], str] = {}
    if not results_dir.is_dir():
        return out
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        feature = next(
            (lab.get("value") for lab in data.get("labels", []) if lab.get("name") == "feature"), None
        )
        module = str(data.get("fullName", "")).split("#", 1)[0]
        if feature and module and data.get("name"):
            out[(module, str(data["name"]))] = str(feature)
    return out


def family_of(classname: str, name: str, labels: Mapping[tuple[str, str], str]) -> str:
    """The feature label, else the module name without "test_" (conformance/test_<family>.py)."""
    label = labels.get((classname, name))
    if label:
        return label
    module = classname.rsplit(".", 1)[-1]
    return module.removeprefix(MODULE_PREFIX) or "other"


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


def parse_junit(
    xml_text: str, labels: Mapping[tuple[str, str], str]
) -> tuple[Counts, dict[str, Counts], tuple[TestIssue, ...], tuple[TestIssue, ...]]:  # noqa: E501
    """Counts overall and per family, unexpected failures, strict xpasses. Raises ValueError on bad XML."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError(f"junit.xml is not valid XML: {exc}") from exc
    families: dict[str, Counts] = {}
    failures: list[TestIssue] = []
    xpasses: list[TestIssue] = []
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        family = family_of(classname, name, labels)
        test_id = f"{classname.rsplit('.', 1)[-1]}::{name}" if classname else name
        one, issue = _outcome(case)
        families[family] = families.get(family, Counts()).plus(one)
        if issue is not None:
            target = xpasses if one.xpassed else failures
            target.append(TestIssue(test_id, family, issue))
    total = Counts()
    for counts in families.values():
        total = total.plus(counts)
    return total, dict(sorted(families.items())), tuple(failures), tuple(xpasses)


def _outcome(case: ET.Element) -> tuple[Counts, str | None]:
    failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
    if failure is not None:
        message = failure.get("message", "") or failure.text or ""
        if message.startswith(XPASS_PREFIX):
            return Counts(xpassed=1), _first_line(message.removeprefix(XPASS_PREFIX)) or "unexpectedly passed"
        return Counts(failed=1), _first_line(message) or "failed"
    if error is not None:
        return Counts(errors=1), _first_line(error.get("message", "") or error.text) or "error"
    if skipped is not None:
        if skipped.get("type") == "pytest.xfail":
            return Counts(xfailed=1), None
        return Counts(skipped=1), None
    return Counts(passed=1), None


def read_conformance(
    junit_path: Path, allure_dir: Path, exit_code: int | None = None
) -> ConformanceResult | None:
    """None when junit.xml is absent (the part left no results)."""
    if not junit_path.is_file():
        return None
    counts, families, failures, xpasses = parse_junit(
        junit_path.read_text(encoding="utf-8"), families_from_allure(allure_dir)
    )
    return ConformanceResult(counts, families, failures, xpasses, exit_code)
