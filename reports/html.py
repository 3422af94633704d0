"""Render allure-results into ONE self-contained HTML file with the project's pinned Allure 3.

Allure 3 (npm `allure`, pinned in package.json, installed with `npm ci` into node_modules/) writes a
single-file report when allurerc.mjs sets `plugins.awesome.options.singleFile: true`. Its page
embeds a Google Analytics tag unconditionally; it is removed so the report opens from disk with
no third-party request.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GENERATE_TIMEOUT_S = 180.0
RENDER_HINT = (
    "run `make setup` (npm ci, needs Node.js 20+) then `.venv/bin/python -m reports.build --stage {stage}`"
)
_ANALYTICS = re.compile(
    r"<script[^>]*googletagmanager\.com[^>]*>\s*</script>\s*<script>\s*window\.dataLayer.*?</script>",
    re.DOTALL,
)


@dataclass(frozen=True)
class HtmlOutcome:
    path: Path | None  # the report file, or None when it could not be rendered
    note: str  # why not, and how to render it


def strip_analytics(page: str) -> str:
    return _ANALYTICS.sub("", page)


def allure_bin(root: Path) -> Path:
    return root / "node_modules" / ".bin" / "allure"


def render(results_dir: Path, out_html: Path, report_name: str, root: Path, stage: str) -> HtmlOutcome:
    """allure generate (single file) -> out_html. Never raises for a missing tool: says what to do."""
    hint = RENDER_HINT.format(stage=stage)
    if shutil.which("node") is None:
        return HtmlOutcome(None, f"HTML report not rendered: node is not installed; {hint}")
    binary = allure_bin(root)
    if not binary.exists():
        return HtmlOutcome(
            None, f"HTML report not rendered: Allure is not installed in node_modules/; {hint}"
        )
    with tempfile.TemporaryDirectory(prefix="stagegate-allure-") as tmp:
        env = {**os.environ, "STAGEGATE_REPORT_NAME": report_name, "NO_COLOR": "1"}
        cmd = [str(binary), "generate", str(results_dir), "--config", str(root / "allurerc.mjs"), "-o", tmp]
        try:
            done = subprocess.run(
                cmd,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=GENERATE_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return HtmlOutcome(None, f"HTML report not rendered: allure generate failed ({exc}); {hint}")
        page = Path(tmp) / "index.html"
        if done.returncode != 0 or not page.is_file():
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return HtmlOutcome(
                None, f"HTML report not rendered: allure generate exited {done.returncode}: {last[0]}"
            )
        out_html.parent.mkdir(parents=True, exist_ok=True)
        out_html.write_text(strip_analytics(page.read_text(encoding="utf-8")), encoding="utf-8")
    return HtmlOutcome(out_html, "")
