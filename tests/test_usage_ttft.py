"""The time to first token this server measures, kept per reply and shown per model in the
picker and GET /ai/models (the median of the latest replies)."""

import pytest

from hyperchat.store.schema import Message, Role, UsageRecord
from tests.fake_upstream import Tokens
from tests.helpers import csrf, soup

# The model catalog on: the fake upstream's models.json is what ids are checked against.
pytestmark = pytest.mark.catalog


async def test_measured_ttft_reaches_the_record_the_picker_and_the_json(client, fake_upstream):
    token = await csrf(client)
    for delay in (0.05, 0.25, 0.15):
        fake_upstream.enqueue(Tokens(["a", "b"], ttft=delay, model="openai/gpt-4"))
        await client.post("/messages", form={"content": "q", "csrf_token": token,
                                             "model": "openai/gpt-4"})
        reply = await Message.filter(role=Role.ASSISTANT).order_by("-id").first()
        await client.app.extensions["generations"].wait(reply.id)
    ttfts = sorted(await UsageRecord.all().values_list("ttft_ms", flat=True))
    assert 50 <= ttfts[0] < 150 <= ttfts[1] < 250 <= ttfts[2] < 400
    body = await (await client.get("/ai/models")).get_json()
    gpt4 = next(m for g in body["providers"] for m in g["models"] if m["id"] == "openai/gpt-4")
    assert gpt4["median_ttft_ms"] == ttfts[1]
    page = soup(await (await client.get("/models/picker")).get_data(as_text=True))
    option = page.select_one('#model-list [data-model-id="openai/gpt-4"]')
    assert option.select_one(".model-ttft").get_text() == \
        f"first token in {ttfts[1]} ms (median here)"
