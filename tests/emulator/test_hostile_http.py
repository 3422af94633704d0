"""Hostile HTTP against the emulator over real sockets, table-driven: each row one request, the status it
gets (or a closed connection), and then a valid request that must still be served.

Limits (fixtures/emulator/serve/connection.py, server.py): request line + headers (HTTP API) or header values
(REST) over 10,240 bytes answer 413 REQUEST_TOO_LARGE (DOCS limits; the answer for headers is an
ASSUMPTION), a declared body over 10 MB answers 413 before any of it is read, a header section is
never buffered past 32 KiB, headers must arrive within the header timeout and a body may not pause
longer than the body timeout (408, ASSUMPTION; here 1.5 s instead of 10 s). Request smuggling forms
already answered 400 (httptools); they stay in the table. Only 127.0.0.1, bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.contract import LambdaAuthorizer
from fixtures.emulator.policy import lambda_auth
from fixtures.emulator.policy.lambda_auth import LambdaAuth
from fixtures.emulator.serve.runner import free_port
from fixtures.emulator.wire import Request
from fixtures.stage import contract_of, load_stage
from fixtures.stage.copies import private_stage
from fixtures.tokens import TokenFactory, ensure_signing_key

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 1.5  # the emulator's header and body timeouts in this module
HOST = b"Host: 127.0.0.1\r\n"
HTTP_413 = b'{"message":"Request Too Large"}'
REST_413 = b'{"message": "Request Too Large"}'


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("hostile")
    stage = private_stage(load_stage("local"), folder)
    for api in load_stage(str(stage)).apis:
        if api.credentials.signing_key is not None:
            ensure_signing_key(api.credentials.signing_key.key_file)
    port = free_port()
    command = [sys.executable, "-m", "fixtures.emulator", "--stage", str(stage), "--port", str(port),
               "--no-access-log", "--header-timeout-s", str(TIMEOUT_S),
               "--body-timeout-s", str(TIMEOUT_S)]  # fmt: skip
    log = open(folder / "emulator.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 15
        while _exchange(port, b"GET /_stagegate/health HTTP/1.1\r\n" + HOST + b"\r\n", 1.0)[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline, (
                folder / "emulator.log"
            ).read_text()
            time.sleep(0.1)
        yield port, stage
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _exchange(
    port: int, data: bytes, wait_s: float = 5.0, trickle: list[bytes] | None = None, pause_s: float = 0.0
) -> tuple[int | None, bytes, str, float]:
    """(status or None, body, how the connection ended, seconds to that end)."""
    started = time.monotonic()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=wait_s)
    except OSError:
        return None, b"", "refused", 0.0
    received, how = b"", "open"
    with sock:
        try:
            for part in trickle or [data]:
                sock.sendall(part)
                time.sleep(pause_s)
        except OSError:
            pass  # the server closed first: what it answered is read below
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    how = "closed"
                    break
                received += chunk
        except TimeoutError:
            how = "open"
        except ConnectionResetError:
            how = "closed"
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.") else None
    return status, body, how, time.monotonic() - started


def _serves(port: int) -> None:
    """The emulator still answers a valid request, on a new connection."""
    status, body, _, _ = _exchange(
        port, b"GET /portal/health HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n"
    )
    assert (status, body) == (200, b'{"status":"ok"}')


def _post(path: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\n" + HOST + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _get(path: bytes, *headers: bytes) -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\n" + HOST + b"".join(h + b"\r\n" for h in headers) + b"\r\n"


PORTAL, PARTNER = b"/portal/health", b"/partner/v1/appointments?clinic_id=c1"

# (row id, request, expected status, expected body or None, the connection must be closed)
ROWS: list[tuple[str, bytes, int, bytes | None, bool]] = [
    ("header-1mb-http-api", _get(PORTAL, b"X-Big: " + b"a" * 1024 * 1024), 413, HTTP_413, True),
    ("header-1mb-rest", _get(PARTNER, b"X-Big: " + b"a" * 1024 * 1024), 413, REST_413, True),
    ("10000-headers", _get(PORTAL, *(b"X-H%d: v" % i for i in range(10_000))), 413, HTTP_413, False),
    ("line-and-headers-over-10240-http-api", _get(PORTAL, b"X-Big: " + b"a" * 10_300), 413, HTTP_413, False),
    ("header-values-over-10240-rest", _get(PARTNER, b"X-A: " + b"a" * 6000, b"X-B: " + b"b" * 4300), 413,
     REST_413, False),
    ("control-headers-under-10240", _get(PORTAL, b"X-Big: " + b"a" * 9000), 200, b'{"status":"ok"}', False),
    ("content-length-11mb-sends-10-bytes",
     _post(b"/portal/calls/transcribe", b"Content-Length: 11534336", b"Content-Type: application/json",
           body=b"0123456789"), 413, HTTP_413, False),
    # Request smuggling forms: the parser answers 400 and closes (no request reaches the gateway).
    ("smuggle-cl-and-te",
     _post(PORTAL, b"Content-Length: 5", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
     400, None, True),
    ("smuggle-two-content-lengths", _post(PORTAL, b"Content-Length: 5", b"Content-Length: 6", body=b"hello!"),
     400, None, True),
    ("smuggle-content-length-list", _post(PORTAL, b"Content-Length: 5, 5", body=b"hello"), 400, None, True),
    ("smuggle-te-space-before-colon", _post(PORTAL, b"Transfer-Encoding : chunked", body=b"0\r\n\r\n"),
     400, None, True),
    ("smuggle-te-chunked-identity", _post(PORTAL, b"Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n"),
     400, None, True),
    ("smuggle-te-xchunked", _post(PORTAL, b"Transfer-Encoding: xchunked", body=b"0\r\n\r\n"),
     400, None, True),
    ("smuggle-bad-chunk-size", _post(PORTAL, b"Transfer-Encoding: chunked", body=b"zz\r\nhello\r\n0\r\n\r\n"),
     400, None, True),
    ("smuggle-negative-content-length", _post(PORTAL, b"Content-Length: -1"), 400, None, True),
    ("smuggle-signed-content-length", _post(PORTAL, b"Content-Length: +5", body=b"hello"), 400, None, True),
    ("smuggle-obs-fold", _get(PORTAL, b"X-A: 1\r\n b"), 400, None, True),
    ("smuggle-bare-lf", b"GET /portal/health HTTP/1.1\n" + HOST + b"\n", 400, None, True),
    ("smuggle-bare-cr-in-value", _get(PORTAL, b"X-A: a\rb"), 400, None, True),
    ("smuggle-nul-in-value", _get(PORTAL, b"X-A: a\x00b"), 400, None, True),
    ("smuggle-space-in-name", _get(PORTAL, b"X A: 1"), 400, None, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_bytes", "status", "body", "closed"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_hostile_request_gets_its_answer_and_the_emulator_still_serves(
    emulator: tuple[int, Path], request_bytes: bytes, status: int, body: bytes | None, closed: bool
) -> None:
    port, _ = emulator
    got, answer, how, seconds = _exchange(port, request_bytes, wait_s=TIMEOUT_S + 3)
    assert got == status, (answer[:200], how)
    if body is not None:
        assert answer == body
    if closed:
        assert how == "closed" and seconds < 1.0  # answered and closed at once, not after a timeout
    _serves(port)


def test_headers_trickled_get_408_and_the_connection_closes(emulator: tuple[int, Path]) -> None:
    """Before: a client sending one header byte every half second kept its connection for 40 s."""
    port, _ = emulator
    parts = [b"GET /portal/health HTTP/1.1\r\n", *[b"X"] * 80]
    status, body, how, seconds = _exchange(port, b"", wait_s=10, trickle=parts, pause_s=0.1)
    assert (status, how) == (408, "closed") and json.loads(body) == {"message": "Request Timeout"}
    assert TIMEOUT_S - 0.2 < seconds < TIMEOUT_S + 2
    _serves(port)


def test_an_idle_connection_is_closed(emulator: tuple[int, Path]) -> None:
    """Before: a connection that sent nothing stayed open (30 s and more)."""
    port, _ = emulator
    status, _, how, seconds = _exchange(port, b"", wait_s=10, trickle=[])
    assert (status, how) == (None, "closed") and seconds < TIMEOUT_S + 2
    _serves(port)


def test_a_body_that_stops_gets_408_and_the_connection_closes(emulator: tuple[int, Path]) -> None:
    """Content-Length 5 MB (under the 10 MB limit), 10 bytes sent, then nothing."""
    port, _ = emulator
    request = _post(b"/portal/calls/transcribe", b"Content-Length: 5000000", body=b"0123456789")
    status, _, how, seconds = _exchange(port, request, wait_s=10)
    assert (status, how) == (408, "closed") and seconds < TIMEOUT_S + 2
    _serves(port)


def test_a_body_trickled_byte_by_byte_is_cut_off_at_the_whole_body_limit(emulator: tuple[int, Path]) -> None:
    """Each byte within the pause limit, yet the body never ends: 408 once the body's whole time ran out."""
    from fixtures.emulator.serve.connection import BODY_TOTAL_FACTOR

    port, _ = emulator
    head = _post(b"/portal/calls/transcribe", b"Content-Length: 1000", body=b"")
    pause = TIMEOUT_S * 0.6  # under the pause limit: the old code re-armed it for ever
    limit = BODY_TOTAL_FACTOR * TIMEOUT_S
    parts = [head] + [b"x"] * int(2.5 * limit / pause)  # would trickle for 2.5 times the limit
    status, _, how, seconds = _exchange(port, b"", wait_s=3 * TIMEOUT_S, trickle=parts, pause_s=pause)
    assert (status, how) == (408, "closed")
    assert seconds < limit + 2 * TIMEOUT_S + 1  # cut off at the limit, not when the client gave up
    _serves(port)


def _token(stage: Path) -> str:
    api = load_stage(str(stage)).api("portal")
    contract = contract_of(api)
    jwt = contract.authorizers["clinic-cognito"]
    key = api.credentials.signing_key
    assert key is not None
    return TokenFactory(key.key_file, key.kid, jwt.issuer, jwt.audience).valid(["appointments/write"])


@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_json_is_400_on_the_http_api_as_on_rest(emulator: tuple[int, Path], depth: int) -> None:
    """Before: the portal handler's JSON parser raised RecursionError and the HTTP API answered 500."""
    port, stage = emulator
    nested = b"[" * depth + b"]" * depth
    auth = b"Authorization: Bearer " + _token(stage).encode()
    length = b"Content-Length: %d" % len(nested)
    status, body, _, _ = _exchange(
        port, _post(b"/portal/calls/transcribe", auth, b"Content-Type: application/json", length, body=nested)
    )
    assert status == 400 and b"nested too deeply" in body, body[:200]
    key = load_stage(str(stage)).api("partner").credentials.api_key
    assert key is not None
    rest = _post(b"/partner/v1/appointments", b"x-api-key: " + key.value.encode(),
                 b"Content-Type: application/json", b"X-Partner-Id: partner-7", length,
                 body=nested)  # fmt: skip
    assert _exchange(port, rest)[0] == 400
    _serves(port)


def test_the_lambda_authorizer_cache_is_bounded_in_bytes() -> None:
    """Before: 150 distinct 1 MB tokens were all kept (the cache was capped by entries): 66 -> 345 MB."""
    authorizer = LambdaAuthorizer("kiosk", "request", "fn", "2.0", True, ("$request.header.X-Token",), 300)

    async def allow(event: dict) -> dict:
        return {"isAuthorized": True, "context": {}}

    auth = LambdaAuth(authorizer, "http", allow, time.time)
    for i in range(150):
        request = Request("GET", "/q", "", (("X-Token", f"{i:04d}" + "t" * 1024 * 1024),), b"")
        asyncio.run(auth.authorize(request, "GET /q", "arn", lambda: {"headers": {}}))
    assert auth._cache_bytes <= lambda_auth.MAX_CACHE_BYTES
    assert sum(len(k[0]) for k in auth._cache) <= lambda_auth.MAX_CACHE_BYTES
    assert 0 < len(auth._cache) <= lambda_auth.MAX_CACHE_BYTES // (1024 * 1024)
    newest = Request("GET", "/q", "", (("X-Token", "0149" + "t" * 1024 * 1024),), b"")
    assert ("0149" + "t" * 1024 * 1024,) in auth._cache  # the newest stay, the oldest left
    assert asyncio.run(auth.authorize(newest, "GET /q", "arn", lambda: {"headers": {}})) is not None


@pytest.mark.parametrize(
    ("args", "stage_edit", "expected"),
    [
        (["--port", "99999"], None, "--port must be 0-65535"),
        (
            [],
            ('"fixtures.clinic.portal_handlers"', '"os"'),
            "module os has no make_handlers() and no HANDLERS",
        ),
        ([], ('"fixtures.clinic.portal_handlers"', '"no_such_module_x"'), "cannot import no_such_module_x"),
    ],
    ids=["port-99999", "handlers-os", "handlers-missing"],
)
def test_a_bad_emulator_configuration_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], stage_edit: tuple[str, str] | None, expected: str
) -> None:
    """Before: tracebacks (OverflowError from bind, AttributeError for HANDLERS)."""
    stage = private_stage(load_stage("local"), tmp_path)
    if stage_edit is not None:
        stage.write_text(stage.read_text().replace(*stage_edit))
    port = [] if args else ["--port", str(free_port())]
    done = subprocess.run(
        [sys.executable, "-m", "fixtures.emulator", "--stage", str(stage), *port, *args, "--no-access-log"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[-1].startswith("stagegate emulator: ") and expected in lines[-1]
