"""Rate limits: how many times a person (or an address) may do something in a sliding
window; message actions here, every write through web/write_limits.py. The counts live in the
app's quota store (metering/quotas.py: in memory, or in Redis when REDIS_URL is set, shared by
every worker), the same one that limits sends. Keys name the person (their session's
identifier), or the remote address (the socket's peer, or the client a trusted proxy names:
web/proxies.py)."""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hyperchat.web.errors import HTTPError
from hyperchat.web.rendering import format_wait

if TYPE_CHECKING:
    from hyperchat.metering.quotas import QuotaStore


class TooManyRequests(HTTPError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    name: str  # what people are told they did too often: "actions", "regenerations"
    count: int
    window: float  # seconds


async def check(store: "QuotaStore", person: str, *limits: Limit,
                address: str | None = None) -> None:
    """Count one use against each limit; raise TooManyRequests at the first one spent.
    With `address`, the limits count that address's uses (everyone's behind it) instead
    of the person's."""
    subject = person if address is None else f"address:{address}"
    for limit in limits:
        wait = await store.hit(f"{limit.name}:{subject}", limit.count, limit.window)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            per = "minute" if limit.window == 60 else f"{limit.window:g} s"
            where = " from your address" if address is not None else ""
            raise TooManyRequests(
                f"Too many {limit.name}{where}: at most {limit.count} per {per}. "
                f"Try again in {format_wait(seconds)}; nothing you typed was lost.",
                seconds)
