"""The dashboard's view state and its URL query string.

Everything a link must reproduce (tab, outcome, effect type, window, estimator or the Bayesian
model with its prior scale and benefit threshold, CI method,
filters, groups, pre-post correlation, risk-of-bias filter, appraisal section, the study arm
whose record is open, ...) is one
frozen :class:`ViewState`: the analysis :class:`~evidence.analysis.question.Question` plus the
view's own fields, with one codec between URL parameter names and those fields (the URL names
are public: saved links use them). The query string and every widget value are **untrusted
input**: a crafted link or a crafted widget (comm) message can carry anything. Each value is
therefore checked against the allowed values that :mod:`evidence.compare`, :mod:`evidence.meta`
and :mod:`evidence.appraisal.rob` define, by plain membership or a strict number pattern;
nothing is evaluated, used as a path or echoed unescaped. An unknown value falls back to the
default and produces a notice the app shows.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from evidence.appraisal.rob import ROB_FILTERS
from evidence.bayesian import BAYES
from evidence.compare import (
    BINARY_MEASURES,
    COMPARED_GROUPS,
    CONFIDENCE_FILTERS,
    DESIGN_FILTERS,
    OUTCOME_LABELS,
    POOL_TESTS,
    POPULATION_FILTERS,
    WINDOWS,
    Question,
)
from evidence.meta import METHODS

TABS = ("studies", "compare", "robustness", "appraisal")
#: Sections of the Appraisal tab.
SECTIONS = ("claims", "rob", "certainty", "flow")
#: Risk-of-bias tools the Appraisal tab's plots can show (all, or one tool).
ROB_TOOLS = ("all", "rob2", "robins-i")
EFFECTS = ("change", "control")
SCOPES = ("all", *COMPARED_GROUPS)
CORR_MIN, CORR_MAX, CORR_STEP = 0.0, 0.95, 0.05
MAX_QUERY = 2000  # characters: a real link is a few hundred
MAX_FIELDS = 40
MAX_SHOWN = 40  # characters of a rejected value echoed in a notice
_CORR_PATTERN = re.compile(r"[+-]?(?:\d{1,2}(?:\.\d{1,4})?|\.\d{1,4})")
#: A positive number as a person types it (prior scale, benefit threshold): no signs, no
#: exponents, at most 6 digits each side of the point.
_NUMBER_PATTERN = re.compile(r"\d{1,6}(?:\.\d{0,6})?|\.\d{1,6}")
#: The statistical model: metafor's frequentist estimators, or the Bayesian model
#: (evidence.bayesian; the estimator dropdown's "Bayesian" choice sets it).
MODELS = ("frequentist", "bayes")
_CITEKEY_PATTERN = re.compile(r"[A-Za-z0-9_:.\-]{1,80}")
#: Between the citekey and the arm in a record's URL value: never in a citekey, and left as
#: it is by URL quoting (an unreserved character), so a link reads record=alpha2010_trial~MSC.
RECORD_SEP = "~"
MAX_ARM = 80

#: Allowed values of each enumerated field (the order is the order of the controls).
ALLOWED: dict[str, tuple[str, ...]] = {
    "tab": TABS,
    "outcome": tuple(OUTCOME_LABELS),
    "effect": EFFECTS,
    "window": tuple(WINDOWS),
    "estimator": tuple(METHODS),
    "model": MODELS,
    "test": tuple(POOL_TESTS),
    "design": tuple(DESIGN_FILTERS),
    "confidence": tuple(CONFIDENCE_FILTERS),
    "population": tuple(POPULATION_FILTERS),
    "measure": tuple(BINARY_MEASURES),
    "rob": tuple(ROB_FILTERS),
    "scope": SCOPES,
    "section": SECTIONS,
    "tool": ROB_TOOLS,
}


class InvalidValue(ValueError):
    """A value that is not allowed for a field (the message is safe to show, but escape it)."""


@dataclass(frozen=True)
class ViewState:
    """What the dashboard shows: the review's :class:`Question` and the view's own choices.

    The question keeps :class:`Question`'s field names; the view's own fields are named as their
    URL parameters. The URL codec below (:data:`QUESTION_PARAMS`) is the one place that renames.
    """

    question: Question = field(default_factory=Question)
    tab: str = "compare"
    estimator: str = "REML"  # the last frequentist estimator (kept while the model is Bayesian)
    model: str = "frequentist"
    prior: str = ""  # half-normal scale of tau; "" = the outcome's default
    threshold: str = ""  # benefit threshold (display units); "" = the outcome's default
    test: str = "z"
    rob: str = "all"  # a filter of the pooled studies, applied after the question's effects
    scope: str = "all"
    section: str = "claims"
    tool: str = "all"
    study: str = ""
    #: The study arm whose record the Compare view shows beside the plot: "citekey~arm"
    #: (a click on its square sets it); "" = none.
    record: str = ""

    def with_(self, **changes: Any) -> ViewState:
        return replace(self, **changes)

    @property
    def record_key(self) -> tuple[str, str] | None:
        """(citekey, arm) of the record shown, or None."""
        if not self.record:
            return None
        key, _, arm = self.record.partition(RECORD_SEP)
        return key, arm

    @property
    def prior_scale(self) -> float | None:
        """The reviewer's prior scale, or None for the outcome's default."""
        return float(self.prior) if self.prior else None

    @property
    def benefit_threshold(self) -> float | None:
        return float(self.threshold) if self.threshold else None


DEFAULT = ViewState()

# --- the URL codec: URL parameter names <-> the state's fields ---------------------------------

#: URL parameter -> Question field, for the parameters that set the question. The URL names are
#: public (saved links carry them), so they stay even where Question's name differs.
QUESTION_PARAMS: dict[str, str] = {
    "outcome": "outcome",
    "effect": "effect",
    "window": "window",
    "design": "design",
    "confidence": "confidence",
    "population": "population",
    "groups": "groups",
    "corr": "ri",
    "measure": "binary_measure",
}
#: Every URL parameter, in the order a link lists them (the others are ViewState's own fields).
PARAMS = (
    "tab",
    "outcome",
    "effect",
    "window",
    "estimator",
    "model",
    "prior",
    "threshold",
    "test",
    "design",
    "confidence",
    "population",
    "groups",
    "corr",
    "measure",
    "rob",
    "scope",
    "section",
    "tool",
    "study",
    "record",
)
if set(PARAMS) != set(QUESTION_PARAMS) | {f.name for f in fields(ViewState)} - {"question"}:
    raise AssertionError("PARAMS must name every field of the state once")  # pragma: no cover


def param(state: ViewState, name: str) -> Any:
    """The value of URL parameter ``name`` in ``state``."""
    if name in QUESTION_PARAMS:
        return getattr(state.question, QUESTION_PARAMS[name])
    return getattr(state, name)


def with_params(state: ViewState, **values: Any) -> ViewState:
    """``state`` with URL parameters set to (already validated) values."""
    asked = {QUESTION_PARAMS[k]: v for k, v in values.items() if k in QUESTION_PARAMS}
    own = {k: v for k, v in values.items() if k not in QUESTION_PARAMS}
    if asked:
        own["question"] = state.question.with_(**asked)
    return replace(state, **own)


def shown(value: object) -> str:
    """A rejected value as it may appear in a notice: truncated, repr-quoted (escape on output)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + "\u2026"
    return repr(text) if isinstance(value, str) else text


def _enum(name: str, value: object) -> str:
    allowed = ALLOWED[name]
    if isinstance(value, str):
        if value in allowed:
            return value
        by_lower = {a.lower(): a for a in allowed}
        match = by_lower.get(value.strip().lower())
        if match is not None:
            return match
    raise InvalidValue(f"{shown(value)} is not a valid {name}")


def _groups(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        # '+' in a query string decodes to a space: 'MSC HSC' is the combination 'MSC+HSC'.
        items: Iterable[object] = [v.strip().replace(" ", "+") for v in value.split(",")]
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise InvalidValue(f"{shown(value)} is not a list of cell groups")
    by_lower = {g.lower(): g for g in COMPARED_GROUPS}
    chosen: set[str] = set()
    for item in items:
        if not isinstance(item, str) or item.lower() not in by_lower:
            raise InvalidValue(f"{shown(item)} is not a cell group")
        chosen.add(by_lower[item.lower()])
    if not chosen:
        raise InvalidValue("no cell group selected")
    return tuple(g for g in COMPARED_GROUPS if g in chosen)


def _corr(value: object) -> float:
    if isinstance(value, bool):
        raise InvalidValue(f"{shown(value)} is not a correlation")
    if isinstance(value, str):
        if not _CORR_PATTERN.fullmatch(value.strip()):
            raise InvalidValue(f"{shown(value)} is not a correlation")
        number = float(value)
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise InvalidValue(f"{shown(value)} is not a correlation")
    if not math.isfinite(number) or not CORR_MIN <= number <= CORR_MAX:
        raise InvalidValue(f"{shown(value)} is not a correlation in [{CORR_MIN}, {CORR_MAX}]")
    return round(number, 2)


def _number(name: str, value: object, positive: bool) -> str:
    """'' (the default) or a plain non-negative number, kept as typed (canonical '%g')."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValue(f"{shown(value)} is not a number for {name}")
    text = value.strip() if isinstance(value, str) else repr(float(value))
    if text == "":
        return ""
    if not _NUMBER_PATTERN.fullmatch(text):
        raise InvalidValue(f"{shown(value)} is not a number for {name}")
    number = float(text)
    if not math.isfinite(number) or (positive and number <= 0):
        raise InvalidValue(f"{shown(value)} is not a positive number for {name}")
    return f"{number:g}"


def _study(value: object, studies: Collection[str]) -> str:
    if value == "":
        return ""
    if isinstance(value, str) and _CITEKEY_PATTERN.fullmatch(value) and value in studies:
        return value
    raise InvalidValue(f"{shown(value)} is not a study of the dataset")


def _record(value: object, records: Collection[str]) -> str:
    """'' or "citekey~arm" of a study arm of the dataset (``records`` holds them all).

    A click gives (citekey, arm); a link the joined text, where a typed '+' (in 'MSC+HSC')
    may have decoded to a space."""
    if value == "":
        return ""
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
    ):
        value = f"{value[0]}{RECORD_SEP}{value[1]}"
    if isinstance(value, str):
        key, sep, arm = value.partition(RECORD_SEP)
        if sep and _CITEKEY_PATTERN.fullmatch(key) and 0 < len(arm) <= MAX_ARM:
            for candidate in (value, f"{key}{sep}{arm.replace(' ', '+')}"):
                if candidate in records:
                    return candidate
    raise InvalidValue(f"{shown(value)} is not a study arm of the dataset (citekey~arm)")


def coerce(
    name: str, value: object, studies: Collection[str] = (), records: Collection[str] = ()
) -> Any:
    """The canonical value of field ``name``, or :class:`InvalidValue`.

    Used for query-string values (strings) and for every widget value that reaches a callback.
    ``studies`` are the citekeys a link may name, ``records`` the "citekey~arm" of their arms.
    """
    if name in ALLOWED:
        return _enum(name, value)
    if name == "groups":
        return _groups(value)
    if name == "corr":
        return _corr(value)
    if name == "study":
        return _study(value, studies)
    if name == "record":
        return _record(value, records)
    if name == "prior":
        return _number(name, value, positive=True)
    if name == "threshold":
        return _number(name, value, positive=False)
    raise InvalidValue(f"unknown setting {shown(name)}")


def update(
    state: ViewState,
    name: str,
    value: object,
    studies: Collection[str] = (),
    records: Collection[str] = (),
) -> tuple[ViewState, str]:
    """``state`` with ``name`` set to ``value`` if valid; else ``state`` and a notice.

    The estimator dropdown's "BAYES" choice switches the model and keeps the last frequentist
    estimator (the other views still use it); any other estimator switches back."""
    if name == "estimator" and value == BAYES:
        return state.with_(model="bayes"), ""
    try:
        if name == "estimator":
            return state.with_(estimator=coerce(name, value), model="frequentist"), ""
        return with_params(state, **{name: coerce(name, value, studies, records)}), ""
    except InvalidValue as exc:
        return state, f"Ignored a value for {name}: {exc}."


def parse_query(
    query: str | None, studies: Collection[str] = (), records: Collection[str] = ()
) -> tuple[ViewState, list[str]]:
    """The state a query string asks for, with a notice for each value that was not used.

    ``query`` may start with '?'. Unknown parameters and invalid values are ignored (the
    default is kept) with a notice; a parameter given twice keeps its first value.
    """
    notices: list[str] = []
    if not query:
        return DEFAULT, notices
    query = query.removeprefix("?")
    if len(query) > MAX_QUERY:
        return DEFAULT, [f"The link's settings are too long ({len(query)} characters): ignored."]
    try:
        pairs = parse_qsl(
            query, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="replace"
        )
    except ValueError:
        return DEFAULT, ["The link has too many settings: all were ignored."]
    values: dict[str, str] = {}
    for key, value in pairs:
        if key not in PARAMS:
            notices.append(f"Unknown setting {shown(key)} in the link: ignored.")
        elif key in values:
            notices.append(f"Setting {key!r} appears twice in the link: the first is used.")
        else:
            values[key] = value
    state = DEFAULT
    for key, value in values.items():
        try:
            state = with_params(state, **{key: coerce(key, value, studies, records)})
        except InvalidValue as exc:
            default = param(DEFAULT, key)
            if isinstance(default, tuple):
                default = ",".join(default)
            notices.append(
                f"Unknown value for {key} in the link ({exc}): showing the default"
                f" ({default if default != '' else 'none'})."
            )
    return state, notices


def to_query(state: ViewState) -> str:
    """The query string (without '?') of every setting that differs from the default."""
    pairs = []
    for name in PARAMS:
        value = param(state, name)
        if value == param(DEFAULT, name):
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, float):
            value = f"{value:g}"
        pairs.append((name, value))
    return urlencode(pairs, quote_via=quote, safe="," + RECORD_SEP)


# --- the page's query string in a Voila kernel ----------------------------------------------


def request_query_string(
    timeout: float | None = None, idle: Callable[[], bool] | None = None
) -> str:
    """The query string of the page this kernel serves ('' outside Voila).

    Voila gives a kernel the request's ``QUERY_STRING`` in its environment. A preheated kernel
    (started before anyone asked for the page) must first wait for the request: Voila 0.5
    sends the request info over the websocket ``<server>/voila/query/<kernel id>``. This is the
    protocol of ``voila.utils.wait_for_request``, reimplemented because importing ``voila.utils``
    pulls jupyter_server into every kernel (1.4 s and 60 MB measured here).

    ``idle``: work for the wait (evidence.app.prefetch), one short piece per call, called
    while no request has come; it returns False when it has nothing left to do, and must not
    raise. Only a preheated kernel waits, so only a preheated kernel calls it.
    """
    if os.environ.get("VOILA_PREHEAT", "False") != "False":
        _wait_for_request(timeout, idle)
    return os.environ.get("QUERY_STRING", "")


def _receive(socket: Any, timeout: float | None, idle: Callable[[], bool] | None) -> Any:
    """The socket's first message; ``idle()`` between polls until it has nothing left to do."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while idle is not None:
        try:
            return socket.recv(timeout=0)  # a message already here, or TimeoutError at once
        except TimeoutError:
            pass
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError
        if not idle():
            break
    return socket.recv(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))


def _wait_for_request(timeout: float | None, idle: Callable[[], bool] | None = None) -> None:
    kernel_id = os.environ.get("VOILA_KERNEL_ID")
    if not kernel_id:
        return
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    ip = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    port = os.environ.get("VOILA_APP_PORT", "8866")
    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    url = f"{protocol}://{ip}:{port}{base}voila/query/{kernel_id}"
    try:
        from websockets.sync.client import connect
    except ImportError:  # pragma: no cover - websockets comes with voila
        from voila.utils import wait_for_request

        wait_for_request()
        return
    try:
        with connect(url, open_timeout=10, max_size=2**20) as socket:
            message = _receive(socket, timeout, idle)
    except Exception:  # no server, closed socket, timeout: the defaults apply (with no notice)
        return
    try:
        info = json.loads(message)
    except ValueError:
        return
    if isinstance(info, dict):
        for key, value in info.items():
            if isinstance(key, str) and isinstance(value, str):
                os.environ[key] = value
