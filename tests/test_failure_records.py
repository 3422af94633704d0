"""The failure record the conformance plugin keeps for each failed test: a rule's own record, else the
exception's type and first line (from the exception object, not from text), else the deviation that
passed; the JSON form the reports read back; and one real run of the suite on the embedded stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.harness.client import Exchange
from conformance.harness.diagnosis import RuleFailure
from conformance.harness.expect import Check
from conformance.plugin import LOADED, REDACT, Loaded, failure_record, redacted, redaction
from fixtures.behaviour import Kind
from fixtures.failure_record import FailureRecord, first_line, from_json
from fixtures.redact import REDACTED, Redactor
from fixtures.stage import load_stage
from fixtures.stage.routes import load_contracts
from reports.read import conformance as read
from reports.read.conformance import family_of, read_conformance
from tests.conformance_runs import ROOT, local_stage_copy
from tests.fakes import ApiFlavour, NoRedaction

RULE = "test_gateway_error_carries_cors_headers[portal]"
RECORD = FailureRecord(RULE, "cors", "answer", received="404 [] body=''", expected="x", cause="cors.config")


def _raised(make: Callable[[str], BaseException] | None = None) -> BaseException:
    """An exception as pytest sees it: raised, with its traceback and context."""
    try:
        if make is None:
            raise RuleFailure(RECORD)
        raise make("first line\nsecond line")
    except BaseException as exc:  # every kind is the point
        return exc


def test_a_rule_failure_is_recorded_as_the_rule_made_it() -> None:
    assert failure_record(RULE, "cors", "call", _raised()) == RECORD


def test_a_rule_failure_re_raised_with_more_words_keeps_its_record() -> None:
    # A plain pytest.fail raised while a rule's failure is handled: the plugin walks back to the record
    try:
        try:
            raise RuleFailure(RECORD)
        except pytest.fail.Exception as exc:
            pytest.fail(f"{exc.msg}\nreproduce: curl ...", pytrace=False)
    except pytest.fail.Exception as outer:
        assert not isinstance(outer, RuleFailure)  # positive control: the outer one is plain
        assert failure_record(RULE, "cors", "call", outer) == RECORD


def test_a_gateway_rejection_keeps_the_refused_input_and_its_curl_line_in_the_record() -> None:
    """conformance/test_contract.py passes the input's label and curl line as the rejection's detail:
    the record (gate.json, summary.md) and pytest's output both show them."""
    check = Check(
        "test_generated_invalid_inputs_are_refused[partner POST /appointments]", "contract", NoRedaction()
    )
    detail = " (reason above maxLength); reproduce: curl -sS -i -X POST 'http://127.0.0.1:1/a'"
    api: Any = ApiFlavour("rest", True)
    good = Exchange(
        "POST", "http://127.0.0.1:1/a", (), b"", 400, (), b'{"message": "Invalid request body"}', 1.0
    )
    check.rejected(api, good, Kind.BAD_REQUEST_BODY, detail=detail)  # positive control: the exact answer
    bad = replace(good, body=b'{"message": "nope"}')
    with pytest.raises(RuleFailure) as failed:
        check.rejected(api, bad, Kind.BAD_REQUEST_BODY, detail=detail)
    found = failure_record(check.rule, "contract", "call", failed.value)
    assert found.kind == "answer" and found.expected.endswith(detail)
    assert "(compared as JSON)" in found.expected  # the rule's own words stay before the detail
    assert f"expected: {found.expected}" in str(failed.value) and "reproduce: curl -sS" in str(failed.value)


def test_any_other_exception_is_an_error_with_its_type_and_first_line() -> None:
    found = failure_record(RULE, "cors", "setup", _raised(RuntimeError))
    assert (found.kind, found.exception, found.message, found.phase) == (
        "error",
        "RuntimeError",
        "first line",
        "setup",
    )
    assert found.line() == "RuntimeError: first line (in setup)"
    plain = failure_record(RULE, "cors", "call", _raised(AssertionError))
    assert plain.line() == "AssertionError: first line" and plain.family == "cors"


def test_a_plain_pytest_fail_is_an_error_without_the_outcome_class_name() -> None:
    try:
        pytest.fail("[shape] the contract's integration has httpMethod GET\nmore", pytrace=False)
    except pytest.fail.Exception as exc:
        found = failure_record(RULE, "shape", "call", exc)
    assert found.kind == "error" and found.line() == "[shape] the contract's integration has httpMethod GET"


def test_a_failed_phase_without_exception_is_the_known_deviation_that_passed() -> None:
    found = failure_record(RULE, "cors", "call", None, "known deviation: ticket 12")
    assert (found.kind, found.line()) == ("xpass", "known deviation: ticket 12")


def test_a_record_made_before_the_suite_exists_is_redacted_with_the_stage_and_identity_headers() -> None:
    """No suite fixture yet (a setup failing first): the stage's secrets and the headers the contracts'
    authorizers read credentials from, as the suite's redactor would; then the suite's own."""
    stage = load_stage("local")
    contracts = load_contracts(stage)
    portal = contracts["portal"]
    name = portal.route("GET /kiosk/queue").authorizer
    assert name is not None
    kiosk = replace(portal.authorizers[name], identity_sources=("$request.header.X-Tenant",))
    contracts["portal"] = replace(portal, authorizers={**portal.authorizers, name: kiosk})
    config: Any = SimpleNamespace(stash=pytest.Stash())
    config.stash[LOADED] = Loaded(stage, contracts, (), {})
    key = stage.api("partner").credentials.api_key
    assert key is not None
    said = f"setup broke with {key.value}, x-tenant: t3nant-credential"
    record = failure_record(RULE, "cors", "setup", _raised(lambda text: RuntimeError(said)))
    assert record.message == said  # control: the plain record still holds both
    assert "t3nant-credential" in Redactor.for_stage(stage).text(said)  # control: the header matters
    clean = redacted(record, redaction(config))
    assert clean.message == f"setup broke with {REDACTED}, x-tenant: {REDACTED}"
    assert key.value not in clean.to_json() and "t3nant-credential" not in clean.to_json()
    config.stash[REDACT] = lambda text: "suite's"
    assert redaction(config)("anything") == "suite's"  # once the suite exists, its redactor


def test_the_record_reads_back_from_its_json_and_nothing_else_does() -> None:
    full = FailureRecord(RULE, "cors", "status", headers=(("allow", "GET"),), status=404, expected_status=200)
    assert from_json(full.to_json()) == full
    assert json.loads(full.to_json())["headers"] == [["allow", "GET"]]
    for text in ("", "not json", "[]", '{"kind": "answer"}', '{"rule": "r", "family": "f", "kind": "odd"}'):
        assert from_json(text) is None, text


def test_first_line_skips_blank_lines_and_is_bounded() -> None:
    assert first_line("\n\n  boom  \nmore") == "boom"
    assert len(first_line("x" * 1000)) == 300 and first_line("") == ""


# A plugin for the real run below: a plain exception in one setup and one call, as a crash would be.
# The setup crash runs first, before the suite fixture (and its redactor) exists, and shows a secret
# of the stage file (the partner's API key).
CRASHES = """
import pytest

FIRST = "test_gateway_error_carries_cors_headers[partner]"
KEY = "local-partner-key-0001-abcdefghijklmnop"

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.name != FIRST)

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.name == FIRST:
        raise RuntimeError("setup broke Bearer abc.def.ghi with " + KEY + "\\nmore")

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if item.name.startswith("test_denied_identity_answer_carries_cors_headers[portal"):
        raise KeyError("no such thing")
    yield
"""


@pytest.mark.slow
def test_a_real_run_records_every_failure_error_and_passing_deviation(tmp_path: Path) -> None:
    """The embedded stage with a CORS fault, a crash in a setup and in a call, and a known deviation
    that passes: junit.xml holds a record for each, and the reports read them as fields."""
    stage = local_stage_copy(tmp_path)
    (tmp_path / "local.deviations.toml").write_text(
        '[deviations]\n"test_actual_response_carries_cors_headers[portal]" = "ticket 7 Bearer xyz.uvw.rst"\n'
    )
    (tmp_path / "stagegate_crashes.py").write_text(CRASHES)
    junit = tmp_path / "junit.xml"
    rules = "gateway_error_carries or denied_identity_answer_carries or actual_response_carries"
    command = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:randomly"]
    command += ["-p", "stagegate_crashes", "--stage", str(stage), "--fault", "cors.no_headers_on_error"]
    command += [f"--junitxml={junit}", "-k", rules]
    path = os.pathsep.join(filter(None, (str(tmp_path), os.environ.get("PYTHONPATH"))))
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": path}
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    records = {c.get("name"): read.failure_record(c) for c in cases}
    failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    assert len(failed) == 5 and all(records[name] is not None for name in failed)
    assert all(family_of(c) == "cors" for c in cases)
    rule = records["test_gateway_error_carries_cors_headers[portal]"]
    assert rule is not None and (rule.kind, rule.cause) == ("answer", "cors.config")
    crash = records["test_gateway_error_carries_cors_headers[partner]"]
    assert (
        crash is not None
        and crash.line() == f"RuntimeError: setup broke Bearer {REDACTED} with {REDACTED} (in setup)"
    )
    assert "abc.def.ghi" not in junit.read_text() and "xyz.uvw.rst" not in junit.read_text()
    assert "local-partner-key-0001" not in junit.read_text()
    assert cases[0].get("name") == "test_gateway_error_carries_cors_headers[partner]"  # before the suite
    result = read_conformance(junit, tmp_path / "no-allure", done.returncode)
    assert result is not None
    assert (result.counts.failed, result.counts.errors, result.counts.xpassed) == (3, 1, 1)
    messages = {i.message for i in result.failures}
    assert "KeyError: 'no such thing'" in messages
    assert any("received 404" in m and "likely cause: CORS configuration" in m for m in messages)
    # The passing deviation's record: its reason through the suite's redactor, like every record.
    assert [i.message for i in result.xpasses] == [f"known deviation: ticket 7 Bearer {REDACTED}"]
