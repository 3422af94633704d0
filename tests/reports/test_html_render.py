"""The single-file HTML report: rendered by the pinned Allure 3, opened from disk in headless Chromium."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from reports.allure_ids import REPORT_URL_ENV, fragment
from reports.build import build
from reports.gate import Part
from reports.run_info import ContractFile, RunInfo, contract_digest
from reports.write.history import HISTORY_FILE
from reports.write.html import allure_bin, render, strip_analytics
from reports.write.report_data import missed_attachments, results_of
from tests.reports.browser import chromium, dump_dom, screenshot

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
KEEP = ROOT / "out" / "selftest"  # kept for people to look at


def test_analytics_tag_is_removed_and_the_rest_kept() -> None:
    page = (
        '<body><div id="app"></div>\n<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "    <script>\n        window.dataLayer = window.dataLayer || [];\n"
        " gtag('js', new Date());\n    </script>\n"
        "<script>var report = 1;</script></body>"
    )
    clean = strip_analytics(page)
    assert "googletagmanager" not in clean and "dataLayer" not in clean
    assert '<div id="app"></div>' in clean and "var report = 1;" in clean


def test_without_node_the_gate_says_how_to_render(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("reports.write.html.shutil.which", lambda name: None)
    outcome = render(tmp_path, tmp_path / "report.html", "x", ROOT, "local")
    assert outcome.path is None and "node is not installed" in outcome.note
    assert "`make setup`" in outcome.note and "-m reports.build --stage local" in outcome.note
    targets = {line.split(":")[0] for line in (ROOT / "Makefile").read_text().splitlines() if ":" in line}
    assert "setup" in targets  # the hint names a target that exists


def test_without_allure_installed_the_gate_says_how_to_render(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    outcome = render(
        tmp_path, tmp_path / "report.html", "x", tmp_path, "local"
    )  # tmp_path has no node_modules
    assert outcome.path is None and "npm ci" in outcome.note


# --- the report a person reads, checked in headless Chromium ------------------------------------
#
# Two reports of the embedded stage, each from a real conformance run and real load records
# (tests/reports/data/load_charts_*: a run of the load part, the failing one with the seeded
# fault throttle.quota_as_throttled): a passing run, then a failing one (the seeded CORS fault
# cors.reflect_any_origin) with the passing run's history. Screenshots stay under out/selftest/.

FAULT = "cors.reflect_any_origin"
CORS_RULES = {
    "preflight_from_attacker_origin_gets_no_allow_origin",
    "actual_request_from_attacker_origin_gets_no_allow_origin",
}
PYTEST_ENV_DROPPED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
PUBLISHED = "http://reports.example/stagegate/report.html"  # STAGEGATE_REPORT_URL of the failing build


@dataclass(frozen=True)
class Report:
    out: Path  # out/selftest/<kind>/local
    gate: dict

    @property
    def html(self) -> Path:
        return self.out / "report.html"

    def fragment(self, full_name: str, name: str | None = None) -> str:
        for path in (self.out / "allure-results").glob("*-result.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("fullName") == full_name and name in (None, data.get("name")):
                return fragment(data["uuid"])
        raise LookupError(full_name)

    def dom(self, full_name: str, name: str | None = None) -> str:
        return dump_dom(self.html, self.fragment(full_name, name))


def description(dom: str) -> str:
    """The result's description as the person sees it (Allure renders it in a sandboxed frame)."""
    found = re.search(r'srcdoc="([^"]*)"', dom)
    assert found, "no description frame in the page"
    return html.unescape(found.group(1))


def _conformance(out: Path, *faults: str) -> int:
    command = [sys.executable, "-m", "pytest", "conformance", "--stage", "local",
               "--alluredir", str(out / "allure-results"), "--junitxml", str(out / "junit.xml"),
               "--stagegate-coverage", str(out / "coverage.json"), "-p", "no:cacheprovider", "-q",
               "--color=no", *(f"--fault={f}" for f in faults)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in PYTEST_ENV_DROPPED}
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert (out / "junit.xml").is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    return done.returncode


def _report(kind: str, faults: tuple[str, ...], load: str, history: Path | None) -> Report:
    out = KEEP / kind / "local"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.mkdir(parents=True)
    if history is not None and history.is_file():
        shutil.copy(history, out / HISTORY_FILE)  # the same stage's earlier run
    started = time.time()  # the run starts here (its history is what was rendered before)
    exit_code = _conformance(out, *faults)
    shutil.copytree(DATA / load, out / "load")
    cells = json.loads((out / "coverage.json").read_text())["cells"]
    waivers = {  # what the embedded stage cannot exercise, waived as a person would (not failures)
        f"{c['rule']}[{c['api']}]": "self-test: not exercisable on the embedded stage"
        for c in cells
        if c["state"] == "not_exercised"
    }
    contracts = [
        ContractFile("portal", "http", str(ROOT / "fixtures" / "clinic" / "portal.openapi.json")),
        ContractFile("partner", "rest", str(ROOT / "fixtures" / "clinic" / "partner.openapi.json")),
    ]
    info = RunInfo(
        "local", "stages/local.toml", True, Part("ran"), Part("ran"), exit_code,
        1 if "fail" in load else 0, started=started, waivers=waivers,
        contract_digest=contract_digest(contracts),
    )  # fmt: skip
    built = build(info, out, ROOT)
    assert built.html.path == out / "report.html", built.html.note
    return Report(out, built.gate)


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    if shutil.which("node") is None or not allure_bin(ROOT).exists():
        pytest.skip("Allure 3 not installed: run `make setup` (npm ci)")
    if chromium() is None:
        pytest.skip("chromium not installed: `apt-get install -y chromium` (test set-up)")
    passing = _report("pass", (), "load_charts_pass", None)
    os.environ[REPORT_URL_ENV] = PUBLISHED  # the failing report is "published": its pages link
    try:
        failing = _report("fail", (FAULT,), "load_charts_fail", passing.out / HISTORY_FILE)
    finally:
        del os.environ[REPORT_URL_ENV]
    shots = {
        "report-pass-verdict.png": (passing, passing.fragment("gate#verdict")),
        "report-fail-verdict.png": (failing, failing.fragment("gate#verdict")),
        "report-fail-case.png": (failing, "#" + _example(failing)["report"]["link"].split("#", 1)[1]),
        "report-fail-burst.png": (failing, failing.fragment("load.portal#burst")),
        "report-fail-quota.png": (failing, failing.fragment("load.partner#quota")),
        "report-fail-coverage.png": (failing, failing.fragment("gate#coverage")),
    }
    for name, (report, address) in shots.items():
        screenshot(report.html, KEEP / name, address)
        assert (KEEP / name).stat().st_size > 10_000, name
    return {"pass": passing, "fail": failing}


def _example(report: Report) -> dict:
    reasons = [r for r in report.gate["reasons"] if r["rule"] == "conformance.unexpected_failure"]
    return reasons[0]["detail"]


@pytest.mark.slow
def test_the_failing_report_shows_the_verdict_and_one_reason_per_rule_and_cause(
    reports: dict[str, Report],
) -> None:
    failing = reports["fail"]
    dom = failing.dom("gate#verdict")
    assert "Gate verdict: FAIL" in dom
    shown = description(dom)
    rows = re.findall(r'<tr class="reason" data-rule="([^"]+)">(.*?)</tr>', shown, re.S)
    assert {rule for rule, _ in rows} == CORS_RULES and len(rows) == 2  # 14 failing cases, two causes
    for _, row in rows:
        received = re.search(r'<td class="received"[^>]*>(.*?)</td>', row, re.S)
        expected = re.search(r'<td class="expected"[^>]*>(.*?)</td>', row, re.S)
        cause = re.search(r'<td class="cause"[^>]*>(.*?)</td>', row, re.S)
        assert received and "access-control-allow-origin: https://evil.example" in received.group(1)
        assert expected and "no Access-Control-Allow-Origin for the attacker origin" in expected.group(1)
        assert cause and "allow_origins" in cause.group(1)
        assert "7 of 7 failed" in row and "passed in the last run, fails now" in row  # the regression
    # The load reason names the comparison that failed, with its numbers.
    assert "429 body" in shown and "10 &#x27;Too Many Requests&#x27;" in shown.replace("'", "&#x27;")
    assert "&#x27;Limit Exceeded&#x27; after the quota" in shown.replace("'", "&#x27;")
    assert "Earlier runs of this stage (oldest first): PASS." in shown
    # summary.md: the same two rows, received vs expected and the likely cause, in a PR-sized table.
    summary = (failing.out / "summary.md").read_text()
    table = [line for line in summary.splitlines() if line.startswith("| `") and "(cors)" in line]
    assert len(table) == 2 and all("evil.example" in line and "allow_origins" in line for line in table)


@pytest.mark.slow
def test_a_failed_rule_reads_received_and_expected_with_a_short_case_label_and_no_fixture_plumbing(
    reports: dict[str, Report],
) -> None:
    failing = reports["fail"]
    example = _example(failing)
    dom = dump_dom(failing.html, "#" + example["report"]["link"].split("#", 1)[1])
    assert "received: 204" in dom or "received: 200" in dom
    assert "expected: no Access-Control-Allow-Origin for the attacker origin" in dom
    assert "likely cause: CORS configuration" in dom
    assert "portal unrelated origin https://evil.example" in dom and "OriginCase(" not in dom
    assert "::&lt;lambda&gt;" not in dom and "::<lambda>" not in dom  # pytest's finalizers hidden
    page = failing.html.read_text(encoding="utf-8")
    plumbing = [
        f["name"] for r in results_of(page) for f in (r.get("setup") or []) + (r.get("teardown") or [])
    ]
    assert plumbing == []


def _points(svg: ET.Element, series: str) -> list[tuple[float, float]]:
    ns = "{http://www.w3.org/2000/svg}"
    group = next(g for g in svg.iter(f"{ns}g") if g.get("data-series") == series)
    line = next(group.iter(f"{ns}polyline"))
    return [(float(x), float(y)) for x, y in (p.split(",") for p in (line.get("points") or "").split())]


def _marker(svg: ET.Element, name: str) -> ET.Element:
    ns = "{http://www.w3.org/2000/svg}"
    group = next(g for g in svg.iter(f"{ns}g") if g.get("data-marker") == name)
    return next(group.iter(f"{ns}line"))


@pytest.mark.slow
def test_the_burst_chart_shows_the_accepted_line_bending_at_the_bucket_size(
    reports: dict[str, Report],
) -> None:
    shown = description(reports["fail"].dom("load.portal#burst"))
    image = re.search(
        r'<img class="chart"[^>]*alt="([^"]*)"[^>]*src="data:image/svg\+xml;base64,([^"]+)"', shown
    )
    assert (
        image and image.group(1) == "burst chart (cumulative accepted vs model, bucket size) of portal.burst"
    )
    svg = ET.fromstring(base64.b64decode(image.group(2)))
    text = "".join(svg.itertext())
    assert "time since the first request (ms)" in text and "requests (cumulative)" in text  # units
    assert "bucket size 200" in text and "model accepted" in text  # the marker and the legend
    bucket_y = float(_marker(svg, "bucket").get("y1") or 0)
    empty_x = float(_marker(svg, "bucket-empty").get("x1") or 0)
    accepted = _points(svg, "accepted")
    at_bend = min(accepted, key=lambda p: abs(p[0] - empty_x))
    assert abs(at_bend[1] - bucket_y) < 6  # the accepted line reaches the bucket size where it empties
    first, last = accepted[0], accepted[-1]
    before = (first[1] - at_bend[1]) / (at_bend[0] - first[0])  # pixels up per pixel right
    after = (at_bend[1] - last[1]) / (last[0] - at_bend[0])
    assert before > 0 and after < before / 4, (
        before,
        after,
    )  # steep until the bucket is empty, then the rate
    quota = description(reports["fail"].dom("load.partner#quota"))
    assert 'alt="quota chart (accepted per key vs quota) of partner.quota"' in quota
    assert "429 body" in quota  # the failed comparison on the scenario's own page


@pytest.mark.slow
def test_no_result_lists_a_missed_attachment(reports: dict[str, Report], tmp_path: Path) -> None:
    # Positive control: a result naming a file that is not there shows "missed" in the page.
    results = tmp_path / "results"
    results.mkdir()
    (results / "c-result.json").write_text(json.dumps({
        "uuid": "control", "historyId": "h", "fullName": "x#y", "name": "control", "status": "passed",
        "attachments": [{"name": "gone.csv", "source": "gone-attachment.csv", "type": "text/csv"}],
    }))  # fmt: skip
    control = render(results, tmp_path / "report.html", "control", ROOT, "x")
    assert control.missed == ("control: gone.csv",)
    missed_tag = 'data-testid="test-result-attachment-missed"'
    assert missed_tag in dump_dom(tmp_path / "report.html", fragment("control"))
    for report in reports.values():
        assert report.gate["report"]["missed"] == []
        assert missed_attachments(report.html.read_text(encoding="utf-8")) == []
        for full_name in ("load.portal#burst", "load.partner#quota", "gate#verdict"):
            assert missed_tag not in report.dom(full_name), full_name
    verdict = reports["fail"].dom("gate#verdict")
    assert "Locust HTML report (whole run)" in verdict  # the whole-run files, once, on the verdict


@pytest.mark.slow
def test_the_coverage_page_shows_every_rule_on_every_api_and_links_to_the_results(
    reports: dict[str, Report],
) -> None:
    failing = reports["fail"]
    dom = failing.dom("gate#coverage")
    shown = description(dom)
    assert "Coverage (rule x API)" in shown
    cells = re.findall(r"<tr><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>(.*?)</tr>", shown, re.S)
    by_rule = {rule: re.findall(r'data-state="([a-z_]+)"', rest) for _, rule, rest in cells}
    assert by_rule["preflight_from_attacker_origin_gets_no_allow_origin"] == ["passed", "failed"]
    assert by_rule["burst"] == ["passed"] and by_rule["quota"] == ["failed"]  # the scenarios recorded
    assert "not applicable" in shown and {"passed", "failed", "not_applicable"} <= {
        state for states in by_rule.values() for state in states
    }
    assert "conformance &gt; test_&lt;family&gt; &gt; &lt;rule&gt;" in shown  # where each cell's results are
    name = "failed: preflight_from_attacker_origin_gets_no_allow_origin [portal]"
    link = re.search(
        rf'href="{re.escape(PUBLISHED)}(#/[0-9a-f]{{32}})"[^>]*>(?:<[^>]*>)*{re.escape(name)}', dom
    )
    assert link, "no link from the failed cell to its results"
    opened = dump_dom(failing.html, link.group(1))  # the page the link opens
    assert "test_preflight_from_attacker_origin_gets_no_allow_origin[portal " in opened
    assert "expected: no Access-Control-Allow-Origin for the attacker origin" in opened


@pytest.mark.slow
def test_the_passing_report_reads_pass_and_the_failing_one_keeps_its_history(
    reports: dict[str, Report],
) -> None:
    passing = reports["pass"]
    assert passing.gate["verdict"] == "pass", passing.gate["reasons"]
    dom = passing.dom("gate#verdict")
    assert "Gate verdict: PASS" in dom and "No blocking reason." in description(dom)
    history = (reports["fail"].out / HISTORY_FILE).read_text().splitlines()
    assert len(history) == 2  # the passing run, then the failing one (bounded by HISTORY_LIMIT)
    assert reports["fail"].gate["history"]["verdicts"] == ["pass"]
