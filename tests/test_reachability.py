"""The reachability probe: every failure to get an HTTP answer is one line, any HTTP status is an answer."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from fixtures.reachability import unreachable
from fixtures.stage import StageConfig, load_stage

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def listener(answer: bytes) -> Iterator[int]:
    """A local listener that reads one request, writes `answer` and closes, for every connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                conn.recv(4096)
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        server.close()


def stage_at(port: int) -> StageConfig:
    return load_stage(str(ROOT / "stages" / "local.toml")).with_port(port)


def test_a_listener_that_does_not_speak_http_is_one_unreachable_line() -> None:
    with listener(b"SSH-2.0-x\r\n") as port:
        why = unreachable(stage_at(port), 3.0)
    assert why.startswith(f"portal at http://127.0.0.1:{port}/portal: "), why
    assert "BadStatusLine" in why and "SSH-2.0-x" in why and "\n" not in why


def test_control_an_http_listener_answering_200_is_reachable() -> None:
    with listener(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok") as port:
        assert unreachable(stage_at(port), 3.0) == ""


def test_any_http_status_is_an_answer_and_a_redirect_is_not_followed() -> None:
    # The Location points at a closed port: following it would read as unreachable.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    answer = f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{dead}/\r\nContent-Length: 0\r\n\r\n"
    with listener(answer.encode()) as port:
        assert unreachable(stage_at(port), 3.0) == ""


def test_a_closed_port_is_one_unreachable_line() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    why = unreachable(stage_at(port), 3.0)
    assert why.startswith(f"portal at http://127.0.0.1:{port}/portal: ") and "\n" not in why, why
    assert "refused" in why.lower(), why


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stagegate-test")])
    now = datetime.datetime.now(datetime.UTC)
    local = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(local, False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@contextmanager
def https_listener(cert_file: Path, key_file: Path) -> Iterator[int]:
    """A local HTTPS listener answering 200 to every GET."""

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def https_stage(port: int) -> StageConfig:
    stage = stage_at(port)
    apis = tuple(replace(api, base_url=api.base_url.replace("http://", "https://")) for api in stage.apis)
    return replace(stage, apis=apis)


def test_an_https_stage_with_an_unknown_certificate_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with https_listener(*self_signed(tmp_path)) as port:
        why = unreachable(https_stage(port), 3.0)
    assert why.startswith(f"portal at https://127.0.0.1:{port}/portal: ") and "\n" not in why, why
    assert "certificate" in why.lower(), why


def test_control_the_same_stage_is_reachable_with_its_ca_in_requests_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert_file, key_file = self_signed(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    with https_listener(cert_file, key_file) as port:
        assert unreachable(https_stage(port), 3.0) == ""
