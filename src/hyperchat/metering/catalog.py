"""The model catalog: the upstream's `GET /models`, cached and refreshed in the background.

A page never waits on the upstream: views read `Catalog.models()`, which is whatever the last
successful fetch returned (plus the models this server can always answer with: the offline
demo model and DEFAULT_MODEL). When the upstream is down the catalog keeps its last list, or,
if it never had one, only those built-in models, and the app goes on working.
"""

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from hyperchat.upstream import demo
from hyperchat.upstream.client import Upstream

log = logging.getLogger(__name__)
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class CatalogModel:
    id: str
    name: str
    provider: str
    context_length: int | None = None
    # USD per token; None: unknown or variable (OpenRouter's "-1", e.g. openrouter/auto).
    prompt_price: Decimal | None = None
    completion_price: Decimal | None = None
    max_completion_tokens: int | None = None
    modality: str | None = None

    @property
    def prompt_per_million(self) -> Decimal | None:
        return None if self.prompt_price is None else self.prompt_price * MILLION

    @property
    def completion_per_million(self) -> Decimal | None:
        return None if self.completion_price is None else self.completion_price * MILLION

    @property
    def free(self) -> bool:
        return self.prompt_price == 0 and self.completion_price == 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
        """What these tokens cost at the listed prices; None when a price is unknown."""
        if self.prompt_price is None or self.completion_price is None:
            return None
        return self.prompt_price * prompt_tokens + self.completion_price * completion_tokens


def _price(value) -> Decimal | None:
    """A /models price (a decimal string, USD per token); negative means variable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not price.is_finite() or price < 0:
        return None
    return price


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def provider_of(model_id: str, owned_by: str | None = None) -> str:
    """OpenRouter ids are `provider/model`; local servers (Ollama) say `owned_by`."""
    if "/" in model_id:
        return model_id.split("/", 1)[0]
    return owned_by or "other"


def parse_models(payload) -> list[CatalogModel]:
    """The models of a /models response (OpenRouter's shape, or a bare OpenAI-style list);
    entries without a usable id are skipped rather than failing the whole list."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        raise ValueError("a /models response needs a `data` list")
    models = {}
    for entry in data:
        if not isinstance(entry, dict):
            continue
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > 200:
            continue
        pricing = entry.get("pricing") if isinstance(entry.get("pricing"), dict) else {}
        top = entry.get("top_provider") if isinstance(entry.get("top_provider"), dict) else {}
        arch = entry.get("architecture") if isinstance(entry.get("architecture"), dict) else {}
        name = entry.get("name") if isinstance(entry.get("name"), str) else model_id
        owned_by = entry.get("owned_by") if isinstance(entry.get("owned_by"), str) else None
        models[model_id] = CatalogModel(
            id=model_id, name=name.strip() or model_id, provider=provider_of(model_id, owned_by),
            context_length=_int(entry.get("context_length")) or _int(top.get("context_length")),
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            max_completion_tokens=_int(top.get("max_completion_tokens")),
            modality=arch.get("modality") if isinstance(arch.get("modality"), str) else None,
        )
    return list(models.values())


DEMO = CatalogModel(id=demo.MODEL_ID, name="hyperchat offline demo", provider="hyperchat",
                    context_length=8192, prompt_price=Decimal(0), completion_price=Decimal(0))


class Catalog:
    """The cached list of models; `run()` keeps it fresh in a background task."""

    def __init__(self, upstream: Upstream, *, default_model: str, offline: bool,
                 refresh_every: float = 3600.0, retry_every: float = 60.0,
                 timeout: float = 10.0):
        self.upstream = upstream
        self.default_model = default_model
        # No provider configured (or CATALOG_REFRESH = 0): nothing is fetched, and only the
        # built-in models (the demo model, DEFAULT_MODEL) are on offer.
        self.offline = offline or refresh_every <= 0
        self.refresh_every = refresh_every
        self.retry_every = retry_every
        self.timeout = timeout
        self._fetched: dict[str, CatalogModel] = {}
        self.fetched_at: datetime | None = None
        self.last_error: str | None = None
        self._loaded = asyncio.Event()
        self._lock = asyncio.Lock()

    def _builtin(self) -> Iterable[CatalogModel]:
        yield DEMO
        if self.default_model != demo.MODEL_ID:
            # Always offered, so the picker falls back to it when the upstream is down.
            yield CatalogModel(id=self.default_model, name=self.default_model,
                               provider=provider_of(self.default_model))

    def models(self) -> list[CatalogModel]:
        """Every model on offer, sorted by provider then name. Never waits."""
        merged = {m.id: m for m in self._builtin()}
        merged.update(self._fetched)
        return sorted(merged.values(), key=lambda m: (m.provider.lower(), m.name.lower()))

    def get(self, model_id: str | None) -> CatalogModel | None:
        if not model_id:
            return None
        return self._fetched.get(model_id) or next(
            (m for m in self._builtin() if m.id == model_id), None)

    def knows(self, model_id: str) -> bool:
        return self.get(model_id) is not None

    @property
    def stale(self) -> bool:
        """True when the provider's list could not be loaded (the last attempt failed)."""
        return not self.offline and self.last_error is not None

    async def refresh(self) -> bool:
        """Fetch the list once; keep the previous one on failure. True on success."""
        if self.offline:
            self._loaded.set()
            return True
        async with self._lock:
            try:
                models = await self._fetch()
            except Exception as exc:  # any failure leaves the last good list in place
                self.last_error = str(exc) or type(exc).__name__
                log.warning("model catalog refresh failed: %s", self.last_error)
                return False
            finally:
                self._loaded.set()
            self._fetched = {m.id: m for m in models}
            self.fetched_at = datetime.now(UTC)
            self.last_error = None
            return True

    async def _fetch(self) -> list[CatalogModel]:
        headers = {"Authorization": f"Bearer {self.upstream.api_key}"} \
            if self.upstream.api_key else {}
        # The upstream's own pooled client: one set of connections and timeouts.
        response = await self.upstream.client.get(f"{self.upstream.base_url}/models",
                                                  headers=headers,
                                                  timeout=self.timeout)
        if response.status_code != 200:
            raise RuntimeError(f"GET /models answered HTTP {response.status_code}")
        try:
            return parse_models(response.json())
        except ValueError as exc:
            raise RuntimeError(f"GET /models sent an unusable body: {exc}") from exc

    async def wait_loaded(self, timeout: float = 10.0) -> None:
        """Wait for the first fetch to finish, whatever its outcome (for tests and health)."""
        await asyncio.wait_for(self._loaded.wait(), timeout)

    async def run(self) -> None:
        """Refresh now, then every `refresh_every` seconds (`retry_every` after a failure)."""
        while True:
            started = time.monotonic()
            ok = await self.refresh()
            if self.offline:
                return
            delay = self.refresh_every if ok else self.retry_every
            await asyncio.sleep(max(0.0, delay - (time.monotonic() - started)))

