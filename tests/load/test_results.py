"""Result records (pure): the compact detail per scenario, Locust's file paths, progress marks."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from fixtures.stage import Tolerance
from load.power import Power
from load.results import (
    exit_code,
    locust_files,
    progress_marks,
    progress_record,
    scenario_result,
    verdict_line,
    write_progress,
)
from load.scenarios import Scenario
from load.verdict import Group, Judgement, judge


def group(name: str, offered: int, accepted: int, throttled: int = 0, quota: int = 0, **kw: object) -> Group:
    base: dict[str, object] = dict(
        name=name, offered=offered, sent=offered, accepted=accepted, throttled=throttled,
        quota_rejected=quota, other=0, expected_accepted=accepted, expected_band=(accepted, accepted),
        tolerance=0.0, configured_rate=100.0, configured_burst=200, fitted_rate=None, fitted_burst=None,
    )  # fmt: skip
    base.update(kw)
    return Group(**base)  # type: ignore[arg-type]


def judged(*groups: Group, late: int = 0, status: str = "pass") -> Judgement:
    offered = sum(g.offered for g in groups)
    return Judgement(
        "x",
        status,  # type: ignore[arg-type]
        (),
        groups,
        offered,
        offered,
        0,
        late,
        late / offered if offered else 0.0,
        {},  # type: ignore[arg-type]
    )


def scenario(name: str, primary: str, **kw: object) -> Scenario:
    base: dict[str, object] = dict(
        api="portal", name=name, rule="r", start=1.0, end=3.5, limits={},
        configured={"rate": 100.0, "burst": 200, "quota": None}, primary=primary,
    )  # fmt: skip
    base.update(kw)
    return Scenario(**base)  # type: ignore[arg-type]


def test_burst_detail_counts_model_429_and_fitted_burst() -> None:
    sc = scenario("burst", "GET /health")
    j = judged(group("GET /health", 300, 214, 86, expected_accepted=213, fitted_burst=199.38))
    assert scenario_result(sc, j, "local")["detail"] == (
        "accepted 214/300 (model 213), 429: 86, fitted burst 199.4 (burst 200)"
    )


def test_rate_detail_compares_the_fitted_rate_with_the_limit() -> None:
    sc = scenario("over-rate", "GET /q", fit_rate=("GET /q",))
    j = judged(group("GET /q", 700, 459, 241, fitted_rate=99.981, fitted_burst=199.6))
    assert scenario_result(sc, j, "local")["detail"] == (
        "accepted 459/700 (model 459), 429: 241, fitted rate 99.98/s (limit 100/s)"
    )
    unfitted = judged(group("GET /q", 700, 459, 241))
    assert "fitted rate -/s (limit 100/s)" in scenario_result(sc, unfitted, "local")["detail"]


def test_under_rate_detail_says_no_429_allowed_and_the_offered_rate() -> None:
    sc = scenario("under-rate", "GET /a", no_throttle=("GET /a",), start=0.0, end=2.5)
    j = judged(group("GET /a", 201, 201))
    assert scenario_result(sc, j, "local")["detail"] == (
        "accepted 201/201 (model 201), 429: 0 (none allowed), offered 80/s (limit 100/s)"
    )


def test_quota_detail_names_the_quota_the_body_and_the_other_key() -> None:
    sc = scenario(
        "quota", "key quota-a", api="partner", quota_exact=("key quota-a",), no_throttle=("key quota-b",),
        configured={"rate": 200.0, "burst": 100, "quota": 50},
    )  # fmt: skip
    ok = judged(group("key quota-a", 60, 50, quota=10), group("key quota-b", 10, 10))
    assert scenario_result(sc, ok, "local")["detail"] == (
        "accepted 50 (quota 50), Limit Exceeded: 10, key quota-b: 10/10 ok"
    )
    bad = judged(group("key quota-a", 60, 55, throttled=5), group("key quota-b", 10, 7, throttled=3), late=7)
    assert scenario_result(sc, bad, "local")["detail"] == (
        "accepted 55 (quota 50), Limit Exceeded: 0, Too Many Requests: 5, "
        "key quota-b: 7/10 429: 3 (none allowed), late or dropped 10.0%"
    )


def test_a_scenario_with_no_groups_still_has_a_detail() -> None:
    sc = scenario("per-route", "POST /calls", skipped="needs 9000 rps")
    assert scenario_result(sc, judged(), "local")["detail"] == "offered 0, sent 0, nothing judged"


def test_locust_files_are_relative_inside_the_results_folder_and_absolute_outside(tmp_path: Path) -> None:
    folder = tmp_path / "out" / "local" / "load"
    files = locust_files(str(folder / "locust"), str(tmp_path / "elsewhere" / "l.html"), str(folder))
    assert files == {
        "stats_csv": "locust_stats.csv",
        "failures_csv": "locust_failures.csv",
        "exceptions_csv": "locust_exceptions.csv",
        "history_csv": "locust_stats_history.csv",
        "html": str(tmp_path / "elsewhere" / "l.html"),
    }
    assert locust_files(None, None, str(folder)) == {}
    sc, j = scenario("burst", "g"), judged(group("g", 1, 1))
    assert scenario_result(sc, j, "local", files)["locust"]["html"].endswith("l.html")


def test_progress_marks_follow_the_timeline_and_skip_unplanned_scenarios() -> None:
    scenarios = (
        scenario("over-rate", "g", start=5.0, end=7.5),
        scenario("burst", "g", start=0.5, end=0.7),
        scenario("per-route", "g", skipped="too fast"),
        scenario("quota", "g", not_applicable="no usage plan with a quota"),
    )
    marks = progress_marks(scenarios)
    assert [(at, r["state"], r["scenario"], r["index"], r["total"]) for at, r in marks] == [
        (0.5, "running", "portal.burst", 1, 2),
        (0.7, "sent", "portal.burst", 1, 2),
        (5.0, "running", "portal.over-rate", 2, 2),
        (7.5, "sent", "portal.over-rate", 2, 2),
    ]


def test_progress_file_is_replaced_whole_and_nowhere_without_a_path(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "progress.json"
    write_progress(str(path), progress_record("running", "portal.burst", 1, 10))
    write_progress(str(path), progress_record("done", total=10))
    assert json.loads(path.read_text()) == {"state": "done", "scenario": "", "index": 0, "total": 10}
    assert os.listdir(path.parent) == ["progress.json"]  # no temporary file left behind
    before = set(os.listdir(tmp_path))
    write_progress("", progress_record("done"))
    assert set(os.listdir(tmp_path)) == before


def test_not_applicable_scenarios_neither_pass_nor_fail_the_exit_code() -> None:
    assert exit_code(["pass", "not_applicable", "pass"]) == 0
    assert exit_code(["pass", "not_applicable", "inconclusive"]) == 3
    assert exit_code(["not_applicable", "fail"]) == 1
    assert exit_code(["not_applicable", "not_applicable"]) == 3  # nothing judged: no pass claimed
    assert exit_code([]) == 3


def test_not_applicable_record_says_why_and_carries_no_power() -> None:
    why = "key isolation needs a second test key in plan throttle-test-plan"
    sc = scenario("key-isolation", "", api="partner", not_applicable=why)
    j = judge(sc, [], {}, Tolerance(), True, 0.0)
    record = scenario_result(sc, j, "staging")
    assert (record["verdict"], record["reasons"], record["power"]) == ("not_applicable", [why], None)
    assert record["detail"] == f"not applicable: {why}"
    assert verdict_line(record).startswith("N/A") and why in verdict_line(record)


def test_result_record_reports_the_power_margin() -> None:
    power = Power("key quota-a", 98, 50, 98, 20.0, default_requests=60)
    sc = scenario("quota", "key quota-a", api="partner", power=power)
    record = scenario_result(sc, judged(group("key quota-a", 98, 50, quota=48)), "staging")
    assert record["power"] == {
        "group": "key quota-a",
        "requests": 98,
        "default_requests": 60,
        "enlarged": True,
        "model_accepted": 50,
        "unenforced_accepted": 98,
        "tolerance": 20.0,
        "separation": 48,
        "margin": 28.0,
        "required_margin": 20.0,
    }
    assert "power margin 28 (needs 20)" in verdict_line(record)
    json.dumps(record)  # the record stays plain JSON


def test_the_verdict_line_says_which_comparison_failed_with_its_numbers() -> None:
    """A FAIL line names the failed comparison (issue 12: "429 0+243 quota" alone said nothing)."""
    sc = scenario("over-rate", "GET /kiosk/queue")
    check = {"group": "GET /kiosk/queue", "comparison": "429 body", "observed": "243 'Limit Exceeded'",
             "expected": "'Too Many Requests'", "count": 243}  # fmt: skip
    j = replace(judged(group("GET /kiosk/queue", 700, 457, quota=243), status="fail"), checks=(check,))
    record = scenario_result(sc, j, "staging")
    assert record["checks"] == [check] and record["chart"] == {}
    line = verdict_line(record).splitlines()[0]
    assert line.startswith("FAIL") and "failed: 429 body (GET /kiosk/queue): 243 'Limit Exceeded'" in line
    assert "vs 'Too Many Requests'" in line
    json.dumps(record)
