"""The file sweep and the redactor against encoded secrets, planted in every form a report holds.

Planted values carry `& < > + / = "` and accents, and one is 4 characters long (matched whole only,
like any secret under 6 characters). Each is written raw, JSON-escaped (`\\u00e9`), XML-escaped
(element text and attributes), URL-encoded and base64 (alone and inside a longer base64 text);
after the sweep no file holds any of these forms, and a second and third rebuild change nothing.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import quoteattr

import pytest

from fixtures.contract import identity_headers, load_contract
from fixtures.redact import REDACTED, Redactor
from reports.build import build
from reports.gate import Part
from reports.run_info import RunInfo
from reports.write.redaction import make_redactor, sweep

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "reports" / "data"
PLANTED = (
    "Pässwörd&<x>+/=9",
    'tok"en+/=&amp;-é-é-é',
    "AKIA/+==abcdefghijé",
    "café-crème+brûlée&Co",
    "k<4>",  # 4 characters
)
LONG = PLANTED[:4]

ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json-ascii": lambda s: json.dumps({"m": s}),
    "json-unicode": lambda s: json.dumps({"m": s}, ensure_ascii=False),
    "json-in-json": lambda s: json.dumps({"body": json.dumps({"m": s})}),
    "xml-text": lambda s: f"<failure>{html.escape(s, quote=False)}</failure>",
    "xml-attribute": lambda s: f"<failure message={quoteattr(s)}/>",
    "html-escape": lambda s: f"<td>{html.escape(s)}</td>",
    "xml-numeric": lambda s: "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in html.escape(s)),
    "json-in-xml": lambda s: html.escape(json.dumps({"m": s})),
    "url": lambda s: f"GET /x?key={quote(s, safe='')}&b=1",
    "url-plus": lambda s: f"GET /x?key={quote_plus(s)}",
    "url-lowercase-hex": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(s, safe="")),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "base64-inside": lambda s: base64.b64encode(json.dumps({"key": s, "n": 1}).encode()).decode(),
    "basic-auth": lambda s: "Basic " + base64.b64encode(f"user:{s}".encode()).decode(),
}


def _forms(secret: str) -> set[str]:
    """What must not survive: each encoding's rendering of the secret (as far as it is the secret's)."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(secret.encode()).decode().rstrip("="),
    }


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("secret", LONG, ids=[f"secret{i}" for i in range(len(LONG))])
def test_each_encoded_form_of_a_planted_secret_is_redacted(secret: str, encoding: str) -> None:
    text = ENCODINGS[encoding](secret)
    out = Redactor(PLANTED).text(f"before {text} after")
    assert REDACTED in out, out
    for form in _forms(secret):
        assert form not in out, (form, out)
    assert out.startswith("before ") and out.endswith(" after")  # the text around it survives


def test_a_short_secret_is_matched_whole_only() -> None:
    r = Redactor(PLANTED)
    assert r.text("k<4>") == REDACTED
    assert r.text("a k<4> b") == "a k<4> b"  # under 6 characters: ordinary text is not mangled


def _plant(folder: Path) -> None:
    """Every encoding of every long secret, in a text file of each kind the sweep handles."""
    lines = [ENCODINGS[e](s) for s in LONG for e in sorted(ENCODINGS)]
    (folder / "junit.xml").write_text(
        "<testsuite>"
        + "".join(f'<testcase name="t{i}"><failure message={quoteattr(line)}>{html.escape(line)}</failure>'
                  "</testcase>" for i, line in enumerate(lines))
        + '<testcase name="h"><system-out>x-api-key: ab&lt;cd&amp;ef and &quot;Authorization&quot;: '
        "&quot;Basic q&amp;w&quot;</system-out></testcase></testsuite>",
        encoding="utf-8",
    )  # fmt: skip
    (folder / "load").mkdir()
    (folder / "load" / "locust_stats.csv").write_text("\n".join(lines), encoding="utf-8")
    (folder / "result.json").write_text(json.dumps({"lines": lines}), encoding="utf-8")


def test_the_sweep_leaves_no_encoded_secret_and_is_idempotent(tmp_path: Path) -> None:
    _plant(tmp_path)
    redactor = make_redactor(PLANTED)
    assert sweep(tmp_path, redactor)
    first = {p: p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file()}
    for path, text in first.items():
        for secret in LONG:
            for form in _forms(secret):
                assert form not in text, (path.name, form)
        if path.suffix == ".xml":
            assert "<redacted>" not in text and "&lt;redacted&gt;" in text  # stays well-formed
            assert "&lt;cd" not in text and "q&amp;w" not in text  # no tail of a header value left
    assert sweep(tmp_path, redactor) == [] and sweep(tmp_path, redactor) == []  # rebuilds change nothing
    assert "&gt;;redacted&gt;" not in (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))  # still JSON


def test_rebuilding_a_report_does_not_grow_the_redaction_mark(tmp_path: Path) -> None:
    """Before, each rebuild appended another `;redacted&gt;` to junit.xml after a header value."""
    out = tmp_path / "out" / "local"
    shutil.copytree(DATA / "conformance_mixed", out)
    shutil.copytree(DATA / "load_mixed", out / "load")
    junit = out / "junit.xml"
    junit.write_text(
        junit.read_text().replace("boom", "x-api-key: s3cr&lt;et&amp;1 and x-amz-security-token: FQoG&lt;z"),
        encoding="utf-8",
    )
    info = RunInfo("local", "stages/local.toml", True, Part("ran"), Part("ran"), 1, 1, started=time.time())
    texts = []
    for _ in range(3):
        build(info, out, render_html=False)
        texts.append(junit.read_text(encoding="utf-8"))
    assert texts[0] == texts[1] == texts[2]
    assert "s3cr" not in texts[0] and "FQoG" not in texts[0] and "et&amp;1" not in texts[0]
    assert "&gt;;redacted" not in texts[0] and texts[0].count("&lt;redacted&gt;") >= 2


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("X-Amz-Security-Token", "X-Amz-Security-Token: FwoGZXIvYXdzEJr"),
        ("X-Amz-Security-Token", '<p>"x-amz-security-token": "FwoGZXIvYXdzEJr"</p>'),
        ("authorizationToken", '{"type": "TOKEN", "authorizationToken": "allow-partner-7"}'),
        ("identitySource", '{"identitySource": ["kiosk-allow-clinic-42"]}'),
        ("identitySource", '{"identitySource": "kiosk-allow-clinic-42,x"}'),
        ("identitySource", '{\\"identitySource\\": [\\"kiosk-allow-clinic-42\\"]}'),
    ],
)
def test_security_tokens_and_authorizer_identities_are_sensitive(key: str, shown: str) -> None:
    """X-Amz-Security-Token (a header), authorizationToken and identitySource (authorizer events)."""
    r = Redactor()
    out = r.text(shown)
    assert REDACTED in out and "FwoGZXIvYXdzEJr" not in out and "allow-" not in out, out
    assert "opaque-value-1" not in json.dumps(r.json({"event": {key: ["opaque-value-1"]}}))
    assert "opaque-value-1" not in json.dumps(r.json({key: "opaque-value-1"}))
    assert r.headers({"X-Amz-Security-Token": "opaque-value-1"}) == {"X-Amz-Security-Token": REDACTED}


def test_every_header_a_contract_authorizer_names_is_sensitive() -> None:
    """The portal's Lambda authorizer reads X-Clinic-Token, the partner's TOKEN authorizer its own
    header: each is redacted by name, in headers, JSON and text, without knowing the value."""
    names = set()
    for name in ("portal", "partner"):
        flavor = "http" if name == "portal" else "rest"
        names |= identity_headers(
            load_contract(str(ROOT / "fixtures" / "clinic" / f"{name}.openapi.json"), flavor)
        )
    assert "authorization" in names and "x-clinic-token" in names
    custom = sorted(names - {"authorization", "x-clinic-token"})
    r = Redactor(headers=["X-Custom-Identity", *custom])
    assert r.headers({"X-Custom-Identity": "v-123456"}) == {"X-Custom-Identity": REDACTED}
    assert r.text("X-Custom-Identity: v-123456 then") == f"X-Custom-Identity: {REDACTED} then"
    assert r.json({"headers": {"x-custom-identity": "v-123456"}}) == {
        "headers": {"x-custom-identity": REDACTED}
    }
    assert Redactor().headers({"X-Custom-Identity": "v-123456"}) == {
        "X-Custom-Identity": "v-123456"
    }  # control


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: json.dumps(s).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"),
        lambda s: quote(s, safe="/="),
        lambda s: quote(s.encode("latin-1")),
        lambda s: repr(s.encode("utf-8"))[2:-1],
        lambda s: "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in s),
    ],
    ids=["jinja-tojson", "url-safe-slash-equals", "url-latin1", "python-bytes-repr", "numeric-entities"],
)
def test_more_encodings_of_a_secret_are_swept(encode: Callable[[str], str]) -> None:
    secret = "pkZ&<>+/=\u00e9-Qw81"
    assert "pkZ" not in Redactor([secret]).text(f"before {encode(secret)} after")
