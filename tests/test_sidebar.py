"""Day groups and relative times of the sidebar, in the person's own time zone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hyperchat.chat.sidebar import group_of, relative_time, zone_named
from hyperchat.store.schema import Conversation, Message, Role, Status
from tests.helpers import owner_of, soup

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("moment", "group"), [
    (NOW, "Today"),
    (datetime(2026, 12, 4, 0, 0, tzinfo=UTC), "Today"),           # today's first minute
    (datetime(2026, 12, 3, 23, 59, tzinfo=UTC), "Yesterday"),     # yesterday's last
    (datetime(2026, 12, 3, 0, 0, tzinfo=UTC), "Yesterday"),
    (datetime(2026, 12, 2, 23, 59, tzinfo=UTC), "Previous 7 days"),
    (datetime(2026, 11, 27, 0, 0, tzinfo=UTC), "Previous 7 days"),  # 7 days back
    (datetime(2026, 11, 26, 23, 59, tzinfo=UTC), "Older"),          # 8 days back
    (NOW + timedelta(minutes=5), "Today"),                          # a clock a little ahead
])
def test_group_boundaries_in_utc(moment, group):
    assert group_of(moment, NOW) == group


def test_groups_follow_the_persons_calendar_day():
    # NOW is 07:00 on the 4th in Los Angeles (UTC-8) and 00:00 on the 5th in Tokyo (UTC+9).
    late = datetime(2026, 12, 4, 7, 30, tzinfo=UTC)  # 23:30 on the 3rd in Los Angeles
    assert group_of(late, NOW) == "Today"
    assert group_of(late, NOW, ZoneInfo("America/Los_Angeles")) == "Yesterday"
    afternoon = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 23:00 on the 4th in Tokyo
    assert group_of(afternoon, NOW) == "Today"
    assert group_of(afternoon, NOW, ZoneInfo("Asia/Tokyo")) == "Yesterday"


@pytest.mark.parametrize("name", [None, "", "Nope/Nowhere", "../../etc/passwd", "x" * 100,
                                  "UTC\x00", "Europe/"])
def test_unknown_or_hostile_zone_names_mean_utc(name):
    assert zone_named(name) is UTC


def test_known_zone_name():
    assert zone_named("Europe/Paris") == ZoneInfo("Europe/Paris")


def test_relative_time_of_old_moments_is_a_date_in_the_persons_zone():
    moment = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    assert relative_time(moment, NOW) == "01 Nov 2026"
    assert relative_time(moment, NOW, ZoneInfo("Asia/Tokyo")) == "02 Nov 2026"


async def test_sidebar_groups_by_the_tz_cookie(client):
    owner = await owner_of(client)
    now = datetime.now(UTC)
    moment = now - timedelta(hours=20)
    conversation = await Conversation.create(owner=owner, title="t", last_activity_at=moment)
    await Message.create(conversation=conversation, role=Role.USER, content="hi",
                         status=Status.COMPLETE)
    # Across 26 hours of offsets, some zone puts a midnight between `moment` and now where
    # UTC does not (or the reverse): there the group differs.
    in_utc = group_of(moment, now)
    name = next(n for n in (f"Etc/GMT{h:+d}" for h in range(-14, 13))
                if group_of(moment, now, ZoneInfo(n)) != in_utc)

    async def heading() -> str:
        response = await client.get("/conversations", headers={"HX-Request": "true"})
        return soup(await response.get_data(as_text=True)).select_one(".group-heading") \
            .get_text(strip=True)

    assert await heading() == in_utc
    client.set_cookie("localhost", "tz", name)
    assert await heading() == group_of(moment, now, ZoneInfo(name))
