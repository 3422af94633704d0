"""Install LocalStack community (host mode) into its own venv, outside the repo; idempotent.

LocalStack 2026.3.0 needs Python 3.13 (it imports `warnings.deprecated` and uses PEP 695 generics;
on 3.11/3.12 every plugin import fails and the only message is "No component plugins found"), so it
gets pyenv's 3.13 and a venv of its own; the project stays on 3.11. Nothing of LocalStack enters
the repository: it is installed from PyPI at test time.

    python tests/localstack/install.py          # prints the venv's python on the last line

Exit 0 installed (fast when already installed), 1 cannot install (one line on stderr saying why).
Stdlib only: it runs with any Python 3.11+.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The pins that made host mode start (docs/field-notes.md): cbor2 6 removed cbor2._decoder,
# pyOpenSSL 25 removed X509.add_extensions; both break start-up.
REQUIREMENTS = (
    "localstack-core[runtime]==2026.3.0",
    "boto3",
    "cbor2<6",
    "pyopenssl<25",
    "service-identity",
)
PIP_TIMEOUT_S = 600
MARKER = ".stagegate-installed"


class InstallError(Exception):
    """LocalStack cannot be installed on this machine; the message is one line saying why."""


def _pins_digest() -> str:
    return hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:12]


def venv_dir() -> Path:
    """Where the venv lives: $STAGEGATE_LOCALSTACK_VENV, else a per-pin-set folder in the user cache."""
    explicit = os.environ.get("STAGEGATE_LOCALSTACK_VENV")
    if explicit:
        return Path(explicit).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "stagegate" / f"localstack-{_pins_digest()}"


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/versions/(\d+)\.(\d+)\.(\d+)/", path)
    return tuple(int(p) for p in match.groups()) if match else (0,)


def find_python313() -> Path:
    """$STAGEGATE_LOCALSTACK_PYTHON, else the newest pyenv 3.13.x."""
    explicit = os.environ.get("STAGEGATE_LOCALSTACK_PYTHON")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise InstallError(f"STAGEGATE_LOCALSTACK_PYTHON={explicit} is not an executable")
        return Path(explicit)
    roots: list[str] = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
            if done.returncode == 0 and done.stdout.strip():
                roots.append(done.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    roots.append(str(Path.home() / ".pyenv"))
    candidates = sorted(
        {
            p
            for root in roots
            for p in glob.glob(f"{root}/versions/3.13.*/bin/python3")
            if os.access(p, os.X_OK)
        },
        key=_version_key,
    )
    if not candidates:
        raise InstallError(
            "no Python 3.13 found (looked for $(pyenv root)/versions/3.13.*/bin/python3; "
            "set STAGEGATE_LOCALSTACK_PYTHON to a 3.13 interpreter)"
        )
    return Path(candidates[-1])


def _installed(venv: Path) -> bool:
    marker = venv / MARKER
    python = venv / "bin" / "python"
    return python.exists() and marker.exists() and marker.read_text().strip() == _pins_digest()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1][:300]


def ensure_installed(log: bool = True) -> Path:
    """Return the venv's python, installing LocalStack first if needed; InstallError if impossible."""
    venv = venv_dir()
    if _installed(venv):
        return venv / "bin" / "python"
    venv.parent.mkdir(parents=True, exist_ok=True)
    # One installer at a time per venv (parallel sessions share the user cache).
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(venv):
            return venv / "bin" / "python"
        python313 = find_python313()
        started = time.monotonic()
        if log:
            print(f"localstack install: {venv} with {python313} ...", file=sys.stderr, flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        try:
            made = subprocess.run(
                [str(python313), "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120
            )
            if made.returncode != 0:
                raise InstallError(f"python3.13 -m venv failed: {_last_line(made.stderr + made.stdout)}")
            pip = [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ]
            got = subprocess.run([*pip, *REQUIREMENTS], capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
            if got.returncode != 0:
                raise InstallError(f"pip install from PyPI failed: {_last_line(got.stderr + got.stdout)}")
            check = subprocess.run(
                [str(venv / "bin" / "python"), "-c", "import localstack.runtime.main, boto3"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if check.returncode != 0:
                raise InstallError(f"installed LocalStack does not import: {_last_line(check.stderr)}")
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(venv, ignore_errors=True)
            raise InstallError(
                f"install timed out after {exc.timeout:.0f} s: {' '.join(exc.cmd[:3])}"
            ) from exc
        except InstallError:
            shutil.rmtree(venv, ignore_errors=True)
            raise
        (venv / MARKER).write_text(_pins_digest() + "\n")
        if log:
            print(
                f"localstack install: done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True
            )
    return venv / "bin" / "python"


def main() -> int:
    try:
        python = ensure_installed()
    except InstallError as exc:
        print(f"localstack install: cannot install: {exc}", file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
