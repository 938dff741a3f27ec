"""The time to first token this server measures, kept per reply and shown per model in the
picker and GET /ai/models (the median of the latest replies)."""

import pytest

from hyperchat.store.schema import UsageRecord
from tests.fake_upstream import Tokens
from tests.helpers import finished, soup, start_reply

# The model catalog on: the fake upstream's models.json is what ids are checked against.
pytestmark = pytest.mark.catalog


async def test_measured_ttft_reaches_the_record_the_picker_and_the_json(client, fake_upstream):
    delays = [0.05, 0.25, 0.15]
    for delay in delays:
        await finished(await start_reply(
            client, fake_upstream, Tokens(["a", "b"], ttft=delay, model="openai/gpt-4"),
            content="q", model="openai/gpt-4"))
    measured = await UsageRecord.all().order_by("id").values_list("ttft_ms", flat=True)
    # Each reply's own: never shorter than the fake's delay before its first token. Bounded
    # from below only, so that a busy machine cannot fail it.
    assert all(ms >= delay * 1000 for ms, delay in zip(measured, delays, strict=True)), measured
    ttfts = sorted(measured)
    body = await (await client.get("/ai/models")).get_json()
    gpt4 = next(m for g in body["providers"] for m in g["models"] if m["id"] == "openai/gpt-4")
    assert gpt4["median_ttft_ms"] == ttfts[1]
    page = soup(await (await client.get("/models/picker")).get_data(as_text=True))
    option = page.select_one('#model-list [data-model-id="openai/gpt-4"]')
    assert option.select_one(".model-ttft").get_text() == \
        f"first token in {ttfts[1]} ms (median here)"
