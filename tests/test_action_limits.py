"""Action limits: per person, per minute, configurable; over a limit -> 429 with
Retry-After and a message that says when to retry; nothing is changed."""

import pytest

from hyperchat.metering.limits import Limit, TooManyRequests, check
from hyperchat.metering.quotas import MemoryQuotaStore
from hyperchat.store.schema import Message
from tests.fake_upstream import Tokens
from tests.helpers import Clock, act, exchange, finished, new_id, soup


async def test_check_names_the_limit_and_when_to_retry():
    store = MemoryQuotaStore(clock=Clock())
    await check(store, "me", Limit("regenerations", 1, 60))
    with pytest.raises(TooManyRequests) as caught:
        await check(store, "me", Limit("regenerations", 1, 60))
    assert caught.value.status == 429 and caught.value.retry_after == 60
    assert caught.value.headers == {"Retry-After": "60"}
    assert caught.value.message.startswith("Too many regenerations: at most 1 per minute. "
                                           "Try again in 1 min")
    await check(store, "someone else", Limit("regenerations", 1, 60))


LIMITED = pytest.mark.config(CHAT_REGENERATION_RATE_LIMIT=2, CHAT_ACTIONS_RATE_LIMIT=3)


# A retry is a regeneration (chat/message_actions.regenerate): it counts against, and is
# refused by, the same limit.
@LIMITED
@pytest.mark.parametrize("actions", [
    ["regenerate", "regenerate", "regenerate"], ["regenerate", "retry", "retry"],
], ids=["regenerations", "retries"])
async def test_regenerations_over_the_limit_get_429_with_retry_after(client, fake_upstream,
                                                                     actions):
    q, a = await exchange(client, fake_upstream, "q", "a")
    *allowed, refused = actions
    for action in allowed:
        fake_upstream.enqueue(Tokens([action]))
        response = await act(client, a, action)
        assert response.status_code == 200
        await finished(new_id(await response.get_data(as_text=True))[0])
    response = await act(client, a, refused)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    alert = soup(await response.get_data(as_text=True)).get_text(" ", strip=True)
    assert "Too many regenerations: at most 2 per minute" in alert
    assert "Try again in" in alert
    assert response.headers["HX-Retarget"] == "#alerts"
    assert await Message.filter(parent_id=q).count() == 3


@LIMITED
async def test_all_actions_share_one_limit_per_person(app, client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    for _ in range(3):
        assert (await act(client, a, "select")).status_code == 200
    response = await act(client, a, "delete")
    assert response.status_code == 429
    assert "Too many actions: at most 3 per minute" in await response.get_data(as_text=True)
    assert (await Message.get(id=a)).deleted_at is None
    # Another person is not limited by this one.
    other = app.test_client()
    q2, a2 = await exchange(other, fake_upstream, "q", "a")
    assert (await act(other, a2, "select")).status_code == 200


@LIMITED
async def test_an_edit_over_the_limit_keeps_the_text_in_the_form(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    for text in ("one", "two"):
        fake_upstream.enqueue(Tokens(["r"]))
        response = await act(client, q, "edit", content=text)
        assert response.status_code == 200
        for id_ in new_id(await response.get_data(as_text=True)):
            await finished(id_)
    response = await act(client, q, "edit", content="three")
    assert response.status_code == 429
    # The answer goes to the alert region only: the edit form (and its text) stays.
    assert response.headers["HX-Retarget"] == "#alerts"
    assert not await Message.filter(content="three").exists()
