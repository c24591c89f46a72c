"""Vocabularies and field specs of the appraisal tables (claims, risk of bias, GRADE overrides).

The specs reuse :class:`evidence.schema.FieldSpec` so that a problem in ``data/claims.csv``
prints exactly like one in ``data/outcomes.csv`` (file, line, citekey, field, expected). Rules
that span rows or need the registry live in the modules that own each table.
"""

from __future__ import annotations

from pathlib import Path

from evidence import vocab
from evidence.dataset import BIB_FILE, Table, read_table
from evidence.registry import Registry
from evidence.schema import FieldSpec, Problem, TableSpec
from evidence.storage import UnreadableFile
from evidence.vocab import DEFAULT_GROUPS, MAIN_OUTCOMES

# Risk-of-bias tools and judgements are evidence.vocab's (aliases keep the names importable here).
ROB2 = vocab.ROB2
ROBINS_I = vocab.ROBINS_I
NO_TOOL = vocab.NO_TOOL
TOOLS = vocab.TOOLS
NO_INFORMATION = vocab.NO_INFORMATION
NOT_APPLICABLE = vocab.NOT_APPLICABLE
JUDGEMENTS = vocab.JUDGEMENTS
ALL_JUDGEMENTS = vocab.ALL_JUDGEMENTS
TOOL_FOR_DESIGN = vocab.TOOL_FOR_DESIGN

# --- claims audit -------------------------------------------------------------------------------

VERDICTS = ("supports", "partly supports", "does not support", "contradicts", "unverifiable")
#: What kind of statement a claim is; exactly one claim is the article's central claim.
TOPICS = ("headline", "background", "efficacy", "safety", "mechanism", "central")
#: Where a judgement was read. ``none`` only goes with "no information".
BASES = (
    "abstract",
    "full text",
    "registry",
    "review table",
    "seed article",
    "dataset",
    "none",
)
SEED_REFS = ("1", "2", "3", "4", "5", "6")

# --- risk of bias (tools, judgements: evidence.vocab) ---------------------------------------------

#: Domains of each tool, with the tools' own names.
DOMAINS: dict[str, dict[str, str]] = {
    ROB2: {
        "D1": "Randomisation process",
        "D2": "Deviations from intended interventions",
        "D3": "Missing outcome data",
        "D4": "Measurement of the outcome",
        "D5": "Selection of the reported result",
        "overall": "Overall",
    },
    ROBINS_I: {
        "D1": "Confounding",
        "D2": "Selection of participants",
        "D3": "Classification of interventions",
        "D4": "Deviations from intended interventions",
        "D5": "Missing data",
        "D6": "Measurement of outcomes",
        "D7": "Selection of the reported result",
        "overall": "Overall",
    },
    NO_TOOL: {"overall": "Overall"},
}
ALL_DOMAINS = ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "overall")


# --- GRADE --------------------------------------------------------------------------------------

GRADE_OUTCOMES = MAIN_OUTCOMES
GRADE_GROUPS = DEFAULT_GROUPS
GRADE_EFFECTS = ("control", "change")
#: Steps an author may override, and the ratings each takes (GRADEpro's words).
DOWN_RATINGS = ("not serious", "serious", "very serious")
UP_RATINGS = ("none", "one level", "two levels")
GRADE_STEPS: dict[str, tuple[str, ...]] = {
    "risk_of_bias": DOWN_RATINGS,
    "inconsistency": DOWN_RATINGS,
    "indirectness": DOWN_RATINGS,
    "imprecision": DOWN_RATINGS,
    "publication_bias": DOWN_RATINGS,
    "upgrade": UP_RATINGS,
}
CERTAINTIES = ("high", "moderate", "low", "very low")
NO_EVIDENCE = "no evidence"

# --- field specs --------------------------------------------------------------------------------


def _spec(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {s.name: s for s in specs}


CLAIMS = _spec(
    FieldSpec("claim_id", required=True, description="short id, unique in the file, e.g. C3a"),
    FieldSpec("topic", "vocab", True, TOPICS),
    FieldSpec("claim", required=True, description="the article's claim, paraphrased in English"),
    FieldSpec("seed_ref", "vocab", False, SEED_REFS, description="the article's reference number"),
    FieldSpec("cites", description="citekey of the cited work (blank when nothing is cited)"),
    FieldSpec("reports", required=True, description="what the cited work actually reports"),
    FieldSpec("verdict", "vocab", True, VERDICTS),
    FieldSpec("reason", required=True, description="one line: why this verdict"),
    FieldSpec("basis", "vocab_list", True, BASES, description="what was read for the verdict"),
    FieldSpec("source", required=True, description="where it was read (URL or file)"),
)

ROB = _spec(
    FieldSpec("citekey", required=True),
    FieldSpec("tool", "vocab", True, TOOLS),
    FieldSpec("domain", "vocab", True, ALL_DOMAINS),
    FieldSpec("judgement", "vocab", True, ALL_JUDGEMENTS),
    FieldSpec("rationale", required=True, description="short paraphrase: why this judgement"),
    FieldSpec("basis", "vocab_list", True, BASES),
    FieldSpec("source", required=True, description="URL(s) of what was read, ';'-separated"),
)

GRADE = _spec(
    FieldSpec("outcome", "vocab", True, GRADE_OUTCOMES),
    FieldSpec("group", "vocab", True, GRADE_GROUPS),
    FieldSpec("effect", "vocab", True, GRADE_EFFECTS),
    FieldSpec("step", "vocab", True, tuple(GRADE_STEPS)),
    FieldSpec("rating", required=True, description="the rating that replaces the rule's"),
    FieldSpec("reason", required=True, description="why the author departs from the rule"),
    FieldSpec("source", description="what the reason rests on (URL or file)"),
)

# Optional: a dataset without appraisal files (e.g. a test fixture) is still valid.
CLAIMS_TABLE = TableSpec("data/claims.csv", CLAIMS, optional=True)
ROB_TABLE = TableSpec("data/rob.csv", ROB, optional=True)
GRADE_TABLE = TableSpec("data/grade.csv", GRADE, optional=True)


# --- reading ------------------------------------------------------------------------------------


def read(
    root: Path, spec: TableSpec, key_column: str | None = "citekey"
) -> tuple[Table, list[Problem]]:
    """Read one appraisal table and check every field against its spec.

    Returns the table (absent and empty when an optional file does not exist) and the problems.
    An unreadable file (not UTF-8) becomes a problem rather than an exception. ``key_column``
    names the column whose value a problem reports as its citekey.
    """
    try:
        table, problems = read_table(root, spec)
    except UnreadableFile as exc:
        return Table(spec, spec.path, (), (), present=False), [
            Problem(spec.path, exc.line, None, None, f"cannot read: {exc.reason}", "a UTF-8 file")
        ]
    missing = {name for name in spec.columns if name not in table.columns}
    for row in table.rows:
        for name, field_spec in spec.columns.items():
            if name in missing:
                continue
            for message, expected in field_spec.check(row[name]):
                key = row[key_column] if key_column else ""
                problems.append(
                    Problem(table.display, row.line, key or None, name, message, expected)
                )
    return table, problems


def unknown_citekey(file: str, line: int, key: str, field: str, registry: Registry) -> Problem:
    """A row naming a citekey the registry does not have, with the closest key as a hint."""
    import difflib  # only on this error path

    close = difflib.get_close_matches(key, registry.keys, n=1, cutoff=0.8)
    hint = f"a citekey of {BIB_FILE}" + (f" (did you mean {close[0]!r}?)" if close else "")
    return Problem(file, line, key, field, f"no entry {key!r} in {BIB_FILE}", hint)
