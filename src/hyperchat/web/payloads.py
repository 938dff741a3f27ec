"""The one place that reads request input: path ids, query arguments, form and JSON bodies.

Each view declares what it takes (`takes_body`, `takes_json`, `takes_query`,
`takes_document`); one `before_request` hook reads and checks the request against that
declaration before the view runs, and the view reads the typed values with `body()`,
`query()` or `document()`. Anything wrong is a 400 naming the field, never a 500:

- a body that is not UTF-8, not JSON, a JSON value other than an object, JSON nested deeper
  than MAX_DEPTH, a number too long to read, NaN or Infinity;
- text the database would have to change (store/schema.py's `storable`): a NUL character
  or an unpaired surrogate such as the escape `\\ud800`, in any string of a JSON body (keys
  included), any form field or any query argument, declared or not;
- a declared field of the wrong type (`{"mode": ["solo"]}`), out of its range, or too long;
- an id beyond the 32-bit id columns in a query or a body. In a path, the `int` converter
  (IdConverter) matches only ids that can exist, so `/c/99999999999999999999` is a 404.

Unknown fields are ignored (a form carries what the page has), except where a view declares
`strict=True`. A repeated form field or query argument counts once: its last value (a
checkbox after its hidden default), except for a `Texts` field, which takes them all.

JSON endpoints declare their body and query as pydantic models instead (`takes_json(Model)`,
`takes_query(Model)`, `model()`, `query_model()`): the body is read as above (UTF-8, depth,
storable text, no NaN), then the model checks it whole, and a refusal is a 400 naming each
field (`FieldError`). The declaration is also quart-schema's, so /openapi.json documents the
model. The same strict reading is the app's JSON decoder (`StrictJSONProvider`), so a view
that declares its body with quart-schema's own `validate_request` gets it too.
"""

import asyncio
import json
import math
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic import Field as Constraint
from quart import Quart, current_app, g, request
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
    DataSource,
    RequestSchemaValidationError,
)
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, IntegerConverter

from hyperchat.store.schema import INT_MAX, SHARE_ID_LENGTH, unstorable
from hyperchat.web.errors import BadRequest, FieldError, render_error

MAX_DEPTH = 32  # our documents nest 3 levels deep; this only refuses abuse
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ALWAYS_ALLOWED = {"csrf_token"}  # read by web/security.py, sent in forms and some JSON
POSITION_MAX = 2**63 - 1  # a stream position (Last-Event-ID): a counter, not a column
THREAD_ABOVE = 64 * 1024  # bytes of JSON decoded in a thread rather than on the event loop


# ----------------------------------------------------------------------------- path


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id a 32-bit id column can hold (1 to INT_MAX). Any
    other number is a 404 saying so, raised here rather than a route that does not match:
    werkzeug would answer 405 when the same path has a route for another method."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1,
                 max: int | None = INT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)

    def to_python(self, value: str) -> int:
        # Length first: a 100,000-digit id is refused, not converted.
        if len(value) > len(str(self.max)) or not self.min <= int(value) <= self.max:
            raise NotFound(f"No such id: ids are whole numbers from {self.min} to {self.max}.")
        return int(value)


class ShareIdConverter(BaseConverter):
    """`<share:...>`: a share link's id, exactly as store/schema.py's new_share_id makes it."""

    regex = rf"[0-9A-Za-z]{{{SHARE_ID_LENGTH}}}"


# ----------------------------------------------------------------------------- fields


class Field:
    """A declared input. `read` turns the raw value (from JSON: any JSON value; from a form
    or query: a list of strings, never empty) into the typed value, or raises BadRequest."""

    nullable = True  # JSON null (a blank form value for numbers and ids) reads as None
    expected = "a value"  # for the error: "<name> must be <expected>."

    def read(self, name: str, value: Any, from_json: bool) -> Any:
        if from_json:
            if value is None:
                return self.null(name)
            return self.from_json(name, value)
        return self.from_text(name, value[-1])

    def null(self, name: str) -> None:
        if not self.nullable:
            raise BadRequest(f"{name} must be {self.expected}.")
        return None

    def from_json(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def from_text(self, name: str, text: str) -> Any:
        raise NotImplementedError


class Text(Field):
    """A string, at most `max_length` characters (the view checks emptiness and trims)."""

    expected = "a string"

    def __init__(self, max_length: int | None = None):
        self.max_length = max_length

    def from_json(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string.")
        return self.from_text(name, value)

    def from_text(self, name: str, text: str) -> str:
        if self.max_length is not None and len(text) > self.max_length:
            raise BadRequest(f"{name} must be at most {self.max_length:,} characters long.")
        return text


class Integer(Field):
    """A whole number from `low` to `high`: a JSON integer (not true/false, not 1.0) or its
    decimal digits."""

    nullable = False

    def __init__(self, low: int, high: int, *, what: str = "a whole number"):
        self.low, self.high = low, high
        self.expected = f"{what} from {low} to {high}"

    def from_json(self, name: str, value: Any) -> int:
        if type(value) is int:
            return self.checked(name, value)
        if isinstance(value, str):
            return self.from_text(name, value)
        raise BadRequest(f"{name} must be {self.expected}.")

    def from_text(self, name: str, text: str) -> int | None:
        text = text.strip()
        if not text and self.nullable:
            return None
        digits = text[1:] if text[:1] in "+-" else text
        # Bounded before int(): a 100,000-digit string is refused, not converted.
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
            raise BadRequest(f"{name} must be {self.expected}.")
        return self.checked(name, int(text))

    def checked(self, name: str, value: int) -> int:
        if not self.low <= value <= self.high:
            raise BadRequest(f"{name} must be {self.expected}.")
        return value


class Id(Integer):
    """The id of a row: 1 to INT_MAX. Blank or null: none given."""

    nullable = True

    def __init__(self):
        super().__init__(1, INT_MAX, what="an id, a whole number")


class Number(Field):
    """A finite number from `low` to `high` (a JSON number or its text). Blank: none."""

    def __init__(self, low: float, high: float, *, message: str | None = None):
        self.low, self.high = low, high
        self.expected = f"a number from {low:g} to {high:g}"
        self.message = message

    def refuse(self, name: str):
        raise BadRequest(self.message or f"{name} must be {self.expected}.")

    def from_json(self, name: str, value: Any) -> float | None:
        if isinstance(value, str):
            return self.from_text(name, value)
        if type(value) not in (int, float):
            self.refuse(name)
        return self.checked(name, float(value))

    def from_text(self, name: str, text: str) -> float | None:
        text = text.strip()
        if not text:
            return None
        if len(text) > 40:
            self.refuse(name)
        try:
            return self.checked(name, float(text))
        except ValueError:
            self.refuse(name)

    def checked(self, name: str, value: float) -> float:
        if not math.isfinite(value) or not self.low <= value <= self.high:
            self.refuse(name)
        return value


class Flag(Field):
    """true or false; as text "true" or "false", and with `checkbox` also a checkbox's "on"
    (the page sends a hidden "off" before it), "1" or "0"."""

    nullable = False
    expected = "true or false"
    WORDS = {"true": True, "false": False}
    CHECKBOX = {**WORDS, "on": True, "1": True, "off": False, "0": False}

    def __init__(self, *, checkbox: bool = False):
        self.TEXT = self.CHECKBOX if checkbox else self.WORDS

    def from_json(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false.")
        return value

    def from_text(self, name: str, text: str) -> bool:
        if text not in self.TEXT:
            raise BadRequest(f"{name} must be true or false.")
        return self.TEXT[text]


class Choice(Field):
    """One of `options`; from JSON of the same type too (1.0 and true are not 1)."""

    nullable = False

    def __init__(self, *options: str | int):
        self.options = options
        *first, last = [str(o) for o in options]
        self.expected = f"{', '.join(first)} or {last}" if first else last

    def from_json(self, name: str, value: Any) -> str | int:
        for option in self.options:
            if type(value) is type(option) and value == option:
                return option
        raise BadRequest(f"{name} must be {self.expected}.")

    def from_text(self, name: str, text: str) -> str | int:
        for option in self.options:
            if text == str(option):
                return option
        raise BadRequest(f"{name} must be {self.expected}.")


class Texts(Field):
    """A list of strings: a JSON list (or one string), or a repeated form field."""

    nullable = False
    expected = "a list of strings"

    def __init__(self, max_items: int = 50, max_length: int = 200):
        self.item = Text(max_length)
        self.max_items = max_items

    def read(self, name: str, value: Any, from_json: bool) -> list[str]:
        if from_json:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadRequest(f"{name} must be a list of strings.")
        if len(value) > self.max_items:
            raise BadRequest(f"{name} can hold at most {self.max_items} items.")
        return [self.item.from_text(name, v) for v in value]


class Raw(Field):
    """Any JSON value as it is (its strings checked like every other), or a form's text."""

    def read(self, name: str, value: Any, from_json: bool) -> Any:
        return value if from_json else value[-1]


class Values(dict):
    """The declared fields a request sent, typed. Absent fields are not in it."""

    def getlist(self, name: str) -> list:
        return self.get(name, [])


class Spec:
    """What a view takes; attached to the view function by the `takes_*` decorators."""

    def __init__(self):
        self.body: dict[str, Field] = {}
        self.query: dict[str, Field] = {}
        self.json_only = False  # the body is JSON whatever its Content-Type
        self.document = False  # the body is a JSON object the domain checks field by field
        self.strict = False  # an unknown body field is an error
        self.model: type[BaseModel] | None = None  # the JSON body, as a pydantic model
        self.query_model: type[BaseModel] | None = None
        self.stream = False  # the view reads its body itself as it arrives (web/uploads.py)


def _spec(view: Callable) -> Spec:
    if "input_spec" not in view.__dict__:
        view.input_spec = Spec()
    return view.input_spec


def takes_body(*, strict: bool = False, **fields: Field):
    """Declare the fields a view reads from its body: a form, or JSON with the same names."""
    def declare(view):
        spec = _spec(view)
        spec.body.update(fields)
        spec.strict = strict
        return view
    return declare


def takes_json(model: type[BaseModel]):
    """Declare a JSON body (read as JSON whatever its Content-Type) as a pydantic model;
    the view reads it with `model()`. quart-schema documents it in /openapi.json."""
    def declare(view):
        spec = _spec(view)
        spec.json_only = True
        spec.model = model
        setattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE, (model, DataSource.JSON))
        return view
    return declare


def takes_document():
    """Declare a JSON object body that the domain validates as a whole (an import)."""
    def declare(view):
        spec = _spec(view)
        spec.json_only = spec.document = True
        return view
    return declare


def takes_stream():
    """Declare a view that reads its (multipart) body itself as it streams in, through
    web/uploads.py: no hook reads it first, and its CSRF token must come as a header."""
    def declare(view):
        _spec(view).stream = True
        return view
    return declare


def takes_query(model: type[BaseModel] | None = None, /, **fields: Field):
    """Declare the query arguments a view reads: fields (a page's), or a pydantic model (a
    JSON endpoint's, read with `query_model()` and documented in /openapi.json)."""
    def declare(view):
        if model is not None:
            _spec(view).query_model = model
            setattr(view, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, model)
        _spec(view).query.update(fields)
        return view
    return declare


def spec_of(endpoint: str | None, app: Quart | None = None) -> Spec:
    """The declaration of an endpoint's view (empty for a view that takes nothing)."""
    view = (app or current_app).view_functions.get(endpoint) if endpoint else None
    return getattr(view, "input_spec", None) or Spec()


def body() -> Values:
    return g.get("input_body") or Values()


def query() -> Values:
    return g.get("input_query") or Values()


def model() -> Any:
    """The body of a `takes_json(Model)` view, validated: an instance of its model."""
    return g.get("input_model")


def query_model() -> Any:
    """The query of a `takes_query(Model)` view, validated: an instance of its model."""
    return g.get("input_query_model")


def document() -> Any:
    """The JSON body of a `takes_document` view, as parsed (None for an empty body)."""
    return g.get("input_document")


def header(name: str, field: Field) -> Any:
    """A request header read as a field (a header is never JSON)."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    _check_text(raw, f"The {name} header")
    return field.read(name, [raw], from_json=False)


# ----------------------------------------------------------------------------- models


class Body(BaseModel):
    """A JSON body's model: JSON's own types, strictly (true is not 1, "1" is not 1);
    unknown fields ignored unless the model says `extra="forbid"`."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Query(BaseModel):
    """A query's model: arguments are text, read as the declared type ("2", "true")."""

    model_config = ConfigDict(extra="ignore")


# A row id a 32-bit id column can hold, for models (IdConverter's rule for paths).
RowId = Annotated[int, Constraint(ge=1, le=INT_MAX)]


def _true_or_false(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in Flag.WORDS:
        return Flag.WORDS[value]
    raise ValueError("must be true or false")


# A query's flag: exactly "true" or "false" (not "yes", "1" or blank, which pydantic's
# own bool would read).
TrueFalse = Annotated[bool, BeforeValidator(_true_or_false)]


def location(loc: tuple) -> str:
    """pydantic's error location as a client writes it: `messages[0].role`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# pydantic names the member of a union that failed in the location ("str",
# "list[ContentPart]"): it is not a place in the document the client wrote.
UNION_TAGS = {"str", "int", "float", "bool", "none", "dict", "list"}


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in UNION_TAGS or "[" in part
                                      or part.startswith(("constrained-", "function-")))


def field_error(error: ValidationError) -> FieldError:
    """A model's refusal as one 400 that names each field and says what it must be (the
    members of a union together: "a valid string or a valid list")."""
    said: dict[str, list[str]] = {}
    first = None
    for problem in error.errors(include_url=False):
        where = location(tuple(p for p in problem["loc"] if not _is_union_tag(p)))
        first = first or where
        if problem["type"] == "extra_forbidden":
            where, text = "", f"Unknown field: {where} (not one this takes)"
        elif problem["type"] == "missing":
            text = "is required"
        else:
            text = problem["msg"][0].lower() + problem["msg"][1:]
        if text not in said.setdefault(where, []):
            said[where].append(text)
    problems = []
    for where, texts in said.items():
        merged = " or ".join(t.removeprefix("input should be ") if n else t
                             for n, t in enumerate(texts))
        joint = " " if merged.startswith("is ") else ": "
        problems.append(f"{where}{joint}{merged}" if where else merged)
    message = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)"
                                         if len(problems) > 5 else "")
    return FieldError(message.rstrip(".") + ".", field=first)


def validated(model: type[BaseModel], value: Any) -> Any:
    """`value` (parsed and checked JSON, or the query's text) as an instance of `model`."""
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise field_error(error) from None


class StrictJSONProvider:
    """Mixed into the app's JSON provider: `loads` reads as `parse_json` does."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


# ----------------------------------------------------------------------------- parsing


def _check_text(text: str, where: str) -> None:
    problem = unstorable(text)
    if problem is not None:
        raise BadRequest(f"{where} contains {problem}. Send text without it.")


def parse_json(raw: bytes | str) -> Any:
    """A JSON body, strictly: UTF-8, no NaN or Infinity, at most MAX_DEPTH levels, every
    string (keys included) storable as it is. BadRequest says what is wrong."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise BadRequest(f"The body is not valid UTF-8 (at byte {error.start}).") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).") \
            from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"The body is not valid JSON: {error.msg} (line {error.lineno}, "
                         f"column {error.colno}).") from None
    except ValueError:  # an integer of more than 4,300 digits
        raise BadRequest("The JSON holds a number too long to read.") from None
    _check_tree(value)
    return value


def _no_constant(name: str):
    raise BadRequest(f"The JSON holds {name}, which is not a number JSON allows.")


def _check_tree(value: Any) -> None:
    """Walk a parsed JSON value without recursion (it may be nested MAX_DEPTH deep)."""
    stack = [(value, 1, "the JSON")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, float) and not math.isfinite(item):
            raise BadRequest(f"{where} is a number too large to read.")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise BadRequest(f"The JSON is nested too deeply (at most {MAX_DEPTH} levels).")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, "A JSON key")
                    stack.append((child, depth + 1, f'"{key[:100]}"'))
            else:
                stack.extend((child, depth + 1, where) for child in item)


def _parse_form_text(encoded: str, what: str) -> list[tuple[str, str]]:
    """`a=1&b=2` to pairs, refusing percent-escapes that are not UTF-8 (which the usual
    parsers replace with U+FFFD without a word) and text that cannot be stored."""
    try:
        pairs = parse_qsl(encoded, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"The {what} is not valid UTF-8.") from None
    for name, value in pairs:
        _check_text(name, f"The {what}")
        _check_text(value, f'"{name[:100]}"')
    return pairs


def _multi(pairs) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _read(fields: dict[str, Field], given: dict[str, Any], from_json: bool,
          strict: bool) -> Values:
    if strict:
        unknown = sorted(set(given) - set(fields) - ALWAYS_ALLOWED)
        if unknown:
            raise BadRequest(f"Unknown field(s): {', '.join(u[:100] for u in unknown)}. "
                             f"This takes {', '.join(fields) or 'no fields'}.")
    return Values({name: field.read(name, given[name], from_json)
                   for name, field in fields.items() if name in given})


async def _read_body(spec: Spec) -> None:
    raw = await request.get_data()
    if spec.json_only or request.is_json:
        # A large document (an import) is decoded in a thread: it would hold the loop.
        payload = None if not raw.strip() else parse_json(raw) if len(raw) < THREAD_ABOVE \
            else await asyncio.to_thread(parse_json, raw)
        if spec.document:  # the domain says what a document must be
            g.input_document = payload
            return
        if payload is None and not raw.strip():
            payload = {}
        if not isinstance(payload, dict):
            raise BadRequest("Send a JSON object as the request body.")
        if spec.model is not None:
            g.input_model = validated(spec.model, payload)
            return
        g.input_body = _read(spec.body, payload, True, spec.strict)
        return
    # No body, or a kind no view reads: no fields.
    pairs = await form_pairs() if request.mimetype in FORM_TYPES else []
    g.input_body = _read(spec.body, _multi(pairs), False, spec.strict)


async def form_pairs() -> list[tuple[str, str]]:
    """The form's fields in order, read strictly once (the CSRF check reads its token here)."""
    if "input_form" in g:
        return g.input_form
    if request.mimetype == FORM_TYPES[0]:
        try:
            encoded = (await request.get_data()).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("The form is not valid UTF-8.") from None
        pairs = _parse_form_text(encoded, "form")
    else:
        # Not request.form: its parser answers an unreadable body with an empty form.
        parser = request.make_form_data_parser()
        parser.silent = False
        try:
            form, _files = await parser.parse(request.body, request.mimetype,
                                              request.content_length, request.mimetype_params)
        except ValueError:  # no boundary, a cut-off body, a part without a name
            raise BadRequest("The form could not be read (a malformed multipart body).") \
                from None
        pairs = list(form.items(multi=True))
        for name, value in pairs:
            _check_text(name, "The form")
            _check_text(value, f'"{name[:100]}"')
    g.input_form = pairs
    return pairs


async def read_request() -> None:
    """The hook: check the query and the body against the view's declaration."""
    try:
        query_text = request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The query string is not valid UTF-8.") from None
    spec = spec_of(request.url_rule.endpoint if request.url_rule else None)
    given = _multi(_parse_form_text(query_text, "query string"))
    g.input_query = _read(spec.query, given, False, False)
    if spec.query_model is not None:
        # The last of a repeated argument, as for fields.
        g.input_query_model = validated(spec.query_model,
                                        {name: values[-1] for name, values in given.items()})
    if request.method in BODY_METHODS and not spec.stream:
        await _read_body(spec)


def init_app(app: Quart) -> None:
    """Install the converters (before any blueprint adds a route) and the hook (after the
    CSRF check: a forged request is refused as such, whatever its body). web/openapi.py
    makes StrictJSONProvider the app's JSON decoder."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["share"] = ShareIdConverter
    app.before_request(read_request)

    @app.errorhandler(RequestSchemaValidationError)
    async def _schema_error(error: RequestSchemaValidationError):
        # quart-schema's own validate_request: the same 400 naming the field as ours.
        cause = error.validation_error
        refused = field_error(cause) if isinstance(cause, ValidationError) \
            else BadRequest(f"The request could not be read: {cause}.")
        return await render_error(refused)
