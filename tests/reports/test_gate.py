"""The gate policy (reports/gate.py): each blocking rule, with a passing control beside it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reports.gate import (
    POLICY,
    ConformanceResult,
    Counts,
    GateInputs,
    LoadResult,
    Part,
    Rule,
    ScenarioResult,
    TestIssue,
    evaluate,
)

RAN = Part("ran")


def conformance(passed: int = 5, **kw: object) -> ConformanceResult:
    counts = Counts(passed=passed, **{k: v for k, v in kw.items() if k in Counts.__dataclass_fields__})  # type: ignore[arg-type]
    return ConformanceResult(
        counts,
        {"auth": counts},
        tuple(kw.get("failures", ())),  # type: ignore[arg-type]
        tuple(kw.get("xpasses", ())),  # type: ignore[arg-type]
        0,
    )


def load(*verdicts: str) -> LoadResult:
    return LoadResult(
        tuple(ScenarioResult("portal", f"s{i}", v, (f"why {i}",)) for i, v in enumerate(verdicts))
    )


def good() -> GateInputs:
    return GateInputs(RAN, RAN, conformance(), load("pass", "pass"))


def rules(inputs: GateInputs) -> list[str]:
    return [r.rule for r in evaluate(inputs).reasons]


def test_all_parts_clean_is_a_pass_with_exit_0() -> None:
    decision = evaluate(good())
    assert (decision.verdict, decision.exit_code, decision.reasons) == ("pass", 0, ())


def test_unexpected_conformance_failure_fails_and_names_the_test() -> None:
    issue = TestIssue("test_cors::test_preflight[portal GET /health]", "cors", "expected 204, got 401")
    inputs = replace(good(), conformance=conformance(failed=1, failures=(issue,)))
    decision = evaluate(inputs)
    assert (decision.verdict, decision.exit_code) == ("fail", 1)
    assert decision.reasons[0].rule == "conformance.unexpected_failure"
    assert "test_preflight[portal GET /health]" in decision.reasons[0].message


def test_xpass_of_a_known_deviation_fails() -> None:
    issue = TestIssue("test_auth::test_x", "auth", "known deviation 42")
    assert rules(replace(good(), conformance=conformance(xpassed=1, xpasses=(issue,)))) == [
        "conformance.xpass"
    ]


def test_xfail_of_a_known_deviation_does_not_block() -> None:
    assert evaluate(replace(good(), conformance=conformance(xfailed=2))).verdict == "pass"


def test_load_fail_fails_and_inconclusive_is_inconclusive() -> None:
    assert evaluate(replace(good(), load=load("pass", "fail"))).verdict == "fail"
    decision = evaluate(replace(good(), load=load("pass", "inconclusive")))
    assert (decision.verdict, decision.exit_code) == ("inconclusive", 3)
    assert [r.rule for r in decision.reasons] == ["load.inconclusive"]


def test_unknown_load_verdict_counts_as_inconclusive_never_pass() -> None:
    assert evaluate(replace(good(), load=load("weird"))).verdict == "inconclusive"


def test_fail_outranks_inconclusive() -> None:
    decision = evaluate(replace(good(), load=load("fail", "inconclusive")))
    assert decision.verdict == "fail"
    assert {r.rule for r in decision.reasons} == {"load.fail", "load.inconclusive"}


def test_zero_tests_run_is_not_a_pass() -> None:
    decision = evaluate(replace(good(), conformance=conformance(passed=0, skipped=7)))
    assert decision.verdict == "inconclusive"
    assert [r.rule for r in decision.reasons] == ["run.zero_tests"]


def test_zero_load_scenarios_is_not_a_pass() -> None:
    assert rules(replace(good(), load=LoadResult(()))) == ["run.zero_tests"]


def test_missing_part_is_inconclusive() -> None:
    assert rules(replace(good(), load=None)) == ["part.missing"]
    assert rules(replace(good(), load_part=Part("missing", "locust exit 2"), load=None)) == ["part.missing"]
    assert rules(replace(good(), conformance=None)) == ["part.missing"]


def test_load_skipped_by_policy_is_a_note_not_a_block() -> None:
    decision = evaluate(
        replace(good(), load_part=Part("skipped_by_policy", "load_allowed = false"), load=None)
    )
    assert decision.verdict == "pass"
    assert decision.notes == ("load skipped (by policy): load_allowed = false",)


def test_nothing_run_at_all_is_not_a_pass() -> None:
    skipped = Part("skipped_by_request", "flag")
    decision = evaluate(GateInputs(skipped, skipped))
    assert decision.verdict == "inconclusive"


@pytest.mark.parametrize("code", [2, 3, 4])
def test_abnormal_pytest_exit_is_inconclusive(code: int) -> None:
    inputs = replace(good(), conformance=replace(conformance(), exit_code=code))
    assert rules(inputs) == ["part.aborted"]


def test_unreachable_stage_gives_one_reason() -> None:
    inputs = GateInputs(Part("missing", "not run"), Part("missing", "not run"), unreachable="portal: refused")
    decision = evaluate(inputs)
    assert decision.verdict == "inconclusive"
    assert [r.rule for r in decision.reasons] == ["stage.unreachable"]


def test_policy_is_data_every_rule_has_a_known_outcome_and_unique_id() -> None:
    ids = [r.id for r in POLICY]
    assert len(ids) == len(set(ids))
    assert {r.outcome for r in POLICY} <= {"fail", "inconclusive"}


def test_a_custom_policy_is_applied_as_given() -> None:
    lenient = tuple(replace(r, outcome="inconclusive") if r.id == "load.fail" else r for r in POLICY)
    assert evaluate(replace(good(), load=load("fail")), lenient).verdict == "inconclusive"
    never = (Rule("always", "fail", "blocks everything", lambda g: ("no",)),)
    assert evaluate(good(), never).verdict == "fail"
