"""plotly.js for the served dashboard: the cartesian build, fetched once by ``./dev setup``.

The dashboard draws only scatter, bar and heatmap traces; plotly.js's cartesian bundle has
those in 1.5 MB of JavaScript, against 4.6 MB for the full ``plotly.min.js`` that Python plotly
ships (and 5 MB for its widget bundle). ``./dev setup`` runs ``python -m
evidence.serving.plotlyjs``, which downloads the npm tarball once into the venv
(``<venv>/share/evidence/``), checks its sha512 integrity (the one npm publishes) and the
version in the file's header, and writes it atomically. :func:`choose` is what ``evidence
serve`` serves: that file when it is there and of the installed plotly's plotly.js version,
else the installed plotly's full ``plotly.min.js`` (with a one-line note saying so).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

#: The plotly.js version Python plotly 7.1.0 ships (its package_data/plotly.min.js header).
VERSION = "4.1.1"
PACKAGE = "plotly.js-cartesian-dist-min"
URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
#: The tarball's integrity as the npm registry publishes it (dist.integrity).
INTEGRITY = (
    "sha512-o8GrFeusncwBIxbBynRJpY4pkgVB6caM+JLpwrLYbbsO7dZ8FJ+SVN2Fr+L7kiG/"
    "Z6w4P5O0Jus/Qr5EefHVeg=="
)
MEMBER = "package/plotly-cartesian.min.js"
FILE_NAME = f"plotly-cartesian-{VERSION}.min.js"
#: The tarball is 0.5 MB; anything far bigger is not it.
MAX_BYTES = 20_000_000


class FetchError(RuntimeError):
    """The bundle could not be fetched or is not the one expected (the message says why)."""


def cached_path(prefix: Path | None = None) -> Path:
    """Where ``./dev setup`` puts the cartesian bundle: inside the venv (``sys.prefix``)."""
    return Path(prefix if prefix is not None else sys.prefix) / "share" / "evidence" / FILE_NAME


def full_bundle() -> Path:
    """The installed plotly's own full plotly.js (the fallback)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def header_version(path: Path) -> str | None:
    """The plotly.js version named in a bundle's header comment (``* plotly.js ... v4.1.1``)."""
    try:
        with open(path, "rb") as f:
            head = f.read(400).decode("utf-8", "replace")
    except OSError:
        return None
    match = re.search(r"plotly\.js\b[^\n]*?\bv(\d+\.\d+\.\d+)", head)
    return match.group(1) if match else None


def _integrity(blob: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(blob).digest()).decode("ascii")


def extract(blob: bytes) -> bytes:
    """The bundle from the npm tarball ``blob``, after checking the tarball's integrity."""
    if _integrity(blob) != INTEGRITY:
        raise FetchError(f"{URL}: sha512 integrity mismatch (not the published tarball)")
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise FetchError(f"{URL}: no {MEMBER} in the tarball")
        return member.read()


def fetch(dest: Path | None = None, url: str = URL) -> tuple[Path, bool]:
    """Download the cartesian bundle to ``dest`` (default :func:`cached_path`) unless it is
    already there; returns the path and whether it was downloaded. Written atomically (a
    temporary file in the same folder, then renamed): never a half-written bundle."""
    dest = dest if dest is not None else cached_path()
    if dest.is_file() and header_version(dest) == VERSION:
        return dest, False
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            blob = response.read(MAX_BYTES + 1)
    except OSError as exc:
        raise FetchError(f"{url}: {exc}") from None
    if len(blob) > MAX_BYTES:
        raise FetchError(f"{url}: larger than {MAX_BYTES} bytes")
    body = extract(blob)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".plotly-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        if header_version(Path(tmp)) != VERSION:
            raise FetchError(f"{url}: {MEMBER} does not say plotly.js v{VERSION} in its header")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; it is a public library
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest, True


def choose(cached: Path | None = None) -> tuple[Path, str]:
    """The plotly.js to serve, and a note when it is the fallback ("" otherwise): the cartesian
    bundle when present and of the same plotly.js version as the installed plotly's; else the
    installed plotly's full plotly.min.js."""
    cached = cached if cached is not None else cached_path()
    full = full_bundle()
    want = header_version(full)
    if not cached.is_file():
        return full, (
            f"no {cached} (run ./dev setup): serving plotly's full plotly.min.js "
            f"({full.stat().st_size // 1000} kB) instead of the cartesian bundle"
        )
    got = header_version(cached)
    if got != want:
        return full, (
            f"{cached} is plotly.js {got}, the installed plotly has {want}: serving plotly's "
            "full plotly.min.js instead"
        )
    return cached, ""


def main() -> int:  # python -m evidence.serving.plotlyjs (./dev setup)
    try:
        path, fetched = fetch()
    except (FetchError, OSError, tarfile.TarError) as exc:
        print(f"plotlyjs: {exc}", file=sys.stderr)
        return 1
    if fetched:
        print(f"plotlyjs: fetched plotly.js {VERSION} (cartesian) into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
