"""The plotly.js that ``evidence serve`` serves (evidence.serving.plotlyjs): the cartesian
bundle fetched by ``./dev setup``, of the same plotly.js version as the installed plotly, else
plotly's own full plotly.min.js."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from evidence.serving import plotlyjs


def test_the_fetched_bundle_is_the_installed_plotly_s_plotly_js_version():
    # A plotly upgrade that ships another plotly.js fails here: update VERSION, URL, INTEGRITY.
    assert plotlyjs.header_version(plotlyjs.full_bundle()) == plotlyjs.VERSION
    cached = plotlyjs.cached_path()
    if cached.is_file():  # ./dev setup fetched it (without network it serves the full one)
        assert plotlyjs.header_version(cached) == plotlyjs.VERSION
        assert plotlyjs.choose() == (cached, "")


def test_choose_falls_back_to_plotly_s_own_bundle_and_says_so(tmp_path: Path):
    missing = tmp_path / plotlyjs.FILE_NAME
    path, note = plotlyjs.choose(missing)
    assert path == plotlyjs.full_bundle() and "./dev setup" in note and "full" in note
    other = tmp_path / "old.min.js"
    other.write_text("/**\n* plotly.js (cartesian - minified) v3.0.0\n*/\nvar Plotly;\n")
    path, note = plotlyjs.choose(other)
    assert path == plotlyjs.full_bundle() and "3.0.0" in note and plotlyjs.VERSION in note
    good = tmp_path / "good.min.js"
    shutil.copyfile(plotlyjs.full_bundle(), good)  # same header version
    assert plotlyjs.choose(good) == (good, "")


def _tarball(content: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo(plotlyjs.MEMBER)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_a_tarball_that_is_not_the_published_one_is_refused(tmp_path: Path):
    fake = tmp_path / "fake.tgz"
    fake.write_bytes(_tarball(b"/**\n* plotly.js v4.1.1\n*/\nalert(1)\n"))
    with pytest.raises(plotlyjs.FetchError, match="integrity"):
        plotlyjs.extract(fake.read_bytes())
    dest = tmp_path / "share" / plotlyjs.FILE_NAME
    with pytest.raises(plotlyjs.FetchError, match="integrity"):
        plotlyjs.fetch(dest, url=fake.as_uri())
    assert not dest.exists() and not any(tmp_path.rglob("*.tmp"))  # nothing half-written
    with pytest.raises(plotlyjs.FetchError):
        plotlyjs.fetch(dest, url=(tmp_path / "nowhere.tgz").as_uri())


def test_fetch_skips_a_bundle_already_there(tmp_path: Path):
    dest = tmp_path / plotlyjs.FILE_NAME
    shutil.copyfile(plotlyjs.full_bundle(), dest)
    # no download (the URL leads nowhere): the file is already the right version
    assert plotlyjs.fetch(dest, url=(tmp_path / "nowhere.tgz").as_uri()) == (dest, False)
