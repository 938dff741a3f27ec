"""The model catalog: parsing /models, the cache and its background refresh, an upstream
that is down (pages still render, the picker falls back), and GET /ai/models."""

import asyncio
import json
from contextlib import suppress
from decimal import Decimal

import pytest

from hyperchat.metering.catalog import Catalog, parse_models
from hyperchat.upstream.client import Upstream
from tests.fake_upstream import STREAMS_DIR, HttpError
from tests.helpers import csrf, soup

MODELS = json.loads((STREAMS_DIR / "models.json").read_text())


def test_parse_models_reads_the_openrouter_shape():
    models = {m.id: m for m in parse_models(MODELS)}
    assert list(models) == [m["id"] for m in MODELS["data"]]
    mini = models["openai/gpt-4o-mini"]
    assert (mini.name, mini.provider, mini.context_length) == (
        "OpenAI: GPT-4o-mini", "openai", 128000)
    assert mini.prompt_price == Decimal("0.00000015")
    assert mini.prompt_per_million == Decimal("0.15")
    assert mini.completion_per_million == Decimal("0.6")
    assert mini.max_completion_tokens == 16384
    assert models["meta-llama/llama-3.3-70b-instruct:free"].free
    # "-1" is OpenRouter's "variable": unknown, never a negative cost.
    auto = models["openrouter/auto"]
    assert auto.prompt_price is None and auto.cost(1000, 1000) is None
    assert models["openai/gpt-4"].cost(1000, 500) == Decimal("0.06")


def test_parse_models_accepts_a_bare_openai_style_list_and_skips_junk():
    models = parse_models({"object": "list", "data": [
        {"id": "llama3.2", "object": "model", "owned_by": "library"},
        {"id": ""}, {"name": "no id"}, "text", {"id": 42},
        {"id": "x/y", "pricing": {"prompt": "abc", "completion": None}, "context_length": -5},
    ]})
    assert [(m.id, m.provider, m.context_length, m.prompt_price) for m in models] == [
        ("llama3.2", "library", None, None), ("x/y", "x", None, None)]


@pytest.mark.parametrize("payload", [{}, {"data": {}}, [], "models"])
def test_parse_models_refuses_a_body_without_a_data_list(payload):
    with pytest.raises(ValueError):
        parse_models(payload)


@pytest.fixture
def upstream(fake_upstream):
    return Upstream(base_url=fake_upstream.url, api_key="k", connect_timeout=2, read_timeout=2)


async def test_refresh_caches_and_keeps_the_last_list_when_the_upstream_fails(
        upstream, fake_upstream):
    catalog = Catalog(upstream, default_model="openai/gpt-4o-mini", offline=False)
    try:
        assert await catalog.refresh() is True
        assert catalog.knows("anthropic/claude-sonnet-4.5") and not catalog.stale
        assert fake_upstream.requests[-1]["headers"]["authorization"] == "Bearer k"
        fake_upstream.models_reply = HttpError(503, {"error": {"code": 503, "message": "down"}})
        assert await catalog.refresh() is False
        # The last good list stays; the failure is reported, not fatal.
        assert catalog.knows("anthropic/claude-sonnet-4.5")
        assert catalog.stale and "503" in catalog.last_error
        fake_upstream.models_reply = HttpError(200, {"data": [{"id": "new/model"}]})
        assert await catalog.refresh() is True
        assert catalog.knows("new/model") and not catalog.knows("anthropic/claude-sonnet-4.5")
        # The built-ins are always on offer: the demo and DEFAULT_MODEL.
        assert {m.id for m in catalog.models()} == {"new/model", "hyperchat/demo",
                                                    "openai/gpt-4o-mini"}
    finally:
        await upstream.aclose()


async def test_run_refreshes_in_the_background_and_retries_sooner_after_a_failure(
        upstream, fake_upstream):
    fake_upstream.models_reply = HttpError(500, b"oops")
    catalog = Catalog(upstream, default_model="openai/gpt-4o-mini", offline=False,
                      refresh_every=3600, retry_every=0.05)
    task = asyncio.create_task(catalog.run())
    try:
        await catalog.wait_loaded()
        assert catalog.stale
        fake_upstream.models_reply = None  # back up: the retry picks the list up
        for _ in range(100):
            if catalog.knows("openai/gpt-4"):
                break
            await asyncio.sleep(0.02)
        assert catalog.knows("openai/gpt-4") and not catalog.stale
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await upstream.aclose()


async def test_offline_catalog_holds_only_the_demo_model_and_fetches_nothing(fake_upstream):
    upstream = Upstream(base_url=fake_upstream.url, api_key=None, connect_timeout=1,
                        read_timeout=1)
    catalog = Catalog(upstream, default_model="hyperchat/demo", offline=True)
    await catalog.run()
    assert [m.id for m in catalog.models()] == ["hyperchat/demo"]
    assert fake_upstream.requests == []
    await upstream.aclose()


@pytest.fixture
def models_list_down(fake_upstream):
    """The provider's model list fails from the start, before the app first loads it."""
    fake_upstream.models_reply = HttpError(502, {"error": {"code": 502, "message": "bad"}})


@pytest.mark.catalog
async def test_ai_models_returns_the_catalog_grouped_by_provider(client):
    body = await (await client.get("/ai/models")).get_json()
    assert body["default_model"] == "openai/gpt-4o-mini" and body["stale"] is False
    groups = {g["provider"]: [m["id"] for m in g["models"]] for g in body["providers"]}
    assert groups == {"anthropic": ["anthropic/claude-sonnet-4.5"],
                      "hyperchat": ["hyperchat/demo"],
                      "meta-llama": ["meta-llama/llama-3.3-70b-instruct:free"],
                      "openai": ["openai/gpt-4", "openai/gpt-4o-mini"],
                      "openrouter": ["openrouter/auto"]}
    mini = next(m for g in body["providers"] for m in g["models"]
                if m["id"] == "openai/gpt-4o-mini")
    assert mini["context_length"] == 128000
    assert mini["pricing"] == {"prompt_per_million": "0.15", "completion_per_million": "0.6"}
    assert mini["median_ttft_ms"] is None  # nothing measured yet


@pytest.mark.catalog
@pytest.mark.usefixtures("models_list_down")
async def test_pages_render_and_the_picker_falls_back_when_the_upstream_is_down(client):
    response = await client.get("/")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    assert "could not be loaded" in page.select_one(".model-picker-hint").get_text()
    # The list loads when the picker opens.
    assert page.select_one("#model-list")["hx-get"] == "/models/picker"
    listed = soup(await (await client.get("/models/picker")).get_data(as_text=True))
    options = [o["data-model-id"] for o in listed.select("#model-list [role=option]")]
    # "" is the conversation default; then what is known without the provider's list.
    assert options == ["", "hyperchat/demo", "openai/gpt-4o-mini"]
    body = await (await client.get("/ai/models")).get_json()
    assert body["stale"] is True
    # Sending still works with DEFAULT_MODEL.
    token = await csrf(client)
    sent = await client.post("/messages", form={"content": "hi", "csrf_token": token})
    assert sent.status_code == 303
    # An id the provider would know, but this server cannot check, is refused clearly.
    refused = await client.post("/messages", form={"content": "hi", "csrf_token": token,
                                                   "model": "openai/gpt-4"})
    assert refused.status_code == 400
    assert "only the default model" in await refused.get_data(as_text=True)


@pytest.mark.catalog
async def test_picker_list_filters_by_every_word(client):
    html = await (await client.get("/models/picker?q=openai mini")).get_data(as_text=True)
    page = soup(html)
    assert [o["data-model-id"] for o in page.select("[role=option]")] == [
        "openai/gpt-4o-mini"]
    facts = page.select_one(".model-facts").get_text(" ", strip=True)
    assert "128,000 tokens context" in facts and "$0.15 in / $0.6 out per 1M" in facts
    empty = soup(await (await client.get("/models/picker?q=zzz")).get_data(as_text=True))
    assert empty.select("[role=option]") == []
    assert "No model matches" in empty.get_text()

