"""Readers of the parts' result files: junit.xml + allure labels, and load/*.json."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports.gate import GateInputs, Part, evaluate
from reports.read.conformance import family_of, parse_junit, read_conformance
from reports.read.load import fallback_detail, read_load

DATA = Path(__file__).parent / "data"
# Written by a real pytest 9.2 + allure-pytest run; the junit properties added as the conformance
# plugin writes them (each test's family; a failure record for test_fail, test_xpass, test_error).
MIXED = DATA / "conformance_mixed"


def test_mixed_junit_counts_every_outcome() -> None:
    result = read_conformance(MIXED / "junit.xml", MIXED / "allure-results", 1)
    assert result is not None
    c = result.counts
    assert (c.passed, c.failed, c.errors, c.skipped, c.xfailed, c.xpassed) == (2, 1, 1, 1, 1, 1)
    assert [i.test_id for i in result.failures] == ["test_cors::test_fail", "test_cors::test_error"]
    assert [i.test_id for i in result.xpasses] == ["test_cors::test_xpass"]
    assert result.xpasses[0].message == "known deviation Y"
    fail, error = result.failures  # what went wrong, from each record
    assert fail.message == "AssertionError: boom Bearer abc.def.ghi"
    assert error.message == "RuntimeError: setup broke (in setup)"


def _testcase(*properties: tuple[str, str]) -> ET.Element:
    case = ET.Element("testcase", classname="conformance.test_cors", name="t")
    listed = ET.SubElement(case, "properties")
    for name, value in properties:
        ET.SubElement(listed, "property", name=name, value=value)
    return case


def test_family_comes_from_the_suites_property() -> None:
    result = read_conformance(MIXED / "junit.xml", MIXED / "allure-results")
    assert result is not None and set(result.families) == {"cors"}
    assert family_of(_testcase(("stagegate.family", "validation"))) == "validation"
    assert family_of(_testcase()) == "other"  # the module name is not read: the suite decides


def test_without_allure_results_families_come_from_the_suites_property(tmp_path: Path) -> None:
    result = read_conformance(MIXED / "junit.xml", tmp_path / "absent")
    assert result is not None and set(result.families) == {"cors"}  # stagegate.family


def test_the_allure_feature_label_is_not_read_for_the_family(tmp_path: Path) -> None:
    """One source: a feature label that disagrees with the junit property changes nothing."""
    shutil.copytree(MIXED / "allure-results", tmp_path / "allure-results")
    for path in (tmp_path / "allure-results").glob("*-result.json"):
        path.write_text(path.read_text(encoding="utf-8").replace('"value": "cors"', '"value": "auth"'))
    assert '"value": "auth"' in next((tmp_path / "allure-results").glob("*-result.json")).read_text()
    result = read_conformance(MIXED / "junit.xml", tmp_path / "allure-results")
    assert result is not None and set(result.families) == {"cors"}


def test_missing_junit_means_no_result_and_bad_xml_is_an_error(tmp_path: Path) -> None:
    assert read_conformance(tmp_path / "junit.xml", tmp_path) is None
    with pytest.raises(ValueError, match="not valid XML"):
        parse_junit("<testsuites><oops")


def test_a_real_run_that_selected_zero_tests_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def helper():\n    pass\n")
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            "--junitxml",
            str(junit),
            "-q",
        ],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 5  # pytest: no tests collected
    result = read_conformance(junit, tmp_path, done.returncode)
    assert result is not None and result.counts.executed == 0
    decision = evaluate(GateInputs(Part("ran"), Part("skipped_by_policy"), conformance=result))
    assert decision.verdict == "inconclusive"
    assert "run.zero_tests" in [r.rule for r in decision.reasons]


def test_load_summary_object_with_per_second_rows() -> None:
    result = read_load(DATA / "load_mixed", exit_code=1)
    assert result is not None
    assert [(s.key, s.verdict) for s in result.scenarios] == [
        ("portal.burst", "pass"),
        ("partner.quota", "fail"),
    ]
    burst = result.scenarios[0]
    assert burst.params["rate"] == 10 and burst.params["fitted_burst"] == 19
    assert burst.per_second[0].offered == 40 and burst.per_second[1].throttled == 30
    assert {Path(f).name for f in burst.files} == {"portal.burst_stats.csv", "portal.burst.html"}


def test_load_results_in_the_locustfile_schema(tmp_path: Path) -> None:
    record = {
        "schema": 1, "stage": "local", "api": "partner", "scenario": "plan-throttle",
        "id": "partner.plan-throttle",
        "verdict": "inconclusive", "reasons": ["driver fell short"], "offered": 100, "sent": 90,
        "duration_s": 10.0, "accepted": 60, "throttled": 30, "quota_rejected": 0,
        "configured": {"rate": 10, "burst": 5}, "fitted": {"rate": 9.8, "burst": 5.2},
        "series": {"offered": [10, 10], "accepted": [9, 6], "throttled": [1, 3], "quota_rejected": [0, 1],
                   "model_accepted": [10, 5]},
        "locust": {"csv": "partner.plan-throttle_stats.csv"},
    }  # fmt: skip
    (tmp_path / "partner.plan-throttle.json").write_text(json.dumps(record))
    (tmp_path / "partner.plan-throttle_stats.csv").write_text("Type,Name\n")
    (tmp_path / "summary.json").write_text(json.dumps([record]))
    result = read_load(tmp_path, exit_code=3)
    assert result is not None
    (s,) = result.scenarios
    assert (s.key, s.verdict, s.reasons) == ("partner.plan-throttle", "inconclusive", ("driver fell short",))
    assert s.params["rate"] == 10 and s.params["fitted_rate"] == 9.8
    assert s.params["offered_rate"] == 10.0 and s.params["achieved_rate"] == 9.0
    assert [(x.offered, x.accepted, x.throttled, x.model_accepted) for x in s.per_second] == [
        (10, 9, 1, 10),
        (10, 6, 4, 5),
    ]
    assert s.observations["sent"] == 90
    assert [Path(f).name for f in s.files] == ["partner.plan-throttle_stats.csv"]


def test_missing_or_broken_load_summary_means_no_result(tmp_path: Path) -> None:
    assert read_load(tmp_path) is None
    (tmp_path / "summary.json").write_text("{not json")
    assert read_load(tmp_path) is None


def test_scenario_files_are_found_without_a_list(tmp_path: Path) -> None:
    shutil.copy(DATA / "load_mixed" / "portal.burst.json", tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"verdict": "pass"}))
    result = read_load(tmp_path)
    assert result is not None and [s.key for s in result.scenarios] == ["portal.burst"]


def test_locust_files_recorded_by_the_locustfile_are_attached_except_the_history() -> None:
    result = read_load(DATA / "load_locust", exit_code=0)
    assert result is not None
    by_key = {s.key: s for s in result.scenarios}
    assert list(by_key) == ["portal.burst", "portal.under-rate", "partner.quota"]
    for s in result.scenarios:
        names = [Path(f).name for f in s.files]
        assert {"locust_stats.csv", "locust_failures.csv", "locust.html"} <= set(names)
        assert "locust_stats_history.csv" not in names and "locust_exceptions.csv" not in names
        assert all(Path(f).is_absolute() for f in s.files)
    assert "partner.quota.observations.csv" in [Path(f).name for f in by_key["partner.quota"].files]
    assert by_key["portal.under-rate"].detail.startswith("accepted 200/200 (model 200), 429: 0")


def test_fallback_detail_from_counts_and_fit() -> None:
    record = {"offered": 90, "accepted": 44, "expected_accepted": 45, "throttled": 40, "quota_rejected": 6,
              "fitted": {"rate": 10.0123, "burst": 19.87}}  # fmt: skip
    assert fallback_detail(record) == (
        "accepted 44/90 (model 45), 429: 46, fitted rate 10.01/s, fitted burst 19.87"
    )
    assert fallback_detail({"verdict": "inconclusive"}) == ""  # no counts: nothing invented


def test_a_narrowed_load_run_says_so_in_its_selection(tmp_path: Path) -> None:
    """load/run.json records the --scenario filters; the gate treats them as a narrower run."""
    from reports.read.load import read_load

    (tmp_path / "summary.json").write_text("[]")
    (tmp_path / "run.json").write_text(json.dumps({"selection": ["portal.burst"], "scenarios": []}))
    found = read_load(tmp_path)
    assert found is not None and found.selection == ("portal.burst",)
    (tmp_path / "run.json").write_text(json.dumps({"selection": [], "scenarios": []}))
    again = read_load(tmp_path)
    assert again is not None and again.selection == ()


def test_an_erroring_case_reads_as_its_exception_not_its_arguments() -> None:
    from xml.sax.saxutils import escape, quoteattr

    from fixtures.failure_record import FAILURE_PROPERTY, FailureRecord
    from reports.read.conformance import parse_junit

    text = (
        "suite = <conformance.session.Suite object at 0x7f00>\ncheck = <conformance.harness.expect.Check>\n\n"
        "    def test_x(suite, check):\n>       api.send(spec)\nE   UnicodeEncodeError: 'latin-1' codec"
        " can't encode character\n"
    )
    crash = FailureRecord(
        "test_x[portal]", "cors", "error", exception="UnicodeEncodeError", message="'latin-1' codec can't"
    )
    value = quoteattr(crash.to_json())
    record = f'<properties><property name="{FAILURE_PROPERTY}" value={value}/></properties>'

    def junit(properties: str) -> str:
        return (
            '<testsuites><testsuite><testcase classname="conformance.test_cors" name="test_x[portal]">'
            f"{properties}<error>{escape(text)}</error></testcase></testsuite></testsuites>"
        )

    _, _, failures, _ = parse_junit(junit(record))
    assert failures and failures[0].message == "UnicodeEncodeError: 'latin-1' codec can't"
    _, _, failures, _ = parse_junit(junit(""))  # no record: the text is never parsed
    assert failures[0].detail["kind"] == "error" and "Suite object" not in failures[0].message
    assert "UnicodeEncodeError" not in failures[0].message and "no failure record" in failures[0].message


def _junit_case(outcome: str) -> str:
    return (
        '<testsuites><testsuite><testcase classname="conformance.test_cors" name="test_x">'
        f"{outcome}</testcase></testsuite></testsuites>"
    )


def test_a_case_without_a_record_reads_as_pytests_own_message() -> None:
    collection = '<error message="collection failure&#10;second line">E   ImportError: no module</error>'
    _, _, failures, _ = parse_junit(_junit_case(collection))
    assert failures[0].message == "error: collection failure (the suite kept no failure record)"
    failed = '<failure message="AssertionError: boom">long text</failure>'
    _, _, failures, _ = parse_junit(_junit_case(failed))
    assert failures[0].message == "failed: AssertionError: boom (the suite kept no failure record)"


def test_control_a_case_without_a_record_or_a_message_says_only_that() -> None:
    _, _, failures, _ = parse_junit(_junit_case("<error>E   ImportError: no module</error>"))
    assert failures[0].message == "error (the suite kept no failure record)"
    _, _, failures, _ = parse_junit(_junit_case('<failure message="  ">text</failure>'))
    assert failures[0].message == "failed (the suite kept no failure record)"
