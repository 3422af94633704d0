"""Render allure-results into ONE self-contained HTML file with the project's pinned Allure 3.

Allure 3 (npm `allure`, pinned in package.json, installed with `npm ci` into node_modules/) writes a
single-file report when allurerc.mjs sets `plugins.awesome.options.singleFile: true`. Its page
embeds a Google Analytics tag unconditionally; it is removed so the report opens from disk with
no third-party request.

History: allurerc.mjs reads `historyPath`, `historyLimit` and `appendHistory` from the environment
this module sets (STAGEGATE_HISTORY...), so each report of a stage shows the previous runs'
outcomes (out/<stage>/history.jsonl, bounded; reports/write/history.py). After rendering, the page is
checked for attachments it lists but does not hold ("missed"): there must be none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reports.write.history import HISTORY_LIMIT
from reports.write.report_data import missed_attachments

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
    missed: tuple[str, ...] = ()  # "<result>: <attachment>" the page lists but does not hold


def strip_analytics(page: str) -> str:
    return _ANALYTICS.sub("", page)


def allure_bin(root: Path) -> Path:
    return root / "node_modules" / ".bin" / "allure"


def render(
    results_dir: Path,
    out_html: Path,
    report_name: str,
    root: Path,
    stage: str,
    history: Path | None = None,
    append_history: bool = True,
) -> HtmlOutcome:
    """allure generate (single file) -> out_html. Never raises for a missing tool: says what to do.

    `history`: the stage's history file (read, and appended to unless `append_history` is false:
    a rebuild of an earlier run must not count it twice)."""
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
        if history is not None:
            env.update(
                STAGEGATE_HISTORY=str(history.resolve()),
                STAGEGATE_HISTORY_LIMIT=str(HISTORY_LIMIT),
                STAGEGATE_APPEND_HISTORY="1" if append_history else "0",
            )
        else:
            env.pop("STAGEGATE_HISTORY", None)
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
        text = strip_analytics(page.read_text(encoding="utf-8"))
        out_html.write_text(text, encoding="utf-8")
    missed = tuple(missed_attachments(text))
    note = f"{len(missed)} attachments listed but missing from the report: {missed[0]}" if missed else ""
    return HtmlOutcome(out_html, note, missed)
