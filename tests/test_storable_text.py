"""Text the databases cannot hold is made storable by one rule (store/schema.py's
`storable`: NUL removed, unpaired surrogates as U+FFFD) in every text column, the same on
SQLite and PostgreSQL; so a reply with such text from the upstream ends `complete`, and every
export imports again."""

import io
import json
import zipfile
from decimal import Decimal

import pytest
import redis
from tortoise import connections

from hyperchat import create_app
from hyperchat.chat import exports
from hyperchat.store import schema
from hyperchat.store.schema import (
    INT_MAX,
    Budget,
    Conversation,
    Message,
    Role,
    Status,
    storable,
    unstorable,
)
from tests.fake_upstream import Tokens
from tests.helpers import csrf, finished, send
from tests.test_exports import export_json, import_document, run_cli, without_identity

HOSTILE = "a\x00b \ud800 c \udfff😀"
STORED = "ab \ufffd c \ufffd😀"


def test_storable_removes_nul_and_replaces_unpaired_surrogates():
    assert storable(HOSTILE) == STORED
    assert storable("plain ascii") == "plain ascii"
    assert storable("émoji 🎉 and \u2028") == "émoji 🎉 and \u2028"
    assert unstorable("fine 🎉") is None
    assert "NUL" in unstorable("a\x00")
    assert "U+D800" in unstorable("\ud800")


def test_every_text_column_applies_the_rule():
    from tortoise import fields
    from tortoise.models import Model

    models = [m for m in vars(schema).values()
              if isinstance(m, type) and issubclass(m, Model) and m is not Model]
    assert Message in models and Budget in models
    plain = []
    for model in models:
        for name, field in model._meta.fields_map.items():
            # (An enum column holds only its members' values.)
            if isinstance(field, fields.TextField | fields.CharField) \
                    and not isinstance(field, schema.TextField | schema.CharField
                                       | fields.data.CharEnumFieldInstance):
                plain.append(f"{model.__name__}.{name}")
    assert not plain, f"text columns without the storable rule: {plain}"


def test_the_storable_fields_describe_the_same_columns_as_the_plain_ones():
    """aerich diffs these descriptions: the rule must not look like a schema change."""
    from tortoise import fields

    for ours, theirs in ((schema.TextField(), fields.TextField()),
                         (schema.CharField(max_length=9), fields.CharField(max_length=9))):
        assert ours.describe(True) == theirs.describe(True)


async def test_every_write_path_stores_by_the_rule_on_both_databases(app):
    # Model.create, QuerySet.update, bulk_create (the import) and Model.save.
    conversation = await Conversation.create(owner="someone", title=HOSTILE)
    message = await Message.create(conversation=conversation, role=Role.USER, content=HOSTILE)
    await Message.filter(id=message.id).update(reasoning=HOSTILE, error=HOSTILE)
    await Message.bulk_create([Message(conversation_id=conversation.id, role=Role.ASSISTANT,
                                       content=HOSTILE, model_id_used=HOSTILE)])
    conversation.title = "x\x00y"
    await conversation.save()
    assert (await Conversation.get(id=conversation.id)).title == "xy"
    rows = await Message.filter(conversation_id=conversation.id).order_by("id")
    assert (rows[0].content, rows[0].reasoning, rows[0].error) == (STORED, STORED, STORED)
    assert (rows[1].content, rows[1].model_id_used) == (STORED, STORED)


async def assert_hostile_reply_ends_complete(client, fake_upstream) -> None:
    fake_upstream.enqueue(Tokens(["Hel\x00lo", " \ud800 wor", "ld"],
                                 reasoning=["thi\x00nk", "\udfff"],
                                 model="openai/gpt-4o-mini\x00", finish_reason="s" * 100))
    await send(client, "Say hello")
    reply = await Message.get(role=Role.ASSISTANT)
    saved = await finished(reply.id)
    assert saved.status == Status.COMPLETE, saved.error
    assert saved.content == "Hello \ufffd world"
    assert saved.reasoning == "think\ufffd"
    assert saved.model_id_used == "openai/gpt-4o-mini"
    assert saved.finish_reason == "s" * 32  # its column's length: PostgreSQL refuses more
    # What streamed live is what was saved: the replay encodes as UTF-8 and shows U+FFFD.
    response = await client.get(f"/messages/{reply.id}/stream")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200 and "Hello \ufffd world" in body


async def test_a_reply_with_nul_and_lone_surrogates_from_the_upstream_ends_complete(
        client, fake_upstream):
    await assert_hostile_reply_ends_complete(client, fake_upstream)


async def test_the_same_reply_ends_complete_through_redis(app_config, redis_url, fake_upstream):
    """Redis, like the databases, takes only valid UTF-8: the live buffer gets clean text."""
    redis.Redis.from_url(redis_url).flushdb()
    app = create_app({**app_config, "REDIS_URL": redis_url})
    async with app.test_app() as test_app:
        await assert_hostile_reply_ends_complete(test_app.test_client(), fake_upstream)


async def test_an_export_with_text_made_storable_imports_again(client, fake_upstream):
    fake_upstream.enqueue(Tokens(["Odd \x00text \ud800"], reasoning=["odd \udc00"]))
    await send(client, "Hello")
    reply = await Message.get(role=Role.ASSISTANT)
    await finished(reply.id)
    first = await export_json(client, reply.conversation_id)
    response = await import_document(client, first)
    assert response.status_code == 201, await response.get_data(as_text=True)
    second = await export_json(client, (await response.get_json())["id"])
    assert without_identity(second) == without_identity(first)
    assert second["messages"][1]["content"] == "Odd text \ufffd"


async def test_every_file_of_the_zip_export_imports_again(client, fake_upstream):
    token = await csrf(client)
    for text in ("First \x00one", "Second \ud800 one"):
        fake_upstream.enqueue(Tokens([text]))
        response = await send(client, text.replace("\x00", "").replace("\ud800", "?"),
                              token=token)
        assert response.status_code == 200
        await finished((await Message.filter(role=Role.ASSISTANT).order_by("-id").first()).id)
    archive = zipfile.ZipFile(io.BytesIO(await (await client.get("/export/all.zip")).get_data()))
    documents = [json.loads(archive.read(name)) for name in archive.namelist()]
    assert len(documents) == 2
    for document in documents:
        response = await import_document(client, document)
        assert response.status_code == 201, await response.get_data(as_text=True)
        again = await export_json(client, (await response.get_json())["id"])
        assert without_identity(again)["messages"] == document["messages"]


async def test_a_row_saved_with_nul_before_the_rule_exports_and_imports_again(
        client, database_url):
    """SQLite used to accept NUL: such a row is read back without it, so its export is
    importable. (PostgreSQL never held one: the raw write itself is refused.)"""
    if not database_url.startswith("sqlite"):
        pytest.skip("only SQLite can hold NUL in text")
    token = await csrf(client)
    await send(client, "placeholder", token=token)
    message = await Message.get(role=Role.USER)
    # Around the fields, as an older version of the app wrote it.
    await connections.get("default").execute_query(
        "UPDATE message SET content = ? WHERE id = ?", ["before\x00after", message.id])
    assert (await Message.get(id=message.id)).content == "beforeafter"
    document = await export_json(client, message.conversation_id)
    assert "\x00" not in json.dumps(document, ensure_ascii=False)
    response = await import_document(client, document)
    assert response.status_code == 201, await response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["promptTokens", "completionTokens"])
async def test_import_refuses_counts_beyond_32_bits_and_saves_nothing(client, field):
    document = {"format": exports.FORMAT, "title": "Counts",
                "messages": [{"role": "assistant", "content": "x", field: INT_MAX + 1}]}
    response = await import_document(client, document)
    assert response.status_code == 400
    assert f"messages[0].{field}" in (await response.get_json())["error"]
    assert await Conversation.all().count() == 0
    document["messages"][0][field] = INT_MAX
    assert (await import_document(client, document)).status_code == 201


async def test_the_command_line_import_reads_a_file_as_strictly_as_a_request(
        client, database_url, tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 200_000)
    code, _, err = await run_cli(database_url, "import", str(path), "--owner", "someone")
    assert code == 1 and "nested too deeply" in err
    path.write_bytes(b'{"format": "hyperchat.conversation.v1", "title": "\\ud800"}')
    code, _, err = await run_cli(database_url, "import", str(path), "--owner", "someone")
    assert code == 1 and "unpaired surrogate" in err
    assert await Conversation.all().count() == 0


@pytest.mark.parametrize("value", ["1E-999999999", "0.00000000001", "-1", "NaN", "1E+999999999"])
async def test_a_cost_budget_that_would_be_stored_as_no_budget_is_refused(client, value):
    token = await csrf(client)
    response = await client.post("/usage/budget", form={"daily_cost": value, "csrf_token": token},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "budget" in (await response.get_json())["error"]
    assert await Budget.all().count() == 0


async def test_a_tiny_cost_budget_is_kept_to_the_columns_places(client):
    token = await csrf(client)
    response = await client.post("/usage/budget",
                                 form={"daily_cost": "0.00000000015", "csrf_token": token},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert (await Budget.get()).daily_cost == Decimal("0.0000000002")
