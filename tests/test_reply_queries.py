"""A reply costs a fixed, small number of SQL statements, the whole way: the send, its
stream, the final fragment and the usage record. Each statement is CPU in the app (the ORM
composing it, and on SQLite a hop to the database's thread), paid by every reply."""

import pytest
from tortoise.backends.asyncpg import client as asyncpg_client
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite import client as sqlite_client

from tests.fake_upstream import Tokens
from tests.helpers import csrf, new_id, parse_sse, send, soup

# Statements of one reply, counted below (on both databases); a change that needs more
# should say why here.
NEW_CONVERSATION = 12
EXISTING_CONVERSATION = 16


def count_statements(monkeypatch) -> list[str]:
    """Record every statement any connection runs from now on, in a transaction or not
    (tests/helpers.py:count_queries watches the default connection's reads only)."""
    executed: list[str] = []
    clients = [cls for module in (sqlite_client, asyncpg_client)
               for cls in vars(module).values()
               if isinstance(cls, type) and issubclass(cls, BaseDBAsyncClient)]
    for cls in clients:
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
            original = vars(cls).get(name)
            if original is not None:
                async def counting(self, query, *args, _original=original, **kwargs):
                    executed.append(query)
                    return await _original(self, query, *args, **kwargs)

                monkeypatch.setattr(cls, name, counting)
    return executed


async def reply(client, fake_upstream, token: str, conversation_id: int | None = None) -> int:
    """Send, follow the reply's stream to its end, and wait for its task (the usage record
    and the saved outcome); return the conversation's id."""
    fake_upstream.enqueue(Tokens([f"t{n} " for n in range(20)], interval=0.005))
    page = await (await send(client, "hello there", conversation_id, token=token)).get_data(
        as_text=True)
    reply_id = new_id(page)[-1]
    events = parse_sse(await (await client.get(f"/messages/{reply_id}/stream")).get_data(
        as_text=True))
    assert events[-1]["event"] == "done"
    await client.app.extensions["generations"].wait(reply_id)
    return int(soup(page).select_one("[name=conversation_id]")["value"]) \
        if conversation_id is None else conversation_id


@pytest.mark.parametrize("existing, budget", [(False, NEW_CONVERSATION),
                                               (True, EXISTING_CONVERSATION)])
async def test_a_reply_costs_a_fixed_number_of_statements(client, fake_upstream, monkeypatch,
                                                          existing, budget):
    token = await csrf(client)
    conversation_id = await reply(client, fake_upstream, token)
    executed = count_statements(monkeypatch)
    await reply(client, fake_upstream, token, conversation_id if existing else None)
    assert len(executed) <= budget, "\n".join(executed)
