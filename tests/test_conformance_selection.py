"""What a stage selects: rules without a case leave the run, read-only stages get no writing request,
`-m smoke` is a read-only subset, and every bypass rule stands per protected route behind its control.
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.catalog.records import WRITING_METHODS
from tests.conformance_runs import (
    ROOT,
    Collection,
    collect_suite,
    local_stage_copy,
    remote_stage_text,
    run_suite,
    skips_are_only_undocumented_cors,
    stage_copy,
)

PORTAL_ONLY = ROOT / "tests" / "data" / "stages" / "conformance_portal_only.toml"
WRITING_IN_ID = re.compile(r"\b(" + "|".join(sorted(WRITING_METHODS)) + r")\b")
BYPASS_RULES = tuple(
    f"test_protected_route_not_reachable_via_{variant}"
    for variant in ("trailing_slash", "double_slash", "case_change", "encoded_slash", "dot_segment")
)
FAMILIES = ("auth", "api_keys", "validation", "cors", "shape", "routing")
CONTROL_RULES = (
    "test_protected_route_accepts_valid_token",
    "test_lambda_route_accepts_allowed_identity",
    "test_key_route_accepts_valid_api_key",
    "test_success_body_matches_response_schema",
)


def _rule(node_id: str) -> str:
    return node_id.split("::", 1)[1].split("[", 1)[0]


def _case(node_id: str) -> str:
    return node_id.partition("[")[2].removesuffix("]")


def _family(node_id: str) -> str:
    return node_id.split("::", 1)[0].rsplit("/", 1)[-1].removeprefix("test_").removesuffix(".py")


def _writes(node_id: str) -> bool:
    """The case names a writing method (a preflight only announces its method: it sends OPTIONS)."""
    return "preflight" not in _rule(node_id) and WRITING_IN_ID.search(_case(node_id)) is not None


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def prod() -> Iterator[tuple[Path, dict[str, str]]]:
    """stages/prod.example.toml with dummy secrets and base URLs on a closed 127.0.0.1 port."""
    text = (ROOT / "stages" / "prod.example.toml").read_text()
    env = {name: f"dummy-{name.lower()}" for name in re.findall(r'_env = "([A-Z0-9_]+)"', text)}
    text = re.sub(r'base_url = "https://[^/"]+', f'base_url = "http://127.0.0.1:{_dead_port()}', text)
    with tempfile.TemporaryDirectory(prefix="stagegate-prod-") as tmp:
        path = Path(tmp) / "prod.toml"
        path.write_text(text)
        yield path, env


@pytest.fixture(scope="module")
def prod_all(prod: tuple[Path, dict[str, str]]) -> Collection:
    path, env = prod
    return collect_suite("--stage", str(path), env=env)


@pytest.fixture(scope="module")
def prod_smoke(prod: tuple[Path, dict[str, str]]) -> Collection:
    path, env = prod
    return collect_suite("--stage", str(path), "-m", "smoke", env=env)


def test_prod_collects_without_reaching_the_stage(prod_all: Collection) -> None:
    assert prod_all.returncode == 0, prod_all.output[-2000:]
    assert len(prod_all.ids) > 100 and "unreachable" not in prod_all.output


def test_prod_selects_no_writing_request(prod_all: Collection, prod_smoke: Collection) -> None:
    for collection in (prod_all, prod_smoke):
        writing = [i for i in collection.ids if _writes(i)]
        assert not writing, writing[:5]
    assert "test_invalid_body_is_rejected" not in {_rule(i) for i in prod_all.ids}  # sends writes


def test_prod_has_no_test_marked_writes(prod: tuple[Path, dict[str, str]]) -> None:
    path, env = prod
    marked = collect_suite("--stage", str(path), "-m", "writes", env=env)
    assert marked.ids == () and marked.returncode == 5, marked.output[-2000:]  # 5: nothing selected


def test_prod_names_the_rules_it_has_no_case_for(prod_all: Collection) -> None:
    line = next(ln for ln in prod_all.output.splitlines() if ln.startswith("stagegate: "))
    for rule in ("test_integration_failure_answers_5xx", "test_invalid_body_is_rejected"):
        assert rule in line
    assert "empty parameter set" not in prod_all.output
    assert not any(i.endswith("[no-case]") for i in prod_all.ids)


def test_prod_smoke_is_a_small_read_only_subset_with_controls_in_every_family(
    prod_all: Collection, prod_smoke: Collection
) -> None:
    assert prod_smoke.returncode == 0, prod_smoke.output[-2000:]
    assert set(prod_smoke.ids) < set(prod_all.ids)
    assert 20 <= len(prod_smoke.ids) <= len(prod_all.ids) // 2
    assert {_family(i) for i in prod_smoke.ids} == set(FAMILIES)
    rules = {_rule(i) for i in prod_smoke.ids}
    assert set(CONTROL_RULES) <= rules
    assert any("reject" in r or "not_reachable" in r for r in rules)


def test_smoke_never_selects_a_writing_test_on_a_writable_stage() -> None:
    both = collect_suite("-m", "smoke and writes")
    assert both.ids == () and both.returncode == 5, both.output[-2000:]
    smoke = collect_suite("-m", "smoke")
    assert smoke.ids and not [i for i in smoke.ids if _writes(i)]


def test_the_embedded_stage_has_a_case_for_every_rule() -> None:
    local = collect_suite()
    assert local.returncode == 0
    assert "no case on this stage" not in local.output and "deselected" not in local.output


def test_each_bypass_variant_is_its_own_rule_per_protected_route() -> None:
    ids = collect_suite("-m", "routing").ids
    protected = {_case(i) for i in ids if _rule(i) == BYPASS_RULES[0]}
    assert "portal GET /appointments" in protected and "partner GET /reports" in protected
    for rule in BYPASS_RULES:
        assert {_case(i) for i in ids if _rule(i) == rule} == protected, rule
    head = {_case(i) for i in ids if _rule(i) == "test_protected_route_not_reachable_via_head"}
    assert head == {c for c in protected if " GET " in c}
    override = [_case(i) for i in ids if _rule(i) == "test_protected_route_not_reachable_via_method_override"]
    assert "portal POST /appointments from GET" in override


@pytest.mark.slow
def test_a_stage_with_only_an_http_api_runs_without_skips(tmp_path: Path) -> None:
    stage = stage_copy(PORTAL_ONLY, tmp_path)
    run = run_suite("--stage", str(stage), "-rs")
    assert run.returncode == 0, run.output[-3000:]
    assert run.passed > 100 and run.skipped == 0 and not run.failed
    assert "empty parameter set" not in run.output
    line = next(ln for ln in run.output.splitlines() if ln.startswith("stagegate: "))
    assert line.startswith("stagegate: 9 rules have no case on this stage: ")
    for rule in (
        "test_key_route_rejects_missing_api_key",
        "test_integration_failure_answers_5xx",
        "test_integration_failure_answer_carries_cors_headers",  # no probe, no 5xx to check
        "test_missing_required_parameter_is_rejected",
    ):
        assert rule in line
    assert "9 deselected" in run.output


@pytest.mark.slow
def test_a_bypass_rule_fails_when_its_positive_control_fails(tmp_path: Path) -> None:
    """With a Lambda token the authorizer denies, every bypass check on that route fails, not passes."""
    stage = local_stage_copy(
        tmp_path, {'lambda_token = "kiosk-allow-clinic-42"': 'lambda_token = "kiosk-deny"'}
    )
    run = run_suite("--stage", str(stage), "-m", "routing", "-k", "kiosk")
    assert run.returncode == 1
    kiosk = {t.split("[", 1)[0] for t in run.failed if "portal GET /kiosk/queue" in t}
    assert set(BYPASS_RULES) | {"test_protected_route_not_reachable_via_head"} <= kiosk
    assert "positive control" in run.output


@pytest.mark.slow
def test_a_read_only_stage_is_sent_no_writing_request(tmp_path: Path) -> None:
    """The whole suite against a read-only copy of the embedded stage: the access log shows no write."""
    from fixtures.emulator.serve.runner import start_emulator

    embedded = local_stage_copy(tmp_path)
    log = tmp_path / "emulator.log"
    with start_emulator(str(embedded), port=0, log_path=str(log), fresh_keys=True) as running:
        env: dict[str, str] = {}
        text = remote_stage_text(embedded, running.port, env)
        path = tmp_path / "read-only.toml"
        path.write_text(text.replace("read_only = false", "read_only = true"))
        run = run_suite("--stage", str(path), "-rs", env=env)
    assert run.returncode == 0, run.output[-3000:]
    assert run.passed > 100 and (run.skipped == 0 or skips_are_only_undocumented_cors(run))
    methods = [json.loads(ln)["httpMethod"] for ln in log.read_text().splitlines() if ln.startswith("{")]
    assert len(methods) > run.passed  # every test sent at least one request
    assert set(methods) <= {"GET", "HEAD", "OPTIONS"}, sorted(set(methods))


@pytest.mark.slow
def test_api_level_rejections_fail_when_every_request_is_refused(tmp_path: Path) -> None:
    """A base URL with the wrong stage name answers 404 to everything: the API-level rejection rules
    (unknown path, gateway envelope and CORS on errors, attacker origins) fail on their controls."""
    from fixtures.emulator.serve.runner import start_emulator

    embedded = local_stage_copy(tmp_path)
    with start_emulator(str(embedded), port=0, fresh_keys=True) as running:
        env: dict[str, str] = {}
        text = remote_stage_text(embedded, running.port, env)
        wrong = text.replace(f"{running.port}/portal", f"{running.port}/stagegate-no-such-stage")
        assert wrong != text
        path = tmp_path / "wrong-stage.toml"
        path.write_text(wrong)
        rules = "unknown_path or gateway_error_carries or unlisted_method or attacker_origin"
        run = run_suite("--stage", str(path), "-k", rules, env=env)
    assert run.returncode == 1, run.output[-3000:]
    portal = {t.split("[", 1)[0] for t in run.failed if "[portal" in t}
    assert portal == {
        "test_unknown_path_is_rejected",
        "test_unknown_path_error_has_gateway_envelope",
        "test_gateway_error_carries_cors_headers",
        "test_preflight_does_not_allow_unlisted_method_or_header",
        "test_preflight_from_attacker_origin_gets_no_allow_origin",
        "test_actual_request_from_attacker_origin_gets_no_allow_origin",
    }
    assert not any("[partner" in t for t in run.failed)  # control: the other API still passes
    assert "positive control" in run.output and "control: 2xx" in run.output
