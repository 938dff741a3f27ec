"""Rate limits on message actions: how many times a person may do something in a sliding
window. The counts live in the app's quota store (metering/quotas.py: in memory, or in Redis when
REDIS_URL is set, shared by every worker), the same one that limits sends. Keys name the
person (their session's identifier), never a client-supplied address.
"""

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


async def check(store: "QuotaStore", person: str, *limits: Limit) -> None:
    """Count one use against each limit; raise TooManyRequests at the first one spent."""
    for limit in limits:
        wait = await store.hit(f"{limit.name}:{person}", limit.count, limit.window)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            per = "minute" if limit.window == 60 else f"{limit.window:g} s"
            raise TooManyRequests(
                f"Too many {limit.name}: at most {limit.count} per {per}. "
                f"Try again in {format_wait(seconds)}; nothing you typed was lost.",
                seconds)
