"""Bad stage files, table-driven: each row is one input, its one-line message and exit code 2.

Every row goes through the gate in process (`reports.run.main`): the stage is refused before
anything starts. A few rows also run the `stagegate` command end to end. Bounds cite their source:
AWS's documented limits (DOCS limits: 10,000 rps and a 5,000 burst per account by default) or an
ASSUMPTION stated in the message.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import load_stage
from fixtures.stage.copies import check_secret_names
from reports.run import main as gate_main

ROOT = Path(__file__).resolve().parent.parent
LOCAL = (ROOT / "stages" / "local.toml").read_text(encoding="utf-8")
STAGEGATE = str(Path(sys.executable).parent / "stagegate")
EXIT_CONFIG = 2

Edit = Callable[[str], str | bytes]


def replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert old in text, old  # the row must change the embedded stage
        return text.replace(old, new, 1)

    return edit


def append(extra: str) -> Edit:
    return lambda text: text + "\n" + extra + "\n"


PORTAL_THROTTLE = "[apis.portal.throttle]\nrate = 100\nburst = 200"
PARTNER_PLAN = "[apis.partner.usage_plans.throttle-test-plan]\nrate = 10\nburst = 5"

# (row id, edit of stages/local.toml, expected fragment of the one-line message)
ROWS: list[tuple[str, Edit, str]] = [
    ("not-utf8", lambda text: text.encode("utf-8") + b'\ndescription = "caf\xe9"\n', "not UTF-8 text"),
    ("nested-5000-deep", append("deep = " + "[" * 5000 + "]" * 5000), "nested too deeply"),
    ("invalid-toml", append("[apis.portal"), "invalid TOML"),
    ("rate-1e308", replace(PORTAL_THROTTLE, "[apis.portal.throttle]\nrate = 1e308\nburst = 200"),
     "apis.portal.throttle.rate: must be <= 10000 (the account's default per Region, DOCS limits"),
    ("burst-1e18-integer", replace("burst = 200\n", "burst = 1000000000000000000\n"),
     "apis.portal.throttle.burst: must be <= 5000"),
    ("burst-1e18-float", replace(PORTAL_THROTTLE, "[apis.portal.throttle]\nrate = 100\nburst = 1e18"),
     "apis.portal.throttle.burst: expected an integer, got a float"),
    ("rate-nan", replace(PORTAL_THROTTLE, "[apis.portal.throttle]\nrate = nan\nburst = 200"),
     "apis.portal.throttle.rate: must be a finite number"),
    ("rate-zero", replace(PORTAL_THROTTLE, "[apis.portal.throttle]\nrate = 0\nburst = 200"),
     "apis.portal.throttle.rate: must be > 0"),
    ("route-burst-over-account", replace("rate = 10\nburst = 20", "rate = 10\nburst = 6000"),
     'apis.portal.throttle.routes."POST /calls/transcribe".burst: must be <= 5000'),
    ("plan-rate-over-account", replace(PARTNER_PLAN, PARTNER_PLAN.replace("rate = 10", "rate = 20000")),
     "apis.partner.usage_plans.throttle-test-plan.rate: must be <= 10000"),
    ("method-throttle-over-account",
     append('[apis.partner.usage_plans.throttle-test-plan.method_throttle."GET /appointments"]\n'
            "rate = 1e9\nburst = 5"),
     'method_throttle."GET /appointments".rate: must be <= 10000'),
    ("quota-over-int32", replace("quota = 50", "quota = 99999999999"),
     "quota: must be <= 2147483647 (ASSUMPTION: a 32-bit integer"),
    ("timeout-1e300", replace("timeout_s = 5.0", "timeout_s = 1e300"),
     "timeout_s: must be <= 120 (ASSUMPTION: 4x the 30 s integration maximum"),
    ("integration-timeout-over-http-max",
     replace('stage_name = "$default"', 'stage_name = "$default"\nintegration_timeout_ms = 100000'),
     "apis.portal.emulator.integration_timeout_ms: must be <= 30000 (the HTTP API default integration"),
    ("emulator-account-over-bound",
     replace('stage_name = "$default"', 'stage_name = "$default"\naccount_rate = 2e6\naccount_burst = 10'),
     "apis.portal.emulator.account_rate: must be <= 1000000 (ASSUMPTION"),
    ("stage-limit-over-emulator-account",
     replace('stage_name = "$default"', 'stage_name = "$default"\naccount_rate = 50\naccount_burst = 100'),
     "apis.portal.throttle.rate: must be <= 50 (the account's limit in this file)"),
    ("account-rate-in-embedded-throttle",
     replace(PORTAL_THROTTLE, PORTAL_THROTTLE + "\naccount_rate = 20000\naccount_burst = 10000"),
     "apis.portal.throttle.account_rate: in an embedded stage the account limit is [apis.X.emulator"),
    ("late-ms-huge",
     replace("max_late_share = 0.01\n\n# --- The", "max_late_share = 0.01\nlate_ms = 1e9\n\n# --- The"),
     "apis.portal.tolerance.late_ms: must be <= 10000 (ASSUMPTION"),
    ("rate-rel-not-a-share", replace("rate_rel = 0.05", "rate_rel = 5"),
     "apis.portal.tolerance.rate_rel: is a share; must be between 0 and 1"),
    ("accepted-abs-huge", replace("accepted_abs = 2", "accepted_abs = 1000000000"),
     "apis.portal.tolerance.accepted_abs: must be <= 100000"),
    ("crlf-in-sample-header", replace('X-Partner-Id = "partner-7"', 'X-Partner-Id = "p7\\r\\nX-Injected: 1"'),
     '.headers."POST /appointments".X-Partner-Id: a header value must be latin-1 text without CR, LF'),
    ("lf-in-probe-header",
     replace('{ id = "crash-probe" }\n\n[apis.portal.tolerance]',
             '{ id = "crash-probe" }\nheaders = { X-Probe = "a\\nb" }\n\n[apis.portal.tolerance]'),
     "apis.portal.samples.failure_probe.headers.X-Probe: a header value must be latin-1 text without CR, LF"),
    ("non-latin1-sample-header", replace('X-Partner-Id = "partner-7"', 'X-Partner-Id = "p\u20ac7"'),
     '.headers."POST /appointments".X-Partner-Id: a header value must be latin-1 text'),
    ("crlf-in-literal-key", replace('value = "local-quota-key-a', 'value = "x\\r\\ny-local-quota-key-a'),
     "holds a CR, LF or other control character"),
    ("stage-name-too-long", replace('name = "local"', 'name = "' + "n" * 300 + '"'),
     "name: use at most 64 letters"),
    ("bad-header-name", replace('X-Partner-Id = "partner-7"', '"X Partner" = "partner-7"'),
     '"POST /appointments": "X Partner" is not a valid header name'),
    ("sample-body-nested-100",
     append('[apis.portal.samples.bodies]\n"POST /appointments" = { a = ' + "[" * 100 + "]" * 100 + " }"),
     'apis.portal.samples.bodies."POST /appointments": nested deeper than 64 levels'),
    ("emulator-port-99999", replace("port = 0 ", "port = 99999 "), "emulator.port: must be <= 65535"),
    ("unknown-key", replace("rate = 100\nburst = 200", "rate = 100\nburts = 200"),
     "apis.portal.throttle.burts: unknown key (did you mean 'burst'?)"),
    ("key-name-twice",
     replace('name = "quota-b"', 'name = "quota-a"'),
     "key name 'quota-a' is used twice in this API"),
    ("key-env-collision", replace('name = "quota-b"', 'name = "quota_a"'),
     "keys[1].value: its secret would share the environment variable STAGEGATE_LOCAL_PARTNER_KEY_"),
    ("handlers-module-without-handlers", replace('"fixtures.clinic.portal_handlers"', '"os"'),
     "apis.portal.emulator.handlers: module os has no make_handlers() and no HANDLERS dict"),
    ("handlers-module-missing", replace('"fixtures.clinic.portal_handlers"', '"no_such_handlers"'),
     "apis.portal.emulator.handlers: cannot import no_such_handlers"),
    ("handlers-not-a-module-path", replace('"fixtures.clinic.portal_handlers"', '"os;rm"'),
     "apis.portal.emulator.handlers: expected a module path"),
]  # fmt: skip


def _write(tmp_path: Path, edit: Edit) -> Path:
    content = edit(LOCAL)
    path = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "expected"), [(e, m) for _, e, m in ROWS], ids=[r[0] for r in ROWS])
def test_bad_stage_file_is_one_line_naming_the_file_and_exit_2(
    edit: Edit, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, edit)
    code = gate_main(["--stage", str(path), "--out", str(tmp_path / "out"), "--no-html"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_CONFIG, err
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"stagegate: configuration error: {path}: "), err
    assert expected in err, err
    assert not (tmp_path / "out" / "local" / "gate.json").exists()  # refused before anything ran


def test_the_table_has_at_least_25_stage_rows() -> None:
    assert len(ROWS) >= 25 and len({r[0] for r in ROWS}) == len(ROWS)


def test_key_env_collision_is_found_by_the_resolved_copy_itself(tmp_path: Path) -> None:
    """Keys "quota-a" and "quota_a" loaded fine before and shared STAGEGATE_..._QUOTA_A (last one won)."""
    path = _write(tmp_path, replace('name = "quota-b"', 'name = "quota_a"'))
    stage = load_stage(str(path))
    with pytest.raises(ConfigError, match="would share the environment variable"):
        check_secret_names(stage)


@pytest.mark.parametrize(
    ("row", "expected"),
    [("not-utf8", "not UTF-8 text"), ("nested-5000-deep", "nested too deeply"), ("rate-1e308", "<= 10000")],
)
def test_bad_stage_file_end_to_end_through_the_stagegate_command(
    row: str, expected: str, tmp_path: Path
) -> None:
    edit = next(e for name, e, _ in ROWS if name == row)
    path = _write(tmp_path, edit)
    done = subprocess.run(
        [STAGEGATE, "gate", "--stage", str(path), "--out", str(tmp_path / "out"), "--no-html"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == EXIT_CONFIG, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr, done.stderr[-2000:]
