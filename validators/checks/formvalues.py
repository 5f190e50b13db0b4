"""What the data walk types into a field, and which fields and forms it leaves alone.

Values are what a person trying the app would type: read from the field's type, then its name, label,
placeholder and autocomplete token ("Buy milk" for a new todo, an e-mail address for an e-mail field, a number
inside min/max on the step). Fields that look like passwords or payment data are never typed into, and a form
holding one is not submitted; neither is a form whose submission would leave the app's origin or open another
window.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from runshot.validators.browser.pages import same_origin

# Words (of a field's name, id, label, placeholder or autocomplete) that mark secrets and payment data.
SENSITIVE_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passcode", "passphrase", "pin", "cvv", "cvc", "csc", "cvn", "iban",
    "card", "cardnumber", "ccnum", "ccnumber", "creditcard", "ssn", "otp", "expiry", "expiration", "bic", "swift",
})
SENSITIVE_PHRASES = ("security code", "card number", "credit card", "account number", "routing number",
                     "sort code", "one time code")
SENSITIVE_AUTOCOMPLETE = ("cc-", "current-password", "new-password", "one-time-code", "transaction-")
TODAY = dt.date(2026, 6, 15)  # dates are fixed so a run types the same as the last one

# (words in the field's description, value for the first entry, value for the second)
_TEXT_VALUES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("todo", "task", "needs to be done", "to do", "new item", "add item", "chore"), "Buy milk", "Walk the dog"),
    (("email", "e-mail"), "alex.morgan@example.com", "sam.lee@example.com"),
    (("url", "website", "homepage", "link"), "https://example.com/", "https://example.org/"),
    (("phone", "tel", "mobile"), "555-0100", "555-0199"),
    (("given-name", "first name", "firstname", "fname", "forename"), "Alex", "Sam"),
    (("family-name", "last name", "lastname", "lname", "surname"), "Morgan", "Lee"),
    (("username", "user name", "nickname", "handle"), "alexm", "saml"),
    (("company", "organization", "organisation", "business"), "Acme Ltd", "Globex"),
    (("street", "address"), "12 High Street", "4 Mill Lane"),
    (("city", "town"), "Springfield", "Riverton"),
    (("zip", "postal", "postcode"), "12345", "54321"),
    (("country",), "Canada", "Ireland"),
    (("subject", "title", "headline"), "Hello", "A question"),
    (("message", "comment", "note", "description", "feedback", "question", "details", "bio", "body"),
     "Hello, this is a short test message.", "A second short message."),
    (("search", "filter", "query", "find", "keyword", "lookup"), "", ""),  # the page's own word (see `value_for`)
    (("name", "full name"), "Alex Morgan", "Sam Lee"),
    (("location", "destination"), "Springfield", "Riverton"),
    (("tag", "label", "category"), "errands", "home"),
)
_BY_TYPE = {kind: next(row for row in _TEXT_VALUES if hint in row[0])
            for kind, hint in (("email", "email"), ("url", "url"), ("tel", "phone"))}
_MESSAGE = next(row for row in _TEXT_VALUES if "message" in row[0])
_NUMBER_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("age",), "30"),
    (("year",), "2026"),
    (("tip", "percent", "rate", "%"), "15"),
    (("price", "amount", "bill", "total", "cost", "salary", "budget", "income", "loan", "deposit"), "42.5"),
    (("people", "guests", "party", "persons", "quantity", "qty", "count", "seats", "tickets", "adults", "nights"),
     "2"),
)


@dataclass(frozen=True)
class Entry:
    """One field to set: its selector, its description for messages, and the value (checkboxes: "on")."""

    sel: str
    name: str
    value: str
    how: str  # "fill", "select" or "check"


def words_of(text: str) -> list[str]:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def _about(field: dict) -> str:
    """Everything that says what a field is for, lowercased, as words."""
    parts = [field.get(k) or "" for k in ("name", "id", "label", "placeholder", "autocomplete")]
    return " ".join(" ".join(words_of(p)) for p in parts)


def sensitive(field: dict) -> bool:
    """Whether the field looks like a password or payment data (never typed into)."""
    if field.get("type") == "password":
        return True
    tokens = (field.get("autocomplete") or "").lower().split()
    if any(t.startswith(SENSITIVE_AUTOCOMPLETE) for t in tokens):
        return True
    about = _about(field)
    if SENSITIVE_WORDS & set(about.split()):
        return True
    return any(p in about for p in SENSITIVE_PHRASES)


def field_name(field: dict) -> str:
    """How the field is named in messages: its accessible name, else its placeholder, name or id."""
    for key in ("label", "placeholder", "name", "id"):
        text = " ".join((field.get(key) or "").split())
        if text:
            return shorten(text)
    return f"{field.get('type') or 'text'} field"


def shorten(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters at most, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def leaves_origin(target: dict, origin: str) -> bool:
    """Whether submitting the form would send it elsewhere than the app's origin (javascript: counts too)."""
    if target.get("kind") != "form" or (target.get("method") or "").lower() == "dialog":
        return False
    action = target.get("action") or ""
    scheme = urlsplit(action).scheme.lower()
    return scheme not in ("http", "https") or not same_origin(action, origin)


def skip_reason(target: dict, origin: str) -> str:
    """Why the walk leaves this form or input alone ("" when it does not)."""
    if any(sensitive(f) for f in target.get("fields") or []):
        return "it has a password or payment field"
    if leaves_origin(target, origin):
        return f"it submits to {target.get('action') or 'another origin'}, outside the app"
    if target.get("kind") == "form" and (target.get("target") or "").lower() not in ("", "_self"):
        return "it submits into another window"
    return ""


def _matches(about: str, hints: tuple[str, ...]) -> bool:
    padded = f" {about} "
    return any(f" {h} " in padded or (len(h) > 4 and h in about) for h in hints)


def _decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def number_value(field: dict) -> str:
    """A plausible number inside [min, max] on the step (from `min`, or 0, as the form would validate it)."""
    low, high = _decimal(field.get("min")), _decimal(field.get("max"))
    step_text = (field.get("step") or "").strip().lower()
    step = None if step_text == "any" else (_decimal(step_text) or Decimal(1))
    if step is not None and step <= 0:
        step = Decimal(1)
    about = _about(field)
    wanted = next((Decimal(v) for hints, v in _NUMBER_HINTS if _matches(about, hints)), Decimal(2))
    if low is not None and high is not None and not (low <= wanted <= high):
        wanted = (low + high) / 2
    elif low is not None and wanted < low:
        wanted = low
    elif high is not None and wanted > high:
        wanted = high
    if step is not None:
        base = low if low is not None else Decimal(0)
        n = ((wanted - base) / step).to_integral_value()
        wanted = base + n * step
        if high is not None and wanted > high:
            wanted -= step
        if low is not None and wanted < low:
            wanted += step
    text = format(wanted.normalize(), "f")
    return text.removesuffix(".0")


def _date_value(kind: str, field: dict) -> str:
    day = TODAY + dt.timedelta(days=7)
    low = _parse_date(field.get("min"))
    high = _parse_date(field.get("max"))
    if low and day < low:
        day = low
    if high and day > high:
        day = high
    if kind == "month":
        return day.strftime("%Y-%m")
    if kind == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "datetime-local":
        return day.isoformat() + "T12:30"
    return day.isoformat()


def _parse_date(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except (TypeError, ValueError):
        return None


def _time_value(field: dict) -> str:
    low, high = (field.get("min") or "")[:5], (field.get("max") or "")[:5]
    value = "12:30"
    if low and value < low:
        value = low
    if high and value > high:
        value = high
    return value


def text_value(field: dict, round_no: int, word: str) -> str:
    kind = field.get("type") or "text"
    about = _about(field)
    if kind in _BY_TYPE:
        return _BY_TYPE[kind][1 + round_no]
    if kind == "search":
        return word or "tea"
    for hints, first, second in _TEXT_VALUES:
        if _matches(about, hints):
            if not first:
                return word or "tea"
            return first if round_no == 0 else second
    if field.get("tag") == "textarea":
        return _MESSAGE[1 + round_no]
    return "Buy milk" if round_no == 0 else "Walk the dog"


def value_for(field: dict, round_no: int = 0, word: str = "") -> str | None:
    """What to type into a text-like field on the `round_no`-th entry (0 or 1); None: leave it alone."""
    if sensitive(field):
        return None
    kind = field.get("type") or "text"
    if kind in ("number", "range"):
        value = number_value(field)
    elif kind in ("date", "month", "week", "datetime-local"):
        value = _date_value(kind, field)
    elif kind == "time":
        value = _time_value(field)
    else:
        value = text_value(field, round_no, word)
    limit = field.get("maxlength")
    return value[:limit] if isinstance(limit, int) and limit > 0 else value


def entries_for(target: dict, round_no: int, word: str) -> list[Entry]:
    """Every field of a form or input to set, in order: text-like fields get a value; a required checkbox is
    ticked; a select with nothing chosen gets its first real option. A value the page put in a field (a date,
    an amount) stays while other fields are empty; when every field has one, each gets a new value, as a person
    trying a calculator would type their own."""
    out: list[Entry] = []
    radios_done: set[str] = set()
    fields = [f for f in target.get("fields") or [] if f.get("usable") and not sensitive(f)]
    keep = round_no == 0 and any(f.get("textual") and not f.get("value") for f in fields)
    for f in fields:
        kind, name = f.get("type"), field_name(f)
        if f.get("textual"):
            if keep and f.get("value"):
                continue
            value = value_for(f, round_no, word)
            if value:
                out.append(Entry(f["sel"], name, value, "fill"))
        elif f.get("tag") == "select" and not f.get("value"):
            choice = next((o for o in f.get("options") or [] if o), None)
            if choice is not None:
                out.append(Entry(f["sel"], name, choice, "select"))
        elif kind == "checkbox" and f.get("required") and not f.get("checked"):
            out.append(Entry(f["sel"], name, "on", "check"))
        elif kind == "radio" and f.get("required") and f.get("name") and f["name"] not in radios_done:
            radios_done.add(f["name"])
            if not any(g.get("checked") for g in target["fields"] if g.get("name") == f["name"]):
                out.append(Entry(f["sel"], name, "on", "check"))
    return out
