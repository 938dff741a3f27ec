"""Analytics of message actions for one person: votes by model over time, regeneration rate,
edit frequency, response times (time to first token, tokens per second) by model. Figures
here; the charts' geometry is charts.py, their markup a template (readable without script).
"""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hyperchat.metering import charts
from hyperchat.metering.usage import day_start
from hyperchat.store.schema import FeedbackType, Message, MessageEdit, MessageFeedback, Role
from hyperchat.web.rendering import shorten_model_name

UNKNOWN_MODEL = "unknown model"


@dataclass
class ModelTimes:
    model: str
    replies: int
    median_ttft_ms: int | None
    median_tokens_per_second: float | None


@dataclass
class Board:
    days: list[str]
    upvotes: charts.Chart
    downvotes: charts.Chart
    regeneration_rate: charts.Chart
    edits: charts.Chart
    ttft: charts.Chart
    speed: charts.Chart
    votes: Counter = field(default_factory=Counter)  # up, down
    replies: int = 0
    regenerations: int = 0
    edit_count: int = 0
    per_day: list[dict] = field(default_factory=list)
    times: list[ModelTimes] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return 100 * self.regenerations / self.replies if self.replies else None


def _ordered(totals: Counter) -> list[str]:
    return [model for model, _ in totals.most_common()]


async def board(owner: str, *, days: int = 30, now: datetime | None = None) -> Board:
    now = now or datetime.now(UTC)
    first = day_start(now) - timedelta(days=days - 1)
    keys = [(first + timedelta(days=i)).date() for i in range(days)]
    labels = [k.strftime("%d %b") for k in keys]
    index = {k: i for i, k in enumerate(keys)}

    def day(moment: datetime) -> int | None:
        return index.get(moment.astimezone(UTC).date())

    up = [Counter() for _ in keys]
    down = [Counter() for _ in keys]
    votes = Counter()
    for kind, moment, model in await MessageFeedback.filter(
            owner=owner, updated_at__gte=first).values_list(
            "feedback_type", "updated_at", "message__model_id_used"):
        i = day(moment)
        if i is None:
            continue
        name = shorten_model_name(model) or UNKNOWN_MODEL
        (up if kind == FeedbackType.UPVOTE else down)[i][name] += 1
        votes["up" if kind == FeedbackType.UPVOTE else "down"] += 1

    replies, regenerated = [0] * days, [0] * days
    ttft: dict[str, list[int]] = defaultdict(list)
    speed: dict[str, list[float]] = defaultdict(list)
    counts = Counter()
    for moment, version_of, model, ttft_ms, stream_ms, tokens in await Message.filter(
            conversation__owner=owner, role=Role.ASSISTANT, created_at__gte=first).values_list(
            "created_at", "version_of_id", "model_id_used", "ttft_ms", "stream_ms",
            "completion_tokens"):
        i = day(moment)
        if i is None:
            continue
        replies[i] += 1
        regenerated[i] += version_of is not None
        name = shorten_model_name(model) or UNKNOWN_MODEL
        counts[name] += 1
        if ttft_ms is not None:
            ttft[name].append(ttft_ms)
        if stream_ms and tokens:
            speed[name].append(tokens * 1000 / stream_ms)

    edits = [0] * days
    for (moment,) in await MessageEdit.filter(owner=owner, edited_at__gte=first).values_list(
            "edited_at"):
        if (i := day(moment)) is not None:
            edits[i] += 1

    up_models = _ordered(sum(up, Counter()))
    down_models = _ordered(sum(down, Counter()))
    rate = [{"regenerated %": 100 * r / n} if n else {} for r, n in zip(regenerated, replies,
                                                                           strict=True)]
    times = [ModelTimes(model, counts[model],
                        round(statistics.median(ttft[model])) if ttft[model] else None,
                        round(statistics.median(speed[model]), 1) if speed[model] else None)
             for model in _ordered(counts)]
    with_ttft = [t for t in times if t.median_ttft_ms is not None]
    with_speed = [t for t in times if t.median_tokens_per_second is not None]
    return Board(
        days=labels,
        upvotes=charts.stacked(labels, [dict(c) for c in up], up_models),
        downvotes=charts.stacked(labels, [dict(c) for c in down], down_models),
        regeneration_rate=charts.stacked(labels, rate, ["regenerated %"]),
        edits=charts.stacked(labels, [{"edits": n} for n in edits], ["edits"]),
        ttft=charts.stacked([t.model for t in with_ttft],
                            [{"median ms": t.median_ttft_ms} for t in with_ttft],
                            ["median ms"]),
        speed=charts.stacked([t.model for t in with_speed],
                             [{"tokens/s": t.median_tokens_per_second} for t in with_speed],
                             ["tokens/s"]),
        votes=votes, replies=sum(replies), regenerations=sum(regenerated),
        edit_count=sum(edits),
        per_day=[{"day": labels[i], "up": sum(up[i].values()), "down": sum(down[i].values()),
                  "replies": replies[i], "regenerated": regenerated[i], "edits": edits[i]}
                 for i in range(days)
                 if replies[i] or edits[i] or up[i] or down[i]],
        times=times,
    )
