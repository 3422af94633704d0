"""Headless Chromium (Debian `chromium`) for the render self-tests: DOM dump and screenshot of a file URL."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from reports.allure_ids import fragment

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=8000",
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = chromium()
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="stagegate-chromium-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )


def dump_dom(html: Path, fragment: str = "") -> str:
    return _run(html.resolve().as_uri() + fragment, "--dump-dom").stdout


def screenshot(html: Path, png: Path, fragment: str = "", size: str = "1400,1600") -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(html.resolve().as_uri() + fragment, f"--window-size={size}", f"--screenshot={png}")


def result_fragment(results_dir: Path, full_name: str) -> str:
    """Allure 3's URL fragment for one result: md5 of the result's uuid."""
    for path in results_dir.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("fullName") == full_name:
            return fragment(data["uuid"])
    raise LookupError(full_name)
