"""Building outputs from synthetic result files: gate.json, summary.md, Allure load results, no secrets."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports.build import build
from reports.gate import Part, SecondSample
from reports.read.previous import info_from_previous
from reports.run_info import ContractFile, RunInfo, contract_digest
from reports.write.charts import per_second_svg
from reports.write.summary import console_table, markdown

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLXBsYW50ZWQ"
API_KEY = "planted-api-key-7f3a9c21d4e8b6a0"
LAMBDA_TOKEN = "kiosk-allow-planted-secret-99"


def results_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out" / "local"
    shutil.copytree(DATA / "conformance_mixed", out)
    shutil.copytree(DATA / "load_mixed", out / "load")
    return out


def info(**kw: object) -> RunInfo:
    base: dict[str, object] = dict(
        stage="local",
        stage_file="stages/local.toml",
        embedded=True,
        conformance_part=Part("ran"),
        load_part=Part("ran"),
        conformance_exit=1,
        load_exit=1,
        started=time.time() - 5,
        seconds={"conformance": 2.0, "load": 3.0},
        secrets=(TOKEN, API_KEY, LAMBDA_TOKEN),
    )
    base.update(kw)
    return RunInfo(**base)  # type: ignore[arg-type]


def own_results(out: Path) -> list[dict]:
    found = [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]
    return [r for r in found if r["fullName"].startswith(("load.", "gate#"))]


def test_build_writes_gate_json_summary_and_one_allure_result_per_scenario(tmp_path: Path) -> None:
    out = results_dir(tmp_path)
    built = build(info(), out, render_html=False)
    gate = json.loads((out / "gate.json").read_text())
    assert gate["verdict"] == "fail" and gate["exit_code"] == 1
    assert {r["rule"] for r in gate["reasons"]} == {
        "conformance.unexpected_failure",
        "conformance.xpass",
        "coverage.not_exercised",  # test_skip: a skip is never a pass
        "load.fail",
    }
    assert gate["counts"]["conformance"]["families"]["cors"]["xpassed"] == 1
    assert gate["counts"]["load"]["scenarios"]["partner.quota"]["verdict"] == "fail"
    assert gate["timing"]["seconds"]["load"] == 3.0 and gate["report"]["html"] is None
    assert "not rendered" in gate["report"]["note"]
    summary = (out / "summary.md").read_text()
    assert "FAIL" in summary and "`load.fail`" in summary and "| partner.quota |" in summary
    results = {r["fullName"]: r for r in own_results(out)}
    assert set(results) == {"load.portal#burst", "load.partner#quota", "gate#verdict", "gate#coverage"}
    quota = results["load.partner#quota"]
    assert quota["status"] == "failed" and results["load.portal#burst"]["status"] == "passed"
    labels = {(lab["name"], lab["value"]) for lab in quota["labels"]}
    assert ("parentSuite", "load") in labels and ("suite", "partner") in labels
    params = {p["name"]: p["value"] for p in quota["parameters"]}
    assert params["quota"] == "50" and params["offered rate"] == "20" and params["fitted rate"] == "-"
    burst_files = {a["name"] for a in results["load.portal#burst"]["attachments"]}
    assert any("chart" in n for n in burst_files) and "Locust portal.burst_stats.csv" in burst_files
    for attachment in results["load.portal#burst"]["attachments"]:
        assert (out / "allure-results" / attachment["source"]).is_file()
    assert results["gate#verdict"]["name"] == "Gate verdict: FAIL"
    assert built.decision.verdict == "fail"


def test_rebuilding_does_not_duplicate_own_results(tmp_path: Path) -> None:
    out = results_dir(tmp_path)
    build(info(), out, render_html=False)
    first = len(list((out / "allure-results").iterdir()))
    build(info(), out, render_html=False)
    assert len(own_results(out)) == 4  # two scenarios, the verdict, the coverage page
    assert len(list((out / "allure-results").iterdir())) == first


def test_no_planted_secret_appears_in_any_file_under_out(tmp_path: Path) -> None:
    out = results_dir(tmp_path)
    junit = out / "junit.xml"
    junit.write_text(junit.read_text().replace("abc.def.ghi", TOKEN).replace("boom", f"key {API_KEY}"))
    csv = out / "load" / "portal.burst_stats.csv"
    csv.write_text(csv.read_text() + f"GET,/kiosk?token={LAMBDA_TOKEN},1,0\n")
    quota = json.loads((out / "load" / "partner.quota.json").read_text())
    quota["reasons"].append(f"key {API_KEY} got 200 after quota")
    (out / "load" / "partner.quota.json").write_text(json.dumps(quota))
    assert API_KEY in junit.read_text()  # control: the secret was planted
    build(info(), out, render_html=False)
    leaks = []
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            leaks += [f"{path.name}: {s[:8]}" for s in (TOKEN, API_KEY, LAMBDA_TOKEN) if s.encode() in body]
    assert leaks == []
    assert "<redacted>" in (out / "summary.md").read_text()  # redaction, not loss of the reason


def test_skipped_load_by_policy_passes_with_a_note(tmp_path: Path) -> None:
    out = tmp_path / "out" / "prod"
    out.mkdir(parents=True)
    junit = (DATA / "conformance_mixed" / "junit.xml").read_text()
    root = ET.fromstring(junit)
    for case in root.iter("testcase"):  # keep only the passing cases
        for child in list(case):
            case.remove(child)
    (out / "junit.xml").write_text(ET.tostring(root, encoding="unicode"))
    (out / "coverage.json").write_text('{"schema": 1, "cells": [], "items": []}')
    built = build(
        info(
            stage="prod",
            load_part=Part("skipped_by_policy", "load_allowed = false"),
            conformance_exit=0,  # every case passed: pytest exits 0 (exit 1 here would be inconclusive)
            load_exit=None,
        ),
        out,
        render_html=False,
    )
    assert built.decision.verdict == "pass", built.decision.reasons
    assert "load skipped (by policy)" in (out / "summary.md").read_text()
    assert "load" in built.gate["parts"] and built.gate["parts"]["load"]["state"] == "skipped_by_policy"


def test_contract_digest_changes_with_the_contract(tmp_path: Path) -> None:
    contract = tmp_path / "c.json"
    contract.write_text("{}")
    first = contract_digest([ContractFile("portal", "http", str(contract))], root=tmp_path)
    contract.write_text('{"paths": {}}')
    second = contract_digest([ContractFile("portal", "http", str(contract))], root=tmp_path)
    assert first["apis"][0]["sha256"] == "sha256:" + hashlib.sha256(b"{}").hexdigest()
    assert first["combined"] != second["combined"]


def test_contract_digest_records_each_api_with_flavor_and_repo_relative_path(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "portal.json").write_text("{}")
    (tmp_path / "c" / "partner.json").write_text("{ }")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    digest = contract_digest(
        [
            ContractFile("portal", "http", str(tmp_path / "c" / "portal.json")),
            ContractFile("partner", "rest", str(tmp_path / "c" / "partner.json")),
            ContractFile("gone", "rest", str(outside)),
        ],
        root=tmp_path,
    )
    rows = {a["name"]: a for a in digest["apis"]}
    assert rows["portal"]["flavor"] == "http" and rows["portal"]["contract"] == "c/portal.json"
    assert rows["partner"]["flavor"] == "rest" and rows["partner"]["sha256"] != rows["portal"]["sha256"]
    assert rows["gone"]["sha256"] == "unreadable" and rows["gone"]["contract"] == str(outside)


def locust_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out" / "local"
    shutil.copytree(DATA / "conformance_mixed", out)
    shutil.copytree(DATA / "load_locust", out / "load")
    return out


def test_locusts_whole_run_files_are_attached_once_and_no_file_serves_two_results(tmp_path: Path) -> None:
    """Allure 3 lists a file a second result refers to as "missed": each attachment is one result's."""
    out = locust_dir(tmp_path)
    build(info(load_exit=0), out, render_html=False)
    results = {r["fullName"]: r for r in own_results(out)}
    load = [r for name, r in results.items() if name.startswith("load.")]
    assert len(load) == 3
    for result in load:
        names = {a["name"] for a in result["attachments"]}
        assert not any("whole run" in n for n in names), names
    verdict = {a["name"]: a for a in results["gate#verdict"]["attachments"]}
    page = verdict["Locust HTML report (whole run)"]
    assert page["type"] == "text/html" and "Locust locust_stats.csv (whole run)" in verdict
    assert "Locust locust_stats_history.csv (whole run)" not in verdict
    assert "Locust Test Report" in (out / "allure-results" / page["source"]).read_text()
    sources = [a["source"] for r in results.values() for a in r.get("attachments", [])]
    assert len(sources) == len(set(sources))
    burst = {a["name"]: a for a in results["load.portal#burst"]["attachments"]}
    own = (out / "allure-results" / burst["Locust stats of portal.burst (CSV)"]["source"]).read_text()
    assert own.splitlines()[0].startswith("Type,Name,Request Count")
    assert [line.split(",")[1] for line in own.splitlines()[1:]] == ["portal.burst GET /health"]
    quota = {a["name"] for a in results["load.partner#quota"]["attachments"]}
    assert "observations: one row per planned request (CSV)" in quota
    assert "observations: one row per planned request (CSV)" not in burst  # no file for burst: none attached


def test_gate_json_and_summary_show_a_detail_for_every_scenario_and_each_contract(tmp_path: Path) -> None:
    out = locust_dir(tmp_path)
    contracts = [
        ContractFile("portal", "http", str(ROOT / "fixtures" / "clinic" / "portal.openapi.json")),
        ContractFile("partner", "rest", str(ROOT / "fixtures" / "clinic" / "partner.openapi.json")),
    ]
    built = build(info(load_exit=0, contract_digest=contract_digest(contracts)), out, render_html=False)
    scenarios = built.gate["counts"]["load"]["scenarios"]
    assert {k: s["verdict"] for k, s in scenarios.items()} == dict.fromkeys(
        ("portal.burst", "portal.under-rate", "partner.quota"), "pass"
    )
    assert scenarios["portal.burst"]["detail"].startswith(
        "accepted 214/300 (model 214), 429: 86, fitted burst"
    )
    assert scenarios["partner.quota"]["detail"] == (
        "accepted 50 (quota 50), Limit Exceeded: 10, key quota-b: 10/10 ok"
    )
    summary = (out / "summary.md").read_text()
    assert "| portal.under-rate | ✅ pass | accepted 200/200 (model 200), 429: 0 (none allowed)" in summary
    assert "| portal | http | `fixtures/clinic/portal.openapi.json` | `sha256:" in summary
    assert "| partner | rest | `fixtures/clinic/partner.openapi.json` | `sha256:" in summary
    table = console_table(built.gate)
    assert "load/partner.quota" in table and "Limit Exceeded: 10" in table


def test_locust_files_are_redacted_in_place_and_in_attachments(tmp_path: Path) -> None:
    out = locust_dir(tmp_path)
    page = out / "load" / "locust.html"
    page.write_text(page.read_text().replace("</body>", f"<p>x-api-key {API_KEY}</p></body>"))
    stats = out / "load" / "locust_stats.csv"
    stats.write_text(stats.read_text() + f"GET,portal.burst /kiosk?token={LAMBDA_TOKEN},1,0\n")
    assert API_KEY in page.read_text()  # control: the secret was planted
    build(info(load_exit=0), out, render_html=False)
    leaks = [
        f"{path.name}: {s[:8]}"
        for path in (tmp_path / "out").rglob("*")
        if path.is_file()
        for s in (TOKEN, API_KEY, LAMBDA_TOKEN)
        if s.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert "&lt;redacted&gt;" in page.read_text()  # escaped: still text in the page, not a tag


def test_a_record_without_detail_gets_one_from_its_counts(tmp_path: Path) -> None:
    out = locust_dir(tmp_path)
    record = json.loads((out / "load" / "portal.burst.json").read_text())
    del record["detail"]
    (out / "load" / "portal.burst.json").write_text(json.dumps(record))
    summary = json.loads((out / "load" / "summary.json").read_text())
    (out / "load" / "summary.json").write_text(json.dumps([{**r, "detail": ""} for r in summary]))
    built = build(info(load_exit=0), out, render_html=False)
    detail = built.gate["counts"]["load"]["scenarios"]["portal.burst"]["detail"]
    assert detail.startswith("accepted 214/300 (model 214), 429: 86")


def test_chart_is_valid_svg_with_four_series_and_escaped_title() -> None:
    samples = [SecondSample(t, 40, 10, 30, 10.0) for t in range(5)]
    svg = per_second_svg(samples, "portal <burst> & co")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    series = [g.get("data-series") for g in root.iter(f"{ns}g")]
    assert series == ["offered", "accepted", "429", "model (token bucket)"]
    assert "portal <burst> & co" in "".join(root.itertext())
    assert "no per-second data" in per_second_svg([], "x")


def test_console_table_and_markdown_list_each_reason_and_scenario(tmp_path: Path) -> None:
    out = results_dir(tmp_path)
    gate = build(info(), out, render_html=False).gate
    table = console_table(gate)
    assert "conformance/cors" in table and "load/partner.quota" in table and "fail" in table
    md = markdown(gate)
    for reason in gate["reasons"]:
        assert reason["rule"] in md


@pytest.mark.parametrize("verdict", ["pass", "inconclusive"])
def test_markdown_headline_states_the_verdict(verdict: str) -> None:
    gate = {"verdict": verdict, "stage": "staging", "exit_code": 0, "reasons": [], "counts": {}}
    assert f"stagegate: {verdict.upper()} on stage `staging`" in markdown(gate)


def test_a_rebuild_from_files_keeps_the_runs_timing_details_and_contracts(tmp_path: Path) -> None:
    out = locust_dir(tmp_path)
    contracts = contract_digest(
        [ContractFile("portal", "http", str(ROOT / "fixtures/clinic/portal.openapi.json"))]
    )
    first = build(info(load_exit=0, contract_digest=contracts), out, render_html=False).gate
    again = build(info_from_previous(first, (TOKEN, API_KEY, LAMBDA_TOKEN)), out, render_html=False).gate
    assert again["timing"] == first["timing"] and again["contract_digest"] == first["contract_digest"]
    assert again["counts"]["load"] == first["counts"]["load"] and len(own_results(out)) == 5


def test_a_rebuild_from_a_damaged_gate_json_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reports.build import main

    out = tmp_path / "out" / "local"
    out.mkdir(parents=True)
    (out / "gate.json").write_text('{"stage": "local", "timing": {"started": "not a time"')  # cut short
    assert main(["--stage", "local", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cannot be read back" in err and "Traceback" not in err
    (out / "gate.json").write_text('{"timing": {}}')  # valid JSON, no stage
    assert main(["--stage", "local", "--out", str(out)]) == 2
