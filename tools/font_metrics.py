"""Writes src/evidence/figures/font_metrics.py: the advance width of every character the
figures may draw, in the fonts a browser uses for the figures' font family.

The figures ask for "Arial, Helvetica, sans-serif" (evidence.figures.style.FONT_FAMILY).
Liberation Sans (2.x, fonts-liberation2) has Arial's advance widths by design, and it is the font
Chromium draws for Arial on Debian (fonts-liberation comes with the chromium package); a
character Liberation Sans lacks (a few symbols of the legend) is drawn from DejaVu Sans.

Run it again only to add characters or fonts (no dependency: it reads the TrueType tables
itself):  python tools/font_metrics.py [--check]
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "evidence" / "figures" / "font_metrics.py"
FONTS = Path("/usr/share/fonts/truetype")
#: style -> fonts in the order a browser tries them (the first that has the glyph draws it).
STYLES = {
    "regular": ("liberation2/LiberationSans-Regular.ttf", "dejavu/DejaVuSans.ttf"),
    "bold": ("liberation2/LiberationSans-Bold.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    "italic": ("liberation2/LiberationSans-Italic.ttf", "dejavu/DejaVuSans-Oblique.ttf"),
    "bold-italic": (
        "liberation2/LiberationSans-BoldItalic.ttf",
        "dejavu/DejaVuSans-BoldOblique.ttf",
    ),
}
#: Latin (names of authors and places), Greek (tau, I squared), punctuation, arrows, maths
#: and the geometric shapes of the legends.
RANGES = (
    (0x20, 0x17F),
    (0x370, 0x3FF),
    (0x2000, 0x206F),
    (0x2190, 0x21FF),
    (0x2200, 0x22FF),
    (0x25A0, 0x25FF),
)
UNITS = 1000  # widths are stored in thousandths of an em, rounded up


class Font:
    """The advance widths of a TrueType font, by character (cmap format 4 or 12 + hmtx)."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        tables = {}
        (count,) = struct.unpack(">H", data[4:6])
        for i in range(count):
            tag, _, offset, length = struct.unpack(">4sIII", data[12 + 16 * i : 28 + 16 * i])
            tables[tag.decode("latin-1")] = (offset, length)
        head = tables["head"][0]
        (self.units_per_em,) = struct.unpack(">H", data[head + 18 : head + 20])
        hhea = tables["hhea"][0]
        (n_metrics,) = struct.unpack(">H", data[hhea + 34 : hhea + 36])
        hmtx = tables["hmtx"][0]
        self.advances = [
            struct.unpack(">H", data[hmtx + 4 * i : hmtx + 4 * i + 2])[0] for i in range(n_metrics)
        ]
        self.glyphs = _cmap(data, tables["cmap"][0])

    def width(self, char: str) -> int | None:
        """Advance width in thousandths of an em (rounded up), None without a glyph."""
        glyph = self.glyphs.get(ord(char))
        if not glyph:
            return None
        advance = self.advances[min(glyph, len(self.advances) - 1)]
        return -(-advance * UNITS // self.units_per_em)


def _cmap(data: bytes, cmap: int) -> dict[int, int]:
    (count,) = struct.unpack(">H", data[cmap + 2 : cmap + 4])
    subtables = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack(
            ">HHI", data[cmap + 4 + 8 * i : cmap + 12 + 8 * i]
        )
        subtables[(platform, encoding)] = cmap + offset
    if (3, 10) in subtables:
        return _format12(data, subtables[(3, 10)])
    return _format4(data, subtables[(3, 1)])


def _format4(data: bytes, at: int) -> dict[int, int]:
    assert struct.unpack(">H", data[at : at + 2])[0] == 4
    (seg2,) = struct.unpack(">H", data[at + 6 : at + 8])
    segs = seg2 // 2
    ends = struct.unpack(f">{segs}H", data[at + 14 : at + 14 + seg2])
    starts_at = at + 16 + seg2
    starts = struct.unpack(f">{segs}H", data[starts_at : starts_at + seg2])
    deltas = struct.unpack(f">{segs}h", data[starts_at + seg2 : starts_at + 2 * seg2])
    offsets_at = starts_at + 2 * seg2
    offsets = struct.unpack(f">{segs}H", data[offsets_at : offsets_at + seg2])
    out = {}
    for i in range(segs):
        for code in range(starts[i], ends[i] + 1):
            if code == 0xFFFF:
                continue
            if offsets[i] == 0:
                glyph = (code + deltas[i]) & 0xFFFF
            else:
                where = offsets_at + 2 * i + offsets[i] + 2 * (code - starts[i])
                (glyph,) = struct.unpack(">H", data[where : where + 2])
                glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            out[code] = glyph
    return out


def _format12(data: bytes, at: int) -> dict[int, int]:
    assert struct.unpack(">H", data[at : at + 2])[0] == 12
    (groups,) = struct.unpack(">I", data[at + 12 : at + 16])
    out = {}
    for i in range(groups):
        start, end, glyph = struct.unpack(">III", data[at + 16 + 12 * i : at + 28 + 12 * i])
        for code in range(start, end + 1):
            out[code] = glyph + code - start
    return out


def widths(style: str) -> dict[int, int]:
    fonts = [Font(FONTS / name) for name in STYLES[style]]
    out = {}
    for first, last in RANGES:
        for code in range(first, last + 1):
            for font in fonts:
                w = font.width(chr(code))
                if w is not None:
                    out[code] = w
                    break
    return out


def runs(table: dict[int, int]) -> list[tuple[int, str]]:
    """Contiguous code points as (first, "w w w ...") runs: a compact literal."""
    out: list[tuple[int, list[int]]] = []
    for code in sorted(table):
        if out and out[-1][0] + len(out[-1][1]) == code:
            out[-1][1].append(table[code])
        else:
            out.append((code, [table[code]]))
    return [(first, " ".join(map(str, ws))) for first, ws in out]


def source() -> str:
    lines = [
        '"""Advance widths of the characters the figures draw, in thousandths of an em (rounded',
        "up), per style: Liberation Sans (Arial's metrics; the font a browser draws for the",
        "figures' Arial), DejaVu Sans for a character it lacks. Generated by",
        "tools/font_metrics.py from the TrueType files; do not edit by hand.",
        '"""',
        "",
        "# fmt: off",
        "RUNS: dict[str, tuple[tuple[int, str], ...]] = {",
    ]
    for style in STYLES:
        lines.append(f'    "{style}": (')
        for first, text in runs(widths(style)):
            # split at spaces only: whole numbers per chunk
            chunks, rest = [], text
            while len(rest) > 80:
                cut = rest.rindex(" ", 0, 80) + 1
                chunks.append(rest[:cut])
                rest = rest[cut:]
            chunks.append(rest)
            body = "\n".join(f'            "{c}"' for c in chunks)
            lines.append(f"        (\n            0x{first:04X},\n{body},\n        ),")
        lines.append("    ),")
    lines += ["}", "# fmt: on", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = source()
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("font_metrics.py is up to date" if same else "font_metrics.py differs: regenerate")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
