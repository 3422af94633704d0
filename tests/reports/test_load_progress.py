"""The load part's progress line (read from the locustfile's progress file) and the Locust command."""

from __future__ import annotations

import json
from pathlib import Path

from reports.live.load_progress import describe_load, read_load_progress
from reports.run import LOAD_PROGRESS, load_command


def test_running_scenario_is_named_with_its_position_and_the_elapsed_time() -> None:
    record = {"state": "running", "scenario": "portal.over-rate", "index": 3, "total": 10}
    assert describe_load(record, 12.4) == "load: portal.over-rate (3/10), 12 s"


def test_each_state_reads_differently() -> None:
    lines = {
        describe_load(None, 1),
        describe_load({"state": "starting", "total": 10}, 2),
        describe_load({"state": "sent", "scenario": "portal.burst", "index": 1, "total": 10}, 3),
        describe_load({"state": "judging", "total": 10}, 34),
        describe_load({"state": "done", "total": 10}, 35),
    }
    assert len(lines) == 5
    assert "load: portal.burst (1/10) sent, buckets refilling, 3 s" in lines
    assert "load: 10 scenario results written, 35 s" in lines


def test_a_missing_or_half_written_progress_file_is_no_news(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    assert read_load_progress(path) is None
    path.write_text('{"state": "runn')
    assert read_load_progress(path) is None
    path.write_text(json.dumps({"state": "done", "total": 2}))
    assert read_load_progress(path) == {"state": "done", "total": 2}


def test_the_gate_asks_locust_for_csv_html_and_progress_under_the_stage_folder(tmp_path: Path) -> None:
    out = tmp_path / "out" / "local"
    command = load_command("stages/x.toml", out)

    def value(option: str) -> str:
        return command[command.index(option) + 1]

    assert value("--csv") == str(out / "load" / "locust") and value("--html") == str(
        out / "load" / "locust.html"
    )
    assert value("--out-dir") == str(tmp_path / "out") and value("--stage") == "stages/x.toml"
    assert value("--progress-file") == str(out / LOAD_PROGRESS)
