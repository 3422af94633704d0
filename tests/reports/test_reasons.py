"""The report people read, without a browser: reasons grouped per rule and cause (read as fields),
summary.md and console rows, the contract digests, history, fixture plumbing, missed attachments,
and the charts at the scale of the behaviour."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from fixtures.failure_record import FAILURE_PROPERTY, FAMILY_PROPERTY
from reports.gate import ScenarioResult, SecondSample
from reports.read.conformance import AllureEntry, parse_junit
from reports.write.allure_tidy import tidy_fixtures
from reports.write.charts import burst_svg, quota_svg, rate_svg, scenario_svg
from reports.write.history import annotate, phrase, read_history
from reports.write.report_data import missed_attachments
from reports.write.summary import console_reasons, markdown

NS = "{http://www.w3.org/2000/svg}"


def _fields(origin: str, status: int = 204) -> dict[str, Any]:
    return {
        "rule": f"test_preflight_from_attacker_origin_gets_no_allow_origin[portal x origin {origin}]",
        "family": "cors",
        "kind": "answer",
        "sent": f"OPTIONS http://127.0.0.1/portal/health [Origin: {origin}]",
        "received": f"{status} [access-control-allow-origin: {origin}] body=''",
        "expected": f"no Access-Control-Allow-Origin for the attacker origin {origin}",
        "likely_cause": "CORS configuration: check allow_origins",
        "cause": "cors.config",
        "status": status,
        "expected_status": None,
        "headers": [["access-control-allow-origin", origin], ["access-control-max-age", "86400"]],
        "body": "",
        "protection": "",
    }


def _case(name: str, fields: dict[str, Any] | None, outcome: str = "failure") -> str:
    """A junit test case as the conformance plugin leaves it: its family and its failure record."""
    props = f'<property name="{FAMILY_PROPERTY}" value="cors"/>'
    if fields is not None:
        value = json.dumps(fields).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        props += f'<property name="{FAILURE_PROPERTY}" value="{value}"/>'
    props = f"<properties>{props}</properties>"
    body = f'<{outcome} message="rule: {name}">x</{outcome}>' if outcome else ""
    return f'<testcase classname="conformance.test_cors" name="{name}">{body}{props}</testcase>'


def _junit(*cases: str) -> str:
    return f'<testsuites><testsuite name="pytest">{"".join(cases)}</testsuite></testsuites>'


RULE = "test_preflight_from_attacker_origin_gets_no_allow_origin"
ORIGINS = ("https://evil.example", "null", "https://portal.clinic.com.evil.example")


def _grouped() -> tuple[Any, ...]:
    cases = [_case(f"{RULE}[portal x origin {o}]", _fields(o)) for o in ORIGINS]
    cases.append(_case(f"{RULE}[partner x origin https://evil.example]", None, ""))  # passed
    crash = {"rule": "test_other[portal]", "family": "cors", "kind": "error", "exception": "RuntimeError",
             "message": "setup broke", "phase": "setup"}  # fmt: skip
    cases.append(_case("test_other[portal]", crash, "error"))
    entries = {
        ("conformance.test_cors", f"{RULE}[portal x origin {o}]"): AllureEntry("portal", f"u-{o}")
        for o in ORIGINS
    }
    passed = f"{RULE}[partner x origin https://evil.example]"
    entries[("conformance.test_cors", passed)] = AllureEntry("partner", "u-p")
    return parse_junit(_junit(*cases), entries)


def test_failures_are_grouped_per_rule_and_cause_from_the_recorded_fields() -> None:
    counts, _, failures, _ = _grouped()
    assert counts.failed == 3 and counts.errors == 1 and counts.passed == 1
    first, other = failures
    assert (first.test_id, first.cases) == (f"test_cors::{RULE}", 3)
    d = first.detail
    assert d["apis"] == ["portal"] and (d["cases"], d["of"]) == (3, 3)  # the partner case passed
    assert d["received"] == "204 access-control-allow-origin: https://evil.example"  # the telling header only
    assert d["expected"] == "no Access-Control-Allow-Origin for the attacker origin https://evil.example"
    assert d["likely_cause"].startswith("CORS configuration") and d["cause"] == "cors.config"
    assert d["report"]["link"].startswith("report.html#/") and d["report"]["full_name"].endswith(f"#{RULE}")
    assert "received 204 access-control-allow-origin" in first.message and "likely cause:" in first.message
    assert other.test_id == "test_cors::test_other" and other.detail["kind"] == "error"
    assert other.message == "RuntimeError: setup broke (in setup)"  # from the record, not the text


def _gate(**extra: Any) -> dict[str, Any]:
    _, _, failures, _ = _grouped()
    reasons = [
        {
            "rule": "conformance.unexpected_failure",
            "outcome": "fail",
            "message": i.message,
            "detail": i.detail,
        }
        for i in failures
    ]
    check = {"group": "key quota-a", "comparison": "429 body", "observed": "10 'Too Many Requests'",
             "expected": "'Limit Exceeded'", "count": 10}  # fmt: skip
    reasons.append(
        {"rule": "load.fail", "outcome": "fail", "message": "partner.quota: ...",
         "detail": {"type": "load", "scenario": "partner.quota", "checks": [check]}}
    )  # fmt: skip
    reasons.append(
        {"rule": "run.partial", "outcome": "inconclusive", "message": "load part skipped", "detail": {}}
    )
    gate = {
        "verdict": "fail",
        "stage": "local",
        "exit_code": 1,
        "reasons": reasons,
        "contract_digest": {
            "combined": "sha256:" + "0" * 64,
            "apis": [
                {"name": "partner", "flavor": "rest", "contract": "p.json", "sha256": "sha256:" + "a" * 64},
                {"name": "portal", "flavor": "http", "contract": "q.json", "sha256": "sha256:" + "b" * 64},
            ],
        },
    }
    return {**gate, **extra}


def test_summary_has_one_row_per_rule_and_cause_with_received_expected_and_likely_cause() -> None:
    md = markdown(_gate())
    rows = [line for line in md.splitlines() if line.startswith(f"| `{RULE.removeprefix('test_')}`")]
    assert len(rows) == 1
    assert "3 of 3 failed" in rows[0] and "204 access-control-allow-origin: https://evil.example" in rows[0]
    assert "no Access-Control-Allow-Origin" in rows[0] and "CORS configuration" in rows[0]
    assert "report.html#/" in rows[0]  # the report entry to open
    assert "| OPTIONS http://127.0.0.1/portal/health [Origin: https://evil.example] |" in rows[0]  # sent
    assert "| `partner.quota` key quota-a | 429 body | 10 'Too Many Requests' | 'Limit Exceeded' |" in md
    assert "- **`run.partial`** (inconclusive): load part skipped" in md
    for rule in ("conformance.unexpected_failure", "load.fail", "run.partial"):
        assert f"`{rule}`" in md


def test_the_header_shows_one_digest_per_contract_as_in_the_contracts_table() -> None:
    md = markdown(_gate())
    head = md.splitlines()[2]
    assert "partner `sha256:aaaaaaaaaaaaaaaa`" in head and "portal `sha256:bbbbbbbbbbbbbbbb`" in head
    assert "sha256:0000" not in md  # the combined digest matched no row of the table: not shown
    assert "| partner | rest | `p.json` | `sha256:aaaaaaaaaaaaaaaa` |" in md


def test_the_console_lists_each_reason_compactly() -> None:
    text = console_reasons(_gate(), limit=10)
    lines = text.splitlines()
    assert lines[0].startswith("  FAIL [conformance.unexpected_failure] cors preflight_from_attacker")
    assert "(portal: 3 of 3 failed)" in lines[0]
    assert lines[1] == "      sent OPTIONS http://127.0.0.1/portal/health [Origin: https://evil.example]"
    assert lines[2] == "      received 204 access-control-allow-origin: https://evil.example"
    assert lines[3].startswith("      expected no Access-Control-Allow-Origin") and "likely cause" in lines[4]
    assert "      429 body (key quota-a): 10 'Too Many Requests', expected 'Limit Exceeded'" in lines
    assert all(len(line) <= 200 for line in lines)
    assert "... and 3 more reasons (all in x.md)" in console_reasons(_gate(), limit=1, summary="x.md")


def _history_point(stamp: int, statuses: dict[tuple[str, str], str]) -> str:
    results = {
        f"id{i}": {"fullName": f, "name": n, "status": s} for i, ((f, n), s) in enumerate(statuses.items())
    }
    return json.dumps({"uuid": str(stamp), "timestamp": stamp, "testResults": results})


def test_history_says_passed_in_the_last_runs_fails_now(tmp_path: Path) -> None:
    name = f"{RULE}[portal x origin https://evil.example]"
    key = (f"conformance.test_cors#{RULE}", name)
    lines = [
        _history_point(t, {key: "passed", ("gate#verdict", "Gate verdict: PASS"): "passed"})
        for t in (1, 2, 3)
    ]
    lines.append(_history_point(99, {key: "failed"}))  # this run's own rendering (a rebuild): not counted
    (tmp_path / "history.jsonl").write_text("\n".join(lines) + "\n")
    history = read_history(tmp_path / "history.jsonl", before_ms=50)
    assert history.verdicts == ("passed", "passed", "passed")
    gate = _gate()
    annotate(gate, history)
    assert gate["reasons"][0]["detail"]["history"] == "passed in the last 3 runs, fails now"
    assert gate["history"]["verdicts"] == ["pass", "pass", "pass"]
    assert "Earlier runs of this stage (oldest first): PASS, PASS, PASS." in markdown(gate)
    assert phrase(["failed", "failed"], "fail") == "also failed in the last 2 runs"
    assert phrase(["passed", "failed", "passed"], "fail") == "failed in 1 of the last 3 runs, fails now"
    assert phrase([], "fail") == "" and read_history(tmp_path / "absent.jsonl").runs == ()


def test_fixture_plumbing_is_dropped_and_a_failed_fixture_kept(tmp_path: Path) -> None:
    silent = {"name": "check::<lambda>", "status": None, "steps": []}
    failed = {"name": "suite", "status": "broken", "statusDetails": {"message": "boom"}}
    (tmp_path / "a-container.json").write_text(json.dumps({"befores": [{"name": "suite", "status": "passed"}],
                                                           "afters": [silent]}))  # fmt: skip
    (tmp_path / "b-container.json").write_text(json.dumps({"befores": [failed], "afters": [silent]}))
    assert tidy_fixtures(tmp_path) == 3
    assert not (tmp_path / "a-container.json").exists()
    kept = json.loads((tmp_path / "b-container.json").read_text())
    assert kept["befores"] == [failed] and kept["afters"] == []


def _page(*results: dict[str, Any]) -> str:
    def d(name: str, value: dict[str, Any]) -> str:
        return f'd("{name}","{base64.b64encode(json.dumps(value).encode()).decode()}")'

    return (
        "<script>Promise.allSettled(["
        + ",".join(d(f"data/test-results/{i}.json", r) for i, r in enumerate(results))
        + "])</script>"
    )


def test_a_missed_attachment_is_found_in_the_rendered_page() -> None:
    ok = {"name": "a", "steps": [{"type": "attachment", "link": {"name": "chart", "missed": False}}]}
    missing = {"type": "attachment", "link": {"name": "stats", "missed": True}}
    gone = {"name": "b", "steps": [{"type": "step", "steps": [missing]}]}
    assert missed_attachments(_page(ok)) == []
    assert missed_attachments(_page(ok, gone)) == ["b: stats"]


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def _points(svg: ET.Element, series: str) -> list[tuple[float, float]]:
    group = next(g for g in svg.iter(f"{NS}g") if g.get("data-series") == series)
    line = next(group.iter(f"{NS}polyline"))
    return [(float(x), float(y)) for x, y in (p.split(",") for p in (line.get("points") or "").split())]


def _burst_chart() -> dict[str, Any]:
    sent = [2] * 150  # 300 requests in 150 ms, 1 ms bins
    accepted = [2] * 100 + [0, 0, 0, 0, 0, 0, 0, 0, 0, 1] * 5  # 200 until the bucket is empty, then 100/s
    return {"kind": "burst", "bin_s": 0.001, "rate": 100.0, "burst": 200, "sent": sent, "accepted": accepted,
            "throttled": [s - a for s, a in zip(sent, accepted, strict=True)], "quota_rejected": [0] * 150,
            "model_accepted": accepted}  # fmt: skip


def test_the_burst_chart_is_cumulative_in_ms_with_the_bucket_size_and_bends_there() -> None:
    svg = _svg(burst_svg(_burst_chart(), "portal.burst"))
    text = "".join(svg.itertext())
    assert "time since the first request (ms)" in text and "requests (cumulative)" in text
    assert "bucket size 200" in text and "bucket empty (model) at 100 ms" in text
    for label in ("sent", "accepted", "429", "model accepted"):
        assert label in text  # the legend
    accepted = _points(svg, "accepted")
    bend = accepted[100]  # after the 100th bin
    before = (accepted[0][1] - bend[1]) / (bend[0] - accepted[0][0])
    after = (bend[1] - accepted[-1][1]) / (accepted[-1][0] - bend[0])
    assert after < before / 10


def test_the_rate_chart_uses_100_ms_bins_per_second_and_clips_the_initial_burst() -> None:
    chart = {"kind": "rate", "bin_s": 0.1, "rate": 100.0, "group": "GET /a", "sent": [200] + [27] * 20,
             "accepted": [200] + [10] * 20, "throttled": [0] + [17] * 20, "quota_rejected": [0] * 21,
             "model_accepted": [200] + [10] * 20}  # fmt: skip
    text = "".join(_svg(rate_svg(chart, "portal.over-rate")).itertext())
    assert "requests per second (100 ms bins)" in text and "limit 100/s" in text
    assert "off scale: 2000/s at 0.0 s" in text  # the bucket's burst, written out


def test_the_quota_chart_shows_accepted_per_key_against_the_quota() -> None:
    chart = {"kind": "quota", "groups": [
        {"name": "key quota-a", "sent": 60, "accepted": 60, "limit_exceeded": 0, "too_many_requests": 0,
         "model_accepted": 50, "quota": 50},
        {"name": "key quota-b", "sent": 10, "accepted": 10, "limit_exceeded": 0, "too_many_requests": 0,
         "model_accepted": 10, "quota": 50}]}  # fmt: skip
    svg = _svg(quota_svg(chart, "partner.quota"))
    markers = [g.get("data-value") for g in svg.iter(f"{NS}g") if g.get("data-marker") == "quota"]
    assert markers == ["50", "50"]
    bars = {(r.get("data-key"), r.get("data-series")): r.get("data-value") for r in svg.iter(f"{NS}rect")}
    assert bars[("key quota-a", "accepted")] == "60"  # above its quota line: what a person sees


def test_an_older_record_without_series_gets_the_per_second_chart() -> None:
    old = ScenarioResult("portal", "burst", "pass", per_second=(SecondSample(0, 300, 214, 86, 215.0),))
    assert "offered, accepted and 429 per second" in scenario_svg(old)


def test_the_history_is_bounded_and_survives_the_gates_clean_up(tmp_path: Path) -> None:
    from reports.run import clean

    lines = [_history_point(t, {("gate#verdict", "Gate verdict: PASS"): "passed"}) for t in range(10)]
    (tmp_path / "history.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "gate.json").write_text("{}")
    clean(tmp_path)
    assert not (tmp_path / "gate.json").exists() and (tmp_path / "history.jsonl").is_file()
    assert len(read_history(tmp_path / "history.jsonl", limit=6).runs) == 6
