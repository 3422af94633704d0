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
    config_errors,
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


@pytest.mark.parametrize("code", [2, 3])
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


@pytest.mark.parametrize("code", [-9, -15, 6, 137])
def test_pytest_killed_or_odd_exit_with_a_clean_junit_is_inconclusive(code: int) -> None:
    inputs = replace(good(), conformance=replace(conformance(), exit_code=code))
    decision = evaluate(inputs)
    assert (decision.verdict, [r.rule for r in decision.reasons]) == ("inconclusive", ["part.aborted"])


def test_pytest_exit_1_needs_a_failure_in_junit() -> None:
    """exit 1 with a junit.xml that records no failure: the file does not hold the whole run."""
    assert rules(replace(good(), conformance=replace(conformance(), exit_code=1))) == ["part.aborted"]
    issue = TestIssue("test_auth::test_x", "auth", "expected 401")
    failed = replace(conformance(failed=1, failures=(issue,)), exit_code=1)
    assert rules(replace(good(), conformance=failed)) == ["conformance.unexpected_failure"]


def test_pytest_exit_5_no_tests_collected_is_inconclusive() -> None:
    inputs = replace(good(), conformance=replace(conformance(passed=0), exit_code=5))
    assert rules(inputs) == ["run.zero_tests"]


@pytest.mark.parametrize("code", [-9, 4, 120])
def test_locust_crash_or_kill_after_writing_results_is_inconclusive(code: int) -> None:
    inputs = replace(good(), load=replace(load("pass", "pass"), exit_code=code))
    assert rules(inputs) == ["part.aborted"]


def test_locust_exit_code_that_contradicts_passing_scenarios_is_inconclusive() -> None:
    for code in (1, 3):
        inputs = replace(good(), load=replace(load("pass"), exit_code=code))
        assert evaluate(inputs).verdict == "inconclusive", code
    assert evaluate(replace(good(), load=replace(load("pass"), exit_code=0))).verdict == "pass"
    assert rules(replace(good(), load=replace(load("fail"), exit_code=1))) == ["load.fail"]
    assert rules(replace(good(), load=replace(load("inconclusive"), exit_code=3))) == ["load.inconclusive"]


def test_a_part_configuration_error_exits_2_and_never_passes() -> None:
    """pytest 4 / locust 2 (a bad deviations file, contract...): exit 2, also without results."""
    for inputs in (
        replace(good(), load=replace(load("pass"), exit_code=2)),
        replace(good(), conformance=replace(conformance(), exit_code=4)),
        replace(good(), conformance=None, config_errors=config_errors(4, None)),
        replace(good(), load=None, config_errors=config_errors(None, 2)),
    ):
        decision = evaluate(inputs)
        assert decision.verdict == "inconclusive" and decision.exit_code == 2, decision.reasons
        assert "part.config_error" in [r.rule for r in decision.reasons]
    assert config_errors(1, 1) == () and evaluate(good()).exit_code == 0  # control


def test_a_failure_outranks_a_configuration_error() -> None:
    issue = TestIssue("test_auth::test_x", "auth", "expected 401")
    inputs = replace(good(), conformance=conformance(failed=1, failures=(issue,)), load=None,
                     config_errors=config_errors(None, 2))  # fmt: skip
    assert (evaluate(inputs).verdict, evaluate(inputs).exit_code) == ("fail", 1)


def test_one_configuration_error_gives_one_reason() -> None:
    inputs = replace(good(), load=replace(load("pass"), exit_code=2), config_errors=config_errors(0, 2))
    assert rules(inputs) == ["part.config_error"]


def test_an_unknown_overall_load_verdict_never_passes() -> None:
    inputs = replace(good(), load=replace(load("pass"), verdict="error"))
    assert rules(inputs) == ["load.inconclusive"]
    assert evaluate(replace(good(), load=replace(load("pass"), verdict="pass"))).verdict == "pass"


def test_an_unknown_part_state_counts_as_missing() -> None:
    """gate.json is read back by reports.build: a state the policy does not know never passes."""
    inputs = replace(good(), load_part=Part("done"))  # type: ignore[arg-type]
    assert rules(inputs) == ["part.missing"]


def test_aborted_parts_are_inconclusive_even_with_clean_results() -> None:
    inputs = replace(good(), conformance_part=Part("aborted", "stopped after 600 s"))
    assert rules(inputs) == ["part.aborted"]
    inputs = replace(good(), load_part=Part("aborted", "stopped after 900 s"))
    assert rules(inputs) == ["part.aborted"]


def test_no_combination_of_a_gap_and_clean_results_passes() -> None:
    """Each gap alone, beside a clean other part: never pass."""
    skipped = Part("skipped_by_policy", "load_allowed = false")
    gaps = [
        replace(good(), conformance=None),
        replace(good(), conformance_part=Part("missing"), conformance=None),
        replace(good(), conformance=conformance(passed=0)),
        replace(good(), conformance=conformance(passed=0, skipped=3), load_part=skipped, load=None),
        replace(good(), load=None),
        replace(good(), load=LoadResult(())),
        replace(good(), load=load("pass", "inconclusive")),
        replace(good(), unreachable="portal: refused"),
        GateInputs(Part("ran"), skipped, conformance(), None, unreachable="x"),
        replace(good(), conformance=replace(conformance(), exit_code=2)),
        replace(good(), conformance=replace(conformance(), exit_code=3)),
        replace(good(), conformance=replace(conformance(), exit_code=4)),
    ]
    assert [evaluate(g).verdict for g in gaps] == ["inconclusive"] * len(gaps)
    assert evaluate(replace(good(), load_part=skipped, load=None)).verdict == "pass"


# --- coverage and scope (soundness) ----------------------------------------------------------


def cell(state: str, rule: str = "test_protected_route_rejects_expired_token", part: str = "conformance"):  # noqa: ANN201
    from reports.gate import CoverageCell

    return CoverageCell(part, rule, "auth" if part == "conformance" else "load", "portal", state, "why")  # type: ignore[arg-type]


def test_a_rule_not_exercised_blocks_as_inconclusive_and_names_the_rule() -> None:
    decision = evaluate(replace(good(), coverage=(cell("passed", "test_a"), cell("not_exercised"))))
    assert (decision.verdict, decision.exit_code) == ("inconclusive", 3)
    assert [r.rule for r in decision.reasons] == ["coverage.not_exercised"]
    assert "test_protected_route_rejects_expired_token[portal] not exercised" in decision.reasons[0].message


def test_not_applicable_and_passed_cells_block_nothing() -> None:
    assert rules(replace(good(), coverage=(cell("passed"), cell("not_applicable", "test_b")))) == []


def test_a_waiver_turns_not_exercised_into_waived_but_never_waives_a_failure() -> None:
    from reports.gate import apply_waivers, stale_waivers

    waivers = {"test_protected_route_rejects_expired_token[portal]": "no test issuer", "test_gone": "old"}
    cells = apply_waivers((cell("not_exercised"), cell("failed", "test_gone")), waivers)
    assert [(c.state, c.waiver) for c in cells] == [("waived", "no test issuer"), ("failed", "")]
    assert rules(replace(good(), coverage=cells[:1])) == []
    assert stale_waivers(cells, waivers) == ("test_gone",)
    every_api = apply_waivers((cell("not_exercised"),), {"test_protected_route_rejects_expired_token": "r"})
    assert every_api[0].state == "waived"


def test_a_narrower_run_is_pass_partial_with_exit_3() -> None:
    from reports.gate import scope_gaps

    narrowed = scope_gaps("full", smoke=False, load_skipped_by_request=True, unselected=0)
    decision = evaluate(replace(good(), narrowed=narrowed))
    assert (decision.verdict, decision.headline, decision.exit_code) == ("inconclusive", "PASS (partial)", 3)
    assert scope_gaps("full", smoke=False, load_skipped_by_request=False, unselected=0) == ()
    assert scope_gaps("smoke", smoke=True, load_skipped_by_request=False, unselected=0) == ()
    assert len(scope_gaps("full", smoke=True, load_skipped_by_request=False, unselected=3)) == 2
    failing = evaluate(replace(good(), narrowed=narrowed, load=load("fail")))
    assert (failing.headline, failing.exit_code) == ("FAIL", 1)


def test_a_load_scenario_not_applicable_blocks_nothing_and_a_waived_inconclusive_one_neither() -> None:
    from reports.gate import apply_waivers

    assert rules(replace(good(), load=load("pass", "not_applicable"))) == []
    inconclusive = replace(good(), load=replace(load("pass", "inconclusive"), verdict="inconclusive"))
    assert rules(inconclusive) == ["load.inconclusive"]
    waived = apply_waivers((cell("not_exercised", "s1", part="load"),), {"portal.s1": "real keys only"})
    assert rules(replace(inconclusive, coverage=waived)) == []
    failed = apply_waivers((cell("failed", "s1", part="load"),), {"portal.s1": "nope"})
    assert rules(replace(good(), load=load("pass", "fail"), coverage=failed)) == ["load.fail"]


def test_a_drift_difference_fails_and_its_line_is_the_reason() -> None:
    """stagegate drift before load found the deployed stage differs: load was skipped, the gate fails."""
    line = "apis.partner.usage_plans.partner-plan.quota: file 10000, deployed 5000"
    skipped = Part("skipped_by_policy", "drift: 1 difference(s)")
    inputs = replace(good(), load_part=skipped, load=None, drift=(line,))
    decision = evaluate(inputs)
    assert (decision.verdict, decision.exit_code) == ("fail", 1)
    assert [(r.rule, r.message) for r in decision.reasons] == [("stage.drift", line)]


def test_a_drift_check_that_could_not_run_is_inconclusive() -> None:
    error = "get-api a1b2c3d4e5: access denied (AccessDeniedException); grant the read-only actions ..."
    inputs = replace(good(), load_part=Part("skipped_by_policy", "drift"), load=None, drift_error=error)
    decision = evaluate(inputs)
    assert (decision.verdict, decision.exit_code) == ("inconclusive", 3)
    assert rules(inputs) == ["stage.drift_unchecked"]


def test_locust_exit_3_is_explained_by_waived_or_not_applicable_scenarios() -> None:
    """Locust cannot know the waivers: its exit 3 for them (or for none passing) is not an abort."""
    from reports.gate import apply_waivers

    waived = apply_waivers((cell("not_exercised", "s1", part="load"),), {"portal.s1": "real keys only"})
    inconclusive = replace(
        good(), load=replace(load("pass", "inconclusive"), verdict="inconclusive", exit_code=3)
    )
    assert rules(replace(inconclusive, coverage=waived)) == []
    all_na = replace(good(), load=replace(load("not_applicable", "not_applicable"), exit_code=3))
    assert rules(all_na) == []
    # Control: exit 3 with every scenario passing and nothing waived is still unexplained.
    unexplained = replace(good(), load=replace(load("pass", "pass"), exit_code=3))
    assert rules(unexplained) == ["part.aborted"]


def test_load_not_allowed_or_narrowed_on_a_full_scope_stage_is_partial() -> None:
    from reports.gate import scope_gaps

    assert scope_gaps("full", False, False, 0, without_load=("partner",))
    assert scope_gaps("conformance", False, False, 0, without_load=("partner",)) == ()
    assert "narrowed to scenario 'portal.burst'" in scope_gaps("full", False, False, 0, (), "portal.burst")[0]


def test_isolated_load_env_drops_locust_options_and_home() -> None:
    from reports.run import isolated_load_env

    env = isolated_load_env({"LOCUST_SCENARIO": "portal.under-rate", "HOME": "/root", "KEEP": "1"}, "/tmp/x")
    assert env == {"HOME": "/tmp/x", "KEEP": "1"}
