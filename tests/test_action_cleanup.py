"""Deleted messages past the undo window lose their text (the rows stay, as tombstones), and
the migration links messages of older conversations into one branch."""

from datetime import UTC, datetime, timedelta

from tortoise import connections

from hyperchat.chat import message_actions
from hyperchat.store import database as db
from hyperchat.store.schema import Message
from tests.helpers import act, exchange, shown


async def test_purge_erases_only_text_deleted_before_the_window(client, fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "secret")
    cid = (await Message.get(id=q1)).conversation_id
    q2, a2 = await exchange(client, fake_upstream, "q2", "kept", cid)
    await act(client, a1, "delete")
    await act(client, a2, "delete")
    await Message.filter(id=a1).update(deleted_at=datetime.now(UTC) - timedelta(hours=1))
    assert await message_actions.purge_deleted(600) == 1
    assert (await Message.get(id=a1)).content == ""
    assert (await Message.get(id=a2)).content == "kept"
    # The branch still runs through the tombstone.
    assert await shown(client, cid) == [("user", "q1"), ("user", "q2")]
    # Too late to undo the purged one; the other can still come back.
    assert (await act(client, a1, "restore")).status_code == 400
    assert (await act(client, a2, "restore")).status_code == 200


async def test_migration_links_existing_messages_as_one_branch(client, fake_upstream, app):
    q1, a1 = await exchange(client, fake_upstream, "q1", "a1")
    cid = (await Message.get(id=q1)).conversation_id
    q2, a2 = await exchange(client, fake_upstream, "q2", "a2", cid)
    other, reply = await exchange(client, fake_upstream, "other", "r")
    # As before migration 5: no parents.
    await Message.all().update(parent_id=None)
    url = app.app.config["DATABASE_URL"]
    folder = db.migrations_location(url) / "models"
    (path,) = folder.glob("5_*_message_actions.py")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    sql = await namespace["upgrade"](None)
    backfill = sql[sql.index('UPDATE "message" SET "parent_id"'):].rstrip().rstrip(";")
    await connections.get("default").execute_script(backfill)
    parents = dict(await Message.all().values_list("id", "parent_id"))
    assert parents == {q1: None, a1: q1, q2: a1, a2: q2, other: None, reply: other}
