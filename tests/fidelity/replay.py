"""Replay responses recorded from real AWS against the emulator and say where they differ.

The cases (tests/fidelity/cases.json) were recorded by LocalStack's AWS-validated tests against API
Gateway REST APIs; each names its snapshot file and key (or the asserting line of the test). The APIs
they ran against are configured alike in tests/fidelity/apis/ and served by one emulator from
tests/fidelity/stage.toml, each under /<api>/<stage> (AWS: https://<api-id>.execute-api.../<stage>).

Method (used by tests/fidelity/test_fidelity.py and bench/fidelity.py):
- each request goes over a real socket to `python -m fixtures.emulator` (uvicorn, httptools), with
  the headers the recording's client sent, in its order and letter case (requests' defaults plus the
  test's own), the body as sent (JSON bodies serialised as requests does);
- status: equal;
- body: parsed as JSON and compared with the recorded parsed body (`body`), or a recorded subset
  (`body_fields`), or the exact text where the recording kept text (`body_text`);
- headers: by name, case-insensitively except the names a case records the case of
  (`header_case`); a recorded value in angle brackets (`<uuid:1>`, `<masked>`) was masked by the
  recording and must only be present; `<absent>` must be absent; `headers_complete` cases must not
  answer other names. Not compared: what CloudFront adds in front of an edge-optimised endpoint
  (Via, X-Cache, X-Amz-Cf-Id, X-Amz-Cf-Pop, CloudFront-* in events) and Connection (hop-by-hop,
  the server's);
- the Lambda event (the echo function answers it as its body): every field, recursively, with
  masked values (ids, times, hosts, addresses) present only; event header names compared exactly
  (their case is the point), unless `strict=False` (the lenient figure, ignoring header-name case).
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
STAGE = HERE / "stage.toml"
CASES = HERE / "cases.json"
TIMEOUT_S = 10.0

_MASK = re.compile(r"^<[^<>]+>$")
_EDGE_RESPONSE = frozenset({"via", "x-cache", "x-amz-cf-id", "x-amz-cf-pop"})
_TRANSPORT = frozenset({"connection"})
ABSENT = "<absent>"


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    api: str
    source: Mapping[str, str]
    request: Mapping[str, Any]
    expect: Mapping[str, Any]
    deviation: str | None = None  # a known, documented deviation (README "Assumptions and limits")


@dataclass(frozen=True)
class Observed:
    status: int
    headers: tuple[tuple[str, str], ...]  # as received: names in the case the server sent
    body: bytes


def load_cases(path: Path = CASES) -> tuple[list[Case], list[tuple[str, str]]]:
    """The recorded cases and the recording client's default headers (requests)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = [
        Case(c["id"], c["group"], c["api"], c["source"], c["request"], c["expect"], c.get("deviation"))
        for c in data["cases"]
    ]
    defaults = [(name, value) for name, value in data["client"]["requests"]]
    return cases, defaults


# --- the request as the recording's client sent it -------------------------------------------


def wire_request(
    case: Case, base_url: str, defaults: Sequence[tuple[str, str]]
) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(method, request target, headers in order, body) as requests would have sent them."""
    request = case.request
    base = urlsplit(base_url)
    base_path = base.path.rstrip("/")
    if request.get("base_prefix"):  # `//<stage>/...` on AWS: the slash doubled before the base path
        base_path = request["base_prefix"] + base_path.lstrip("/")
    target = base_path + request["path"] + (f"?{request['query']}" if request.get("query") else "")
    headers: list[tuple[str, str]] = [("Host", base.netloc)]
    merged: dict[str, tuple[str, str]] = {}  # requests: a CaseInsensitiveDict, the request's name wins
    for name, value in [*defaults, *request.get("headers", [])]:
        merged[name.lower()] = (name, value)
    body = b""
    method = request["method"]
    if "json" in request:
        body = json.dumps(request["json"]).encode()
    elif "body" in request:
        body = request["body"].encode()
    if "raw_body" in request:  # sent verbatim, framed by the case's own headers
        body = request["raw_body"].encode()
    elif body or method in ("POST", "PUT", "PATCH"):
        merged.setdefault("content-length", ("Content-Length", str(len(body))))
    if "json" in request:
        merged.setdefault("content-type", ("Content-Type", "application/json"))
    headers += list(merged.values())
    return method, target, headers, body


def send(case: Case, base_url: str, defaults: Sequence[tuple[str, str]]) -> Observed:
    """One request over a fresh connection, headers byte for byte as given (http.client)."""
    method, target, headers, body = wire_request(case, base_url, defaults)
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=TIMEOUT_S)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()  # an interim 100 Continue is skipped by http.client
        return Observed(response.status, tuple(response.getheaders()), response.read())
    finally:
        connection.close()


# --- comparison ------------------------------------------------------------------------------


def _masked(value: Any) -> bool:
    return isinstance(value, str) and bool(_MASK.match(value))


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return ValueError


def _same(recorded: Any, ours: Any, where: str, out: list[str], ignore: frozenset[str], strict: bool) -> None:
    """Recursive comparison: masked values need presence; maps need the same keys."""
    if _masked(recorded):
        if ours is None:
            out.append(f"{where}: recorded a (masked) value, got null")
        return
    if isinstance(recorded, dict) and isinstance(ours, str) and where.endswith(".body"):
        ours = _parsed(ours.encode())  # the recording's transformer parsed JSON bodies
    if isinstance(recorded, dict) and isinstance(ours, dict):
        headers = where.endswith((".headers", ".multiValueHeaders"))
        rec = {k: v for k, v in recorded.items() if not (headers and k.lower() in ignore)}
        got = dict(ours)
        if headers and not strict:
            rec = {k.lower(): v for k, v in rec.items()}
            got = {k.lower(): v for k, v in got.items()}
        for key in sorted(set(rec) | set(got)):
            if key not in got:
                out.append(f"{where}.{key}: recorded, missing here")
            elif key not in rec:
                out.append(f"{where}.{key}: not recorded, present here ({got[key]!r})")
            else:
                _same(rec[key], got[key], f"{where}.{key}", out, ignore, strict)
        return
    if isinstance(recorded, list) and isinstance(ours, list) and len(recorded) == len(ours):
        for index, (r, o) in enumerate(zip(recorded, ours, strict=True)):
            _same(r, o, f"{where}[{index}]", out, ignore, strict)
        return
    if recorded != ours:
        out.append(f"{where}: recorded {recorded!r}, here {ours!r}")


def _event_ignore(case: Case) -> frozenset[str]:
    """Event header names CloudFront adds in front of an edge-optimised endpoint (not the gateway's)."""
    sent = {name.lower() for name, _ in case.request.get("headers", [])}
    names = {"x-amz-cf-id"} | ({"via"} if "via" not in sent else set())
    return frozenset(names)


def _is_edge_event_header(name: str) -> bool:
    return name.lower().startswith("cloudfront-")


def _header_values(headers: Iterable[tuple[str, str]], name: str, exact: bool) -> list[str]:
    return [v for k, v in headers if (k == name if exact else k.lower() == name.lower())]


def differences(case: Case, observed: Observed, strict: bool = True) -> list[str]:
    """Where the emulator's answer differs from the recording (empty: it matches)."""
    expect = case.expect
    out: list[str] = []
    if observed.status != expect["status"]:
        out.append(f"status: recorded {expect['status']}, here {observed.status}")
    parsed = _parsed(observed.body)
    if "body" in expect and parsed != expect["body"]:
        shown = observed.body.decode("utf-8", "replace")[:300]
        out.append(f"body: recorded {json.dumps(expect['body'])}, here {shown}")
    if "body_text" in expect and observed.body.decode("utf-8", "replace") != expect["body_text"]:
        out.append(f"body: recorded text {expect['body_text']!r}, here {observed.body[:200]!r}")
    for key, value in expect.get("body_fields", {}).items():
        if not isinstance(parsed, dict) or parsed.get(key) != value:
            out.append(f"body.{key}: recorded {value!r}, here {observed.body[:200]!r}")
    out += _header_differences(case, observed, strict)
    if "event" in expect or "event_fields" in expect:
        out += _event_differences(case, parsed, strict)
    return out


def _header_differences(case: Case, observed: Observed, strict: bool) -> list[str]:
    expect = case.expect
    out: list[str] = []
    cased = set(expect.get("header_case", ())) if strict else set()
    recorded = {
        name: value
        for name, value in expect.get("headers", {}).items()
        if name.lower() not in _EDGE_RESPONSE | _TRANSPORT
    }
    for name, value in recorded.items():
        found = _header_values(observed.headers, name, exact=name in cased)
        if value == ABSENT:
            if found:
                out.append(f"header {name}: recorded absent, here {found[0]!r}")
        elif not found:
            out.append(f"header {name}: recorded {value!r}, missing here")
        elif not _masked(value) and found[0] != value:
            out.append(f"header {name}: recorded {value!r}, here {found[0]!r}")
    if expect.get("headers_complete"):
        known = {name.lower() for name in recorded} | _TRANSPORT
        extra = sorted({k for k, _ in observed.headers if k.lower() not in known})
        if extra:
            out.append(f"headers not in the recording: {', '.join(extra)}")
    for check in expect.get("header_checks", ()):
        value = (_header_values(observed.headers, check["name"], exact=False) or [""])[0]
        index = check.get("part", 0)
        part = value.split(";")[index] if value.count(";") >= index else ""
        if "contains" in check and check["contains"] not in value:
            out.append(f"header {check['name']}: should contain {check['contains']!r}, here {value!r}")
        if "equals" in check and part != check["equals"]:
            out.append(f"header {check['name']} part {index}: recorded {check['equals']!r}, here {part!r}")
        if "not_equals" in check and part == check["not_equals"]:
            out.append(f"header {check['name']} part {index}: should differ from {part!r}")
    return out


def _event_differences(case: Case, event: Any, strict: bool) -> list[str]:
    if not isinstance(event, dict):
        return ["event: the echo function's answer is not a JSON event"]
    ignore = _event_ignore(case)
    out: list[str] = []
    recorded = case.expect.get("event")
    if recorded is None:
        recorded = case.expect["event_fields"]
        event = {key: event.get(key) for key in recorded}
    recorded = _without_edge(recorded)
    _same(recorded, event, "event", out, ignore, strict)
    return out


def _without_edge(event: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(event)
    for key in ("headers", "multiValueHeaders"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if not _is_edge_event_header(k)}
    return out
