"""The single-file HTML report: rendered by the pinned Allure 3, opened from disk in headless Chromium."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from reports.build import RunInfo, build
from reports.gate import Part
from reports.html import allure_bin, render, strip_analytics
from tests.reports.browser import chromium, dump_dom, result_fragment, screenshot

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
    monkeypatch.setattr("reports.html.shutil.which", lambda name: None)
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


@pytest.mark.slow
def test_single_file_report_renders_in_chromium_with_verdict_and_load_chart() -> None:
    if shutil.which("node") is None or not allure_bin(ROOT).exists():
        pytest.skip("Allure 3 not installed: run `make setup` (npm ci)")
    if chromium() is None:
        pytest.skip("chromium not installed: `apt-get install -y chromium` (test set-up)")
    out = KEEP / "local"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(DATA / "conformance_mixed", out)
    shutil.copytree(DATA / "load_mixed", out / "load")
    info = RunInfo(
        "local", "stages/local.toml", True, Part("ran"), Part("ran"), 1, 1, started=time.time() - 3
    )
    built = build(info, out, ROOT)
    assert built.html.path == out / "report.html", built.html.note
    page = built.html.path.read_text()
    assert "googletagmanager" not in page and "<script" in page
    assert not (out / "report.html").with_suffix("").is_dir()  # one file, no side directory
    gate_dom = dump_dom(built.html.path, result_fragment(out / "allure-results", "gate#verdict"))
    assert "Gate verdict: FAIL" in gate_dom and "load.fail" in gate_dom
    # The coverage matrix: a skipped rule reads "not exercised" with its reason, never "passed".
    assert "Coverage (rule x API)" in gate_dom and "not exercised: not applicable here" in gate_dom
    load_dom = dump_dom(built.html.path, result_fragment(out / "allure-results", "load.portal#burst"))
    # the description is an iframe srcdoc, so its markup arrives escaped in the DOM dump
    assert "per-second chart portal.burst" in load_dom and "data:image/svg+xml;base64," in load_dom
    shot = KEEP / "report-gate-verdict.png"
    screenshot(built.html.path, shot, result_fragment(out / "allure-results", "gate#verdict"))
    assert shot.is_file() and shot.stat().st_size > 10_000
