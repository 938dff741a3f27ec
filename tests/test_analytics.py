"""The analytics page: votes by model over time, regeneration rate, edit frequency and
response times, as server-rendered SVG with the figures in tables too."""

from datetime import UTC, datetime, timedelta

import pytest

from hyperchat.metering import analytics
from hyperchat.store.schema import Message, MessageFeedback
from tests.fake_upstream import Tokens
from tests.helpers import act_until_done, exchange, owner_of, soup, vote


async def test_analytics_page_counts_votes_regenerations_edits_and_times(client,
                                                                         fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "a1", ttft=0.1)
    cid = (await Message.get(id=q1)).conversation_id
    q2, a2 = await exchange(client, fake_upstream, "q2", "a2", cid,
                            model="anthropic/claude-3.5-sonnet")
    fake_upstream.enqueue(Tokens(["a2 again"]))
    (v2,) = await act_until_done(client, a2, "regenerate")
    fake_upstream.enqueue(Tokens(["b"]))
    user, reply = await act_until_done(client, q2, "edit", content="q2!")
    await vote(client, a1, 1)
    await vote(client, reply, -1)

    response = await client.get("/analytics")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    summary = page.select_one(".analytics-summary").get_text(" ", strip=True)
    assert "1 up, 1 down" in summary
    # 4 replies, one of them a regeneration.
    assert "25% of 4 replies were regenerations" in summary
    assert "1 edit" in summary

    up = page.select("#upvotes-chart-title")[0].find_parent("svg")
    assert [r["data-model"] for r in up.select("rect[data-model]")] == ["gpt-4o-mini"]
    down = page.select_one("#downvotes-chart-title").find_parent("svg")
    assert len(down.select("rect[data-model]")) == 1
    rate = page.select_one("#regeneration-chart-title").find_parent("svg")
    (bar,) = [g for g in rate.select("g.chart-bar") if g.select("rect")]
    assert bar.select_one("title").get_text().endswith(": 25")
    edits = page.select_one("#edits-chart-title").find_parent("svg")
    assert sum(1 for g in edits.select("g.chart-bar") if g.select("rect")) == 1

    times = {row.select_one("th").get_text(): [td.get_text() for td in row.select("td")]
             for row in page.select("#analytics-times tbody tr")}
    assert set(times) == {"gpt-4o-mini", "claude-3.5-sonnet"}
    assert times["gpt-4o-mini"][0] == "3"
    assert times["gpt-4o-mini"][1].endswith(" ms")
    ttft = page.select_one("#ttft-chart-title").find_parent("svg")
    assert len([g for g in ttft.select("g.chart-bar") if g.select("rect")]) == 2
    # No script draws anything: the charts are in the HTML.
    assert page.select("script[src*=chart]") == []


async def test_analytics_are_per_person_and_empty_at_first(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await vote(client, a, 1)
    stranger = app.test_client()
    page = soup(await (await stranger.get("/analytics")).get_data(as_text=True))
    assert "0 up, 0 down" in page.select_one(".analytics-summary").get_text(" ", strip=True)
    assert page.select("svg.chart-svg") == []
    assert "No upvotes in the last 30 days." in page.get_text()


async def test_votes_fall_on_the_day_they_were_given(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    await vote(client, a, 1)
    owner = await owner_of(client)
    now = datetime.now(UTC)
    await MessageFeedback.filter(message_id=a).update(updated_at=now - timedelta(days=2))
    board = await analytics.board(owner, now=now)
    per_bar = [sum(s.value for s in bar.segments) for bar in board.upvotes.bars]
    assert per_bar[-3] == 1 and sum(per_bar) == 1
    # Older than the window: not counted.
    await MessageFeedback.filter(message_id=a).update(updated_at=now - timedelta(days=45))
    assert (await analytics.board(owner, now=now)).votes["up"] == 0


@pytest.mark.parametrize(("value", "shown"), [(0.0, "0"), (0.25, "0.25"), (0.5, "0.5"),
                                              (1.0, "1"), (1250.0, "1,250"), (2.5, "2.5")])
def test_axis_ticks_of_a_small_count_chart_are_distinct(value, shown):
    from hyperchat.web.templating import chart_value
    assert chart_value(value, "count") == shown
