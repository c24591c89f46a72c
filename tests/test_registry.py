"""references.bib round trip: read -> pieces -> write gives back every byte.

Hypothesis generates bib files with comments, @string macros, @comment/@preamble blocks, unknown
fields, odd spacing, quoted and braced values, non-ASCII text and CRLF line endings.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.registry import (
    append_entry,
    parse_registry,
    read_registry,
    render,
    replace_entry,
    save,
)
from evidence.storage import UnreadableFile, write_atomic

from .conftest import FIXTURES, ROOT, examples

KEYS = st.from_regex(r"[a-z][a-z0-9_]{2,12}", fullmatch=True)
FIELD_NAMES = st.sampled_from(
    ["title", "author", "journal", "year", "doi", "design", "zz_custom", "note", "x-extra"]
)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='{}\\"@%#')
    | st.sampled_from(list(" äöüéç–—µ±")),
    min_size=0,
    max_size=30,
)
SPACE = st.sampled_from([" ", "", "  ", "\t"])
NEWLINE = st.sampled_from(["\n", "\r\n"])


@st.composite
def values(draw):
    text = draw(TEXT)
    kind = draw(st.sampled_from(["braced", "quoted", "number", "macro", "nested"]))
    if kind == "braced":
        return "{" + text + "}"
    if kind == "quoted":
        return '"' + text + '"'
    if kind == "number":
        return str(draw(st.integers(0, 3000)))
    if kind == "macro":
        return draw(st.sampled_from(["jn", "jan", "dec"]))
    return "{" + text + " {Inner " + text + "}}"


@st.composite
def entries(draw, key):
    nl = draw(NEWLINE)
    names = draw(st.lists(FIELD_NAMES, min_size=0, max_size=6, unique=True))
    indent = draw(st.sampled_from(["  ", "\t", "    ", ""]))
    fields = [f"{indent}{n}{draw(SPACE)}={draw(SPACE)}{draw(values())}" for n in names]
    trailing = draw(st.booleans())
    body = ("," + nl).join(fields) + ("," if trailing and fields else "")
    kind = draw(st.sampled_from(["article", "misc", "Article", "INPROCEEDINGS"]))
    return f"@{kind}{{{key}," + nl + body + nl + "}"


@st.composite
def bib_files(draw):
    nl = draw(NEWLINE)
    keys = draw(st.lists(KEYS, min_size=0, max_size=5, unique=True))
    blocks = []
    if draw(st.booleans()):
        blocks.append("% " + draw(TEXT))
    blocks.append("@string{jn = {Journal of " + draw(TEXT) + "}}")
    for key in keys:
        blocks.append(draw(entries(key)))
        if draw(st.booleans()):
            blocks.append(
                draw(
                    st.sampled_from(
                        ["@comment{a note}", "% between entries", '@preamble{"\\\\newcommand"}']
                    )
                )
            )
    gaps = [draw(st.sampled_from([nl, nl * 2, nl * 3, " " + nl])) for _ in blocks]
    text = "".join(block + gap for block, gap in zip(blocks, gaps, strict=True))
    if draw(st.booleans()):
        text = text.rstrip()  # no final newline
    return text, keys


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bib_files())
def test_round_trip_is_byte_identical(tmp_path_factory, generated):
    text, keys = generated
    path = tmp_path_factory.mktemp("bib") / "references.bib"
    path.write_bytes(text.encode("utf-8"))
    registry = read_registry(path)
    assert render(registry) == text
    assert [e.key for e in registry.entries] == keys
    save(registry)
    assert path.read_bytes() == text.encode("utf-8")


@settings(max_examples=examples(100), deadline=None)
@given(bib_files(), st.data())
def test_append_and_replace_touch_nothing_else(generated, data):
    text, keys = generated
    registry = parse_registry(text, ROOT / "x.bib", "x.bib")
    grown = append_entry(registry, "@article{zz_new_key,\n  title = {New},\n}\n")
    assert render(grown).startswith(text)
    assert grown.keys[-1] == "zz_new_key" and grown.keys[:-1] == registry.keys
    if keys:
        key = data.draw(st.sampled_from(keys))
        changed = replace_entry(registry, key, f"@article{{{key},\n  title = {{Changed}},\n}}")
        before = [p.text for p in registry.pieces if p.key != key]
        after = [p.text for p in changed.pieces if p.key != key]
        assert before == after
        assert dict(changed[key].fields) == {"title": "Changed"}


def test_bundled_and_fixture_files_round_trip(tmp_path):
    for source in (ROOT / "references.bib", FIXTURES / "valid" / "references.bib"):
        registry = read_registry(source)
        assert len(registry.pieces) > 1
        target = tmp_path / source.name
        save(registry, target)
        assert target.read_bytes() == source.read_bytes()


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "references.bib"
    path.write_text("@article{a1,\n  title = {Old},\n}\n", encoding="utf-8")
    registry = read_registry(path)
    grown = append_entry(registry, "@article{a2, title = {New}}")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("evidence.storage.os.replace", broken_replace)
    with pytest.raises(OSError):
        save(grown)
    assert path.read_text(encoding="utf-8") == "@article{a1,\n  title = {Old},\n}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["references.bib"]  # no temp file left


def test_atomic_write_keeps_the_mode_of_a_file_and_gives_new_files_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        existing = tmp_path / "references.bib"
        existing.write_text("x", encoding="utf-8")
        existing.chmod(0o640)
        write_atomic(existing, "y")
        assert stat.S_IMODE(existing.stat().st_mode) == 0o640
        new = tmp_path / "report.html"  # a report to share: not private like a temp file
        write_atomic(new, "z")
        assert stat.S_IMODE(new.stat().st_mode) == 0o640  # 0666 less the umask 027
        os.umask(0o022)
        newer = tmp_path / "rows.csv"
        write_atomic(newer, "z")
        assert stat.S_IMODE(newer.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_unreadable_files_name_the_line(tmp_path):
    path = tmp_path / "references.bib"
    path.write_bytes(b"@article{a,\n  title = {caf\xe9},\n}\n")  # latin-1, not UTF-8
    with pytest.raises(UnreadableFile, match=r"references.bib:2: cannot read: not valid UTF-8"):
        read_registry(path)
    with pytest.raises(UnreadableFile, match="no such file"):
        read_registry(tmp_path / "missing.bib")


def test_values_are_resolved_for_reading():
    text = (
        '@string{jn = {Hepatology}}\n@article{a, journal = jn # " Reports", year = 2020,\n'
        '  title = "A  {Big}\n   title", month = jan}\n'
    )
    (entry,) = parse_registry(text, ROOT / "x.bib", "x.bib").entries
    assert entry.fields == {
        "journal": "Hepatology Reports",
        "year": "2020",
        "title": "A {Big} title",
        "month": "jan",
    }
    assert string.ascii_letters  # keep the import honest
