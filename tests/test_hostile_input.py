"""Hostile input, sent to every route of the app's URL map: each answer is a 4xx with a
readable error, and the database is left exactly as it was.

The routes, and the fields each one takes, come from the app itself (the URL map and the
declarations of web/payloads.py), so a new route or a new field is covered without a change
here. A route parameter this file has no value for fails loudly (PATH_VALUES)."""

import ast
import json
import math
from pathlib import Path
from urllib.parse import urlencode

import pytest
from tortoise import Tortoise

import hyperchat
from hyperchat import create_app
from hyperchat.accounts import api_keys
from hyperchat.store.schema import INT_MAX, Conversation, Message, User
from hyperchat.web import payloads
from hyperchat.web.errors import BadRequest
from tests.helpers import csrf, finished, send

# Built only to read its URL map (nothing is connected until its lifespan starts).
MAP_APP = create_app({"SECRET_KEY": "only-the-url-map", "DATABASE_URL": "sqlite://:memory:"})
RULES = sorted(MAP_APP.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
BODY_METHODS = sorted(payloads.BODY_METHODS)

GENERIC = ("The browser (or proxy) sent a request that this server could not understand.",
           "internal error")

# Whatever the route reads, these bodies are refused: the JSON cannot be read, or it holds
# text no database column takes, or it is not an object.
JSON_BODIES = {
    "invalid UTF-8": b'{"x": "\xff\xfe"}',
    "nested 200,000 deep": b"[" * 200_000,
    "nested 40 deep": b'{"a":' * 40 + b"1" + b"}" * 40,
    "not JSON": b"{not json",
    "NaN": b'{"x": NaN}',
    "Infinity": b'{"x": -Infinity}',
    "a float beyond range": b'{"x": 1E999999}',
    "5,000 digits": b'{"x": ' + b"9" * 5000 + b"}",
    "NUL": b'{"x": "a\\u0000b"}',
    "lone surrogate": b'{"x": "\\ud800"}',
    "lone low surrogate in a list": b'{"x": ["ok", "\\udfff"]}',
    "lone surrogate in a key": b'{"\\ud800": 1}',
}
NOT_AN_OBJECT = {"a list": b"[]", "a string": b'"text"', "a number": b"42"}
FORM_BODIES = {
    "NUL": b"x=a%00b",
    "NUL in a name": b"a%00b=1",
    "invalid UTF-8 escape": b"x=%FF",
    "raw invalid UTF-8": b"x=\xff",
    "overlong UTF-8": b"x=%C0%AE",
    "encoded surrogate": b"x=%ED%A0%80",
}
QUERIES = {"NUL": "x=a%00b", "invalid UTF-8": "x=%FF", "an encoded surrogate": "x=%ED%A0%80"}
OUT_OF_RANGE_IDS = [0, INT_MAX + 1, 2**63, 10**20]


def hostile_json(field: payloads.Field) -> list:
    """JSON values of the wrong type or beyond the range of a declared field."""
    match field:
        case payloads.Raw():
            return []  # any JSON value; what the body corpus sends still applies
        case payloads.Texts():
            return [5, [1], {"a": 1}, [["nested"]], ["x"] * (field.max_items + 1),
                    ["x" * (field.item.max_length + 1)]]
        case payloads.Text():
            values = [5, 1.5, True, ["x"], {"a": "x"}]
            return values + (["x" * (field.max_length + 1)] if field.max_length else [])
        case payloads.Integer():
            values = ["abc", "1.5", 1.5, True, [1], {"a": 1}, field.low - 1, field.high + 1,
                      2**63, 10**20, "9" * 30, "1e3"]
            return values + ([] if field.nullable else [None])
        case payloads.Number():
            return ["abc", True, [1], {"a": 1}, field.high + 1, field.low - 1, "nan", "inf",
                    "1e999"]
        case payloads.Flag():
            return ["true", 1, 0, None, [True], {"a": True}]
        case payloads.Choice():
            wrong = [["x"], {"a": 1}, None, "not-an-option"]
            if any(isinstance(o, int) for o in field.options):
                wrong += [True, 1.0, "1", 99]
            return wrong
    raise AssertionError(f"no hostile values for {type(field).__name__}: add them here")


def hostile_text(field: payloads.Field) -> list[str]:
    """Form and query values (always text) a declared field refuses."""
    match field:
        case payloads.Raw():
            return []
        case payloads.Texts():
            return []  # any text is an item; too many items is checked below
        case payloads.Text():
            return ["x" * (field.max_length + 1)] if field.max_length else []
        case payloads.Integer():
            return ["abc", "1.5", "0x10", str(field.low - 1), str(field.high + 1), "9" * 30,
                    "١٢"]
        case payloads.Number():
            return ["abc", str(field.high + 1), str(field.low - 1), "nan", "inf", "1e999"]
        case payloads.Flag():
            return ["maybe", "yes"]
        case payloads.Choice():
            return ["not-an-option"]
    raise AssertionError(f"no hostile text for {type(field).__name__}: add it here")


JSON_TYPES = {"integer": 5, "number": 1.5, "boolean": True, "string": "x", "array": ["x"],
              "object": {"a": 1}}


def _types(schema: dict) -> set[str]:
    found = {schema["type"]} if "type" in schema else set()
    for option in schema.get("anyOf", []):
        found |= _types(option)
    if "$ref" in schema or "enum" in schema or "const" in schema:
        found.add("object" if "$ref" in schema else "enum")
    return found - {"null"}


def _bounds(schema: dict) -> dict:
    merged = dict(schema)
    for option in schema.get("anyOf", []):
        merged.update({k: v for k, v in option.items() if k in (
            "minimum", "maximum", "maxLength")})
    return merged


def model_hostile_json(model) -> dict[str, list]:
    """For each field of a body model, JSON values of a type it does not take or beyond its
    range (a field of any type, `Any`, has none)."""
    hostile = {}
    for name, schema in model.model_json_schema()["properties"].items():
        types = _types(schema)
        if not types:
            continue
        values = [v for t, v in JSON_TYPES.items() if t not in types
                  and not (t == "integer" and "number" in types)]
        bounds = _bounds(schema)
        if "maximum" in bounds:
            values.append(bounds["maximum"] + 1)
        if "minimum" in bounds:
            values.append(bounds["minimum"] - 1)
        if "maxLength" in bounds:
            values.append("x" * (bounds["maxLength"] + 1))
        hostile[name] = values
    return hostile


def model_hostile_text(model) -> dict[str, list[str]]:
    """For each argument of a query model, text it refuses."""
    hostile = {}
    for name, schema in model.model_json_schema()["properties"].items():
        types, bounds = _types(schema), _bounds(schema)
        values = []
        if "integer" in types:
            values += ["abc", "1.5", "0x10", "9" * 30]
        if "boolean" in types:
            values += ["maybe", "yes", "1"]
        if "maximum" in bounds:
            values.append(str(bounds["maximum"] + 1))
        if "minimum" in bounds:
            values.append(str(bounds["minimum"] - 1))
        if "maxLength" in bounds:
            values.append("x" * (bounds["maxLength"] + 1))
        hostile[name] = values
    return hostile


def test_the_model_walk_finds_hostile_values_for_each_kind_of_field():
    from hyperchat.chat.completions import ChatCompletionRequest
    from hyperchat.views.sessions_api import Listing

    body = model_hostile_json(ChatCompletionRequest)
    assert 3 in body["temperature"] and -1 in body["temperature"] and "x" in body["top_p"]
    assert "x" in body["messages"] and 5 in body["model"] and "n" not in body
    query = model_hostile_text(Listing)
    assert {"abc", "0", "1000001"} <= set(query["page"]) and "yes" in query["archived"]


@pytest.fixture
async def seeded(client, fake_upstream):
    """One conversation with a message and its finished reply, shared; the ids routes take."""
    token = await csrf(client)
    await send(client, "Hello there", token=token)
    reply = await Message.get(role="assistant")
    await finished(reply.id)
    conversation = await Conversation.get(id=reply.conversation_id)
    await client.post(f"/c/{conversation.id}/share", headers={"X-CSRF-Token": token})
    await conversation.refresh_from_db()
    # The OpenAI-compatible API (/v1) takes an API key, not the cookie.
    user = await User.create(username="prog", username_key="prog", password_hash="-")
    _row, key = await api_keys.create(user, "tests")
    # Its first use is recorded on the key: done here, before any snapshot is taken.
    await client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    return token, {
        "api_key": key,
        "conversation_id": conversation.id,
        "message_id": reply.id,
        "task_id": reply.id,  # a regeneration task is its reply's id
        "share_id": conversation.share_id,
        "filename": "app.js",
        "name": "htmx.min.js",
        "style": "solid",
        # Accounts: input is checked before the row is looked up, so any id will do.
        "session_id": 1, "key_id": 1, "user_id": 1, "token": "no-such-token",
        "model_id": "openai/gpt-4o-mini", "invite_id": 1,
        # Files: input is checked before the row is looked up (a missing one is a 404).
        "attachment_id": 1,
    }


PATH_VALUES = {"conversation_id", "message_id", "task_id", "share_id", "filename", "name",
               "style", "session_id", "key_id", "user_id", "token", "model_id",
               "attachment_id", "invite_id"}


async def snapshot() -> dict:
    """Every row of every table, to compare before and after."""
    tables = {}
    for name, model in sorted(Tortoise.apps["models"].items()):
        tables[name] = await model.all().order_by(model._meta.pk_attr).values()
    return tables


async def writes_so_far():
    """A number that moves whenever any row is written: SQLite's count of rows the app's one
    connection has inserted, updated or deleted (triggers included), PostgreSQL's write-ahead
    log position (every change to a table is logged before it is made). Unmoved, nothing
    changed, and the snapshot of every table (about 95% of this file's time when taken twice
    per request) is not needed; moved (PostgreSQL's own housekeeping moves it too), the
    snapshots decide."""
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "sqlite":
        return (await connection.execute_query("SELECT total_changes()"))[1][0][0]
    return (await connection.execute_query("SELECT pg_current_wal_insert_lsn()::text"))[1][0][0]


class Checker:
    def __init__(self, client, token, rule, values):
        self.client, self.token, self.rule = client, token, rule
        self.path = rule.build({k: values[k] for k in rule.arguments})[1]
        self.api_key = values["api_key"] if rule.rule.startswith("/v1/") else None
        self.failures: list[str] = []
        # Every table as the route found it; as the last request left it, and the write
        # counter then.
        self.initial: dict | None = None
        self.tables: dict | None = None
        self.writes = None

    async def start(self) -> None:
        # The counter first: a write between the two moves it, so the next check looks.
        self.writes = await writes_so_far()
        self.tables = self.initial = await snapshot()

    async def finish(self) -> None:
        """Every table again, whatever the counter says: compared with the start, a change
        the counter could have missed (a write through another connection) is still seen."""
        if await snapshot() != self.initial:
            self.failures.append(f"{self.path}: the database changed (seen at the end)")

    async def expect(self, what: str, status: int, method: str, path: str | None = None,
                     data: bytes | None = None, content_type: str | None = None,
                     mentions: str | None = None) -> None:
        headers = {"X-CSRF-Token": self.token, "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        response = await self.client.open(path or self.path, method=method, data=data,
                                          headers=headers)
        await response.get_data()  # a stream that was wrongly started ends here (it cannot)
        where = f"{method} {path or self.path} with {what}"
        body = await response.get_json(silent=True) if response.mimetype.endswith("json") \
            else None
        # Errors are {"error": ...}, or {"detail": ...} where an API speaks FastAPI's shape
        # (/conversations/, /api/v1/chat).
        error = ((body or {}).get("error") or (body or {}).get("detail")) \
            if isinstance(body, dict) else None
        if isinstance(error, dict):  # the /v1 API answers errors in OpenAI's shape
            error = error.get("message")
        if response.status_code != status:
            self.failures.append(f"{where}: {response.status_code}, not {status} ({error})")
        elif not isinstance(error, str) or not error.strip() or any(g in error for g in GENERIC):
            self.failures.append(f"{where}: unreadable error {error!r}")
        elif mentions and mentions.lower() not in error.lower():
            self.failures.append(f"{where}: the error does not name {mentions!r}: {error!r}")
        writes = await writes_so_far()
        if writes != self.writes:
            # Compared with the tables as they were before this request (each request found
            # them as the one before left them, or the change was reported there).
            tables = await snapshot()
            if tables != self.tables:
                self.failures.append(f"{where}: the database changed")
            self.tables, self.writes = tables, writes


def case_id(rule) -> str:
    return f"{rule.rule} {rule.endpoint}"


@pytest.mark.parametrize("rule", RULES, ids=case_id)
# Each route takes dozens of hostile requests: the write limits (tested on their own) would
# answer 429 before the input is read.
@pytest.mark.config(WRITE_RATE_LIMIT=100_000, HEAVY_RATE_LIMIT=100_000)
async def test_hostile_input_is_a_clear_4xx_that_changes_nothing(app, client, seeded, rule):
    token, values = seeded
    missing = rule.arguments - PATH_VALUES
    assert not missing, f"{rule.rule}: give PATH_VALUES a value for {sorted(missing)}"
    check = Checker(client, token, rule, values)
    await check.start()
    spec = payloads.spec_of(rule.endpoint, MAP_APP)
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})

    for method in methods:
        # Ids a 32-bit id column cannot hold, in the path: no such page.
        for name in sorted(a for a, c in rule._converters.items()
                           if isinstance(c, payloads.IdConverter)):
            for value in OUT_OF_RANGE_IDS:
                path = rule.build({**{k: values[k] for k in rule.arguments}, name: value})[1]
                await check.expect(f"{name}={value}", 404, method, path)
        # The query: unreadable anywhere, or a declared argument out of its type or range.
        for what, query in QUERIES.items():
            await check.expect(f"a query with {what}", 400, method, f"{check.path}?{query}")
        query_fields = {name: hostile_text(field) for name, field in spec.query.items()}
        if spec.query_model is not None:
            query_fields.update(model_hostile_text(spec.query_model))
        for name, values in query_fields.items():
            for value in values:
                await check.expect(f"?{name}={value[:20]}", 400, method,
                                   f"{check.path}?{urlencode({name: value})}", mentions=name)

        if method not in payloads.BODY_METHODS:
            continue
        json_type = "application/json"
        for what, raw in JSON_BODIES.items():
            await check.expect(f"a JSON body: {what}", 400, method, data=raw,
                               content_type=json_type)
        for what, raw in NOT_AN_OBJECT.items():
            await check.expect(f"a JSON body: {what}", 400, method, data=raw,
                               content_type=json_type)
        body_fields = {name: hostile_json(field) for name, field in spec.body.items()}
        if spec.model is not None:
            body_fields.update(model_hostile_json(spec.model))
        for name, values in body_fields.items():
            for value in values:
                await check.expect(f"JSON {name}={str(value)[:30]}", 400, method,
                                   data=json.dumps({name: value}).encode(),
                                   content_type=json_type, mentions=name)
        if spec.json_only:
            continue
        form_type = "application/x-www-form-urlencoded"
        for what, raw in FORM_BODIES.items():
            await check.expect(f"a form: {what}", 400, method, data=raw, content_type=form_type)
        await check.expect("a multipart form without a boundary", 400, method,
                           data=b"--x\r\n", content_type="multipart/form-data")
        for name, field in spec.body.items():
            for value in hostile_text(field):
                data = urlencode({name: value}).encode()
                await check.expect(f"form {name}={value[:20]}", 400, method, data=data,
                                   content_type=form_type, mentions=name)
            if isinstance(field, payloads.Texts):
                data = "&".join([f"{name}=x"] * (field.max_items + 1)).encode()
                await check.expect(f"form {name} repeated", 400, method, data=data,
                                   content_type=form_type, mentions=name)

    await check.finish()
    assert not check.failures, "\n".join(check.failures)


def test_every_route_with_an_id_uses_the_bounded_converter():
    from werkzeug.routing import IntegerConverter

    for rule in RULES:
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                assert isinstance(converter, payloads.IdConverter), (rule.rule, name)
                assert (converter.min, converter.max) == (1, INT_MAX)


def test_no_view_reads_request_input_but_through_payloads():
    """Views read input only through web/payloads.py's declarations, never `request.form`,
    `request.args`, `request.get_json()` or the raw body: so nothing escapes the checks."""
    package = Path(hyperchat.__file__).parent
    readers = {"args", "form", "get_json", "json", "get_data", "data", "values", "files",
               "body"}
    offenders = []
    for path in sorted([*(package / "views").glob("*.py"), package / "web/view_helpers.py"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in readers \
                    and isinstance(node.value, ast.Name) and node.value.id == "request":
                offenders.append(f"{path.name}:{node.lineno} request.{node.attr}")
    assert not offenders, offenders


@pytest.mark.parametrize("raw", [b"[" * 200_000, b'{"a": "\\ud800"}', b"\xff"])
def test_parse_json_refuses_what_it_cannot_read_without_recursion(raw):
    with pytest.raises(BadRequest):
        payloads.parse_json(raw)


def test_parse_json_reads_a_deep_but_allowed_document():
    depth = payloads.MAX_DEPTH
    assert payloads.parse_json(b"[" * depth + b"]" * depth) is not None
    assert math.isclose(payloads.parse_json(b'{"t": 0.5}')["t"], 0.5)


async def test_a_well_formed_multipart_form_is_read_csrf_token_included(client):
    token = await csrf(client)
    conversation = await Conversation.create(owner="nobody-yet", title="Old")
    async with client.session_transaction() as session:
        conversation.owner = session["user_identifier"]
    await conversation.save()
    boundary = "XyZ"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n" for name, value in (("csrf_token", token),
                                                      ("title", "New title")))
    response = await client.post(
        f"/c/{conversation.id}/rename", data=(body + f"--{boundary}--\r\n").encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "HX-Request": "true"})
    assert response.status_code == 200
    assert (await Conversation.get(id=conversation.id)).title == "New title"


@pytest.mark.parametrize("value", [0, -1, INT_MAX + 1, 2**63, True, "5", 1.0])
def test_a_model_row_id_is_bounded_like_the_id_columns(value):
    class Body(payloads.Body):
        message_id: payloads.RowId

    with pytest.raises(BadRequest) as refused:
        payloads.validated(Body, {"message_id": value})
    assert refused.value.field == "message_id" and "message_id" in refused.value.message
    assert payloads.validated(Body, {"message_id": INT_MAX}).message_id == INT_MAX


def test_a_model_refusal_names_each_field_and_a_union_once():
    from hyperchat.chat.completions import ChatCompletionRequest

    with pytest.raises(BadRequest) as refused:
        payloads.validated(ChatCompletionRequest, {
            "model": "m", "messages": [{"role": "user", "content": 5}], "temperature": "hot",
            "frobnicate": 1})
    message = refused.value.message
    assert refused.value.field == "messages[0].content"
    assert message.count("messages[0].content") == 1 and "temperature" in message
    assert "Unknown field: frobnicate" in message
