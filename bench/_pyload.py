"""Python fallback load generator: N keep-alive connections, GET in a loop, for S seconds.

Usage: python bench/_pyload.py URL SECONDS CONNECTIONS  (headers as JSON in $BENCH_HEADERS)
Prints one JSON object: rps, p50, p99 (ms), non2xx.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit


async def _worker(
    host: str, port: int, request: bytes, until: float, lat: list[float], bad: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            lat.append((time.perf_counter() - start) * 1000)
            if not 200 <= status < 400:
                bad.append(status)
    finally:
        writer.close()


async def main(url: str, seconds: float, connections: int) -> dict:
    parts = urlsplit(url)
    headers = json.loads(os.environ.get("BENCH_HEADERS", "{}"))
    lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    lat: list[float] = []
    bad: list[int] = []
    started = time.monotonic()
    until = started + seconds
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    await asyncio.gather(*(_worker(host, port, request, until, lat, bad) for _ in range(connections)))
    elapsed = time.monotonic() - started
    lat.sort()
    pick = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: 0.0)
    return {"rps": len(lat) / elapsed, "p50": pick(0.50), "p99": pick(0.99), "non2xx": len(bad)}


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))))
