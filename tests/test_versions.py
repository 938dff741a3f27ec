"""Versions and branches: exactly what the model is sent after edits, regenerations, version
switches, deletes and undo, and what the page shows."""

import asyncio

from hyperchat.store.schema import Message, MessageEdit, Status
from tests.fake_upstream import Tokens
from tests.helpers import act, act_until_done, exchange, finished, new_id, sent, shown, soup, vote


async def two_exchanges(client, fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "a1")
    conversation_id = (await Message.get(id=q1)).conversation_id
    q2, a2 = await exchange(client, fake_upstream, "q2", "a2", conversation_id)
    return conversation_id, q1, a1, q2, a2


async def test_messages_form_one_branch_each_following_the_last(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    parents = {m.id: m.parent_id for m in await Message.filter(conversation_id=cid)}
    assert parents == {q1: None, a1: q1, q2: a1, a2: q2}
    assert sent(fake_upstream) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]


async def test_regenerate_sends_the_same_context_with_the_temperature(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["a2 again"]))
    response = await act(client, a2, "regenerate", temperature="0.7")
    assert response.status_code == 200
    (new,) = new_id(await response.get_data(as_text=True))
    assert (await finished(new)).content == "a2 again"
    assert sent(fake_upstream) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]
    assert fake_upstream.requests[-1]["json"]["temperature"] == 0.7
    assert (await Message.get(id=new)).temperature == 0.7
    assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                        ("assistant", "a2 again")]
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{new} .version-count").get_text() == "2/2"
    assert page.select_one(f"#msg-{new} .version-prev")["hx-post"] == f"/messages/{a2}/select"
    assert page.select_one(f"#msg-{new} .version-next").has_attr("disabled")


async def test_regenerating_an_earlier_reply_branches_off_what_followed(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["a1 v2"]))
    response = await act(client, a1, "regenerate")
    html = await response.get_data(as_text=True)
    (new,) = new_id(html)
    # The answer replaces the old version and removes the branch that followed it.
    page = soup(html)
    assert page.select_one("hx-partial")["hx-target"] == f"#msg-{a1}"
    assert {d["id"] for d in page.select('[hx-swap-oob="delete"]')} == {f"msg-{q2}", f"msg-{a2}"}
    await finished(new)
    assert sent(fake_upstream) == [("user", "q1")]
    assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1 v2")]

    # A message sent now follows the branch shown, and only that branch is its context.
    await exchange(client, fake_upstream, "q3", "a3", cid)
    assert sent(fake_upstream) == [("user", "q1"), ("assistant", "a1 v2"), ("user", "q3")]

    # Back to version 1: the old branch, exactly as it was, is shown and sent.
    response = await act(client, a1, "select")
    assert response.status_code == 200
    assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                        ("assistant", "a2")]
    await exchange(client, fake_upstream, "q4", "a4", cid)
    assert sent(fake_upstream) == [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                   ("assistant", "a2"), ("user", "q4")]


async def test_edit_makes_a_version_reruns_and_records_the_history(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["a2'"]))
    response = await act(client, q2, "edit", content="q2 edited")
    assert response.status_code == 200
    user, reply = new_id(await response.get_data(as_text=True))
    await finished(reply)
    assert sent(fake_upstream) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 edited")]
    assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1"),
                                        ("user", "q2 edited"), ("assistant", "a2'")]
    (history,) = await MessageEdit.all()
    assert (history.message_id, history.new_message_id) == (q2, user)
    assert (history.original_content, history.edited_content) == ("q2", "q2 edited")
    assert history.edited_at is not None
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{user} .version-count").get_text() == "2/2"
    # The original and its reply are kept, as the other branch.
    await act(client, q2, "select")
    assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                        ("assistant", "a2")]


async def test_ratings_belong_to_each_version(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)

    await vote(client, a2, 1)
    fake_upstream.enqueue(Tokens(["other"]))
    (new,) = await act_until_done(client, a2, "regenerate")
    assert (await Message.get(id=a2)).rating == 1
    assert (await Message.get(id=new)).rating == 0


async def test_deleted_messages_leave_the_page_and_the_context_until_undone(client,
                                                                            fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    response = await act(client, q1, "delete")
    assert response.status_code == 200
    page = soup(await response.get_data(as_text=True))
    assert {d["id"] for d in page.select('[hx-swap-oob="delete"]')} == {f"msg-{q1}", f"msg-{a1}"}
    assert page.select_one("#toast .undo-btn")["hx-post"] == f"/messages/{q1}/restore"
    assert await shown(client, cid) == [("user", "q2"), ("assistant", "a2")]
    await exchange(client, fake_upstream, "q3", "a3", cid)
    assert sent(fake_upstream) == [("user", "q2"), ("assistant", "a2"), ("user", "q3")]

    response = await act(client, q1, "restore")
    assert response.status_code == 200
    restored = soup(await response.get_data(as_text=True))
    assert new_id(str(restored)) == [q1, a1]
    # The notice says so, without an Undo to press twice.
    assert restored.select_one("#toast").get_text(strip=True) == "Restored."
    assert restored.select("#toast .undo-btn") == []
    await exchange(client, fake_upstream, "q4", "a4", cid)
    assert sent(fake_upstream)[:2] == [("user", "q1"), ("assistant", "a1")]


async def test_deleting_a_reply_alone_keeps_the_question(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    await act(client, a1, "delete")
    assert await shown(client, cid) == [("user", "q1"), ("user", "q2"), ("assistant", "a2")]
    await exchange(client, fake_upstream, "q3", "a3", cid)
    assert sent(fake_upstream) == [("user", "q1"), ("user", "q2"), ("assistant", "a2"),
                                   ("user", "q3")]


async def test_deleting_a_version_shows_its_sibling(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["a2 v2"]))
    (v2,) = await act_until_done(client, a2, "regenerate")
    response = await act(client, v2, "delete")
    assert new_id(await response.get_data(as_text=True)) == [a2]
    assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                        ("assistant", "a2")]


async def test_two_tabs_regenerating_at_once_each_get_a_version(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["x"], ttft=0.2), Tokens(["y"], ttft=0.2))
    responses = await asyncio.gather(act(client, a2, "regenerate", tab="a"),
                                     act(client, a2, "regenerate", tab="b"))
    assert [r.status_code for r in responses] == [200, 200]
    made = [new_id(await r.get_data(as_text=True))[0] for r in responses]
    assert len(set(made)) == 2
    for id_ in made:
        await finished(id_)
    versions = await Message.filter(parent_id=q2).order_by("id")
    assert [v.id for v in versions] == [a2, *sorted(made)]
    assert [v.current for v in versions] == [False, False, True]
    assert [v.on_path for v in versions] == [False, False, True]
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert [a["data-message-id"] for a in page.select("#thread article.message")] == \
        [str(q1), str(a1), str(q2), str(max(made))]
    assert page.select_one(f"#msg-{max(made)} .version-count").get_text() == "3/3"


async def test_two_tabs_sending_at_once_make_one_line(client, fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "a1")
    cid = (await Message.get(id=q1)).conversation_id
    from tests.helpers import send

    fake_upstream.enqueue(Tokens(["r1"]), Tokens(["r2"]))
    await asyncio.gather(send(client, "x", cid), send(client, "y", cid))
    for reply in await Message.filter(conversation_id=cid, status=Status.STREAMING):
        await finished(reply.id)
    rows = await Message.filter(conversation_id=cid).order_by("id")
    # Each message follows the one before it: no accidental branch.
    assert [m.parent_id for m in rows] == [None] + [m.id for m in rows[:-1]]
    assert all(m.on_path for m in rows)


async def test_continue_streams_onto_the_same_reply(client, fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "Once upon", finish_reason="length")
    reply = await Message.get(id=a1)
    assert reply.finish_reason == "length"
    page = soup(await (await client.get(f"/c/{reply.conversation_id}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{a1} .continue-btn")["hx-post"] == f"/messages/{a1}/continue"

    fake_upstream.enqueue(Tokens([" a time."]))
    response = await act(client, a1, "continue")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert new_id(html) == [a1]
    bubble = soup(html).select_one(f"#msg-{a1}")
    assert bubble.select_one(".message-body")["data-status"] == "streaming"
    assert "after=1" in bubble.select_one(".stream-source")["hx-get"]
    done = await finished(a1)
    assert done.content == "Once upon a time." and done.status == Status.COMPLETE
    assert sent(fake_upstream)[:2] == [("user", "q1"), ("assistant", "Once upon")]
    assert sent(fake_upstream)[-1][0] == "user" and "Continue" in sent(fake_upstream)[-1][1]
    assert await Message.filter(conversation_id=reply.conversation_id).count() == 2


async def test_a_stopped_reply_can_be_continued_and_a_finished_one_cannot(client,
                                                                          fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "done")
    response = await act(client, a1, "continue")
    assert response.status_code == 400
    await Message.filter(id=a1).update(status=Status.STOPPED)
    fake_upstream.enqueue(Tokens([" more"]))
    assert (await act(client, a1, "continue")).status_code == 200
    assert (await finished(a1)).content == "done more"


async def test_reply_records_its_latency_breakdown(client, fake_upstream):
    q1, a1 = await exchange(client, fake_upstream, "q1", "hello", ttft=0.2)
    reply = await Message.get(id=a1)
    assert reply.server_ms is not None and reply.server_ms >= 0
    assert reply.ttft_ms >= 150
    assert reply.stream_ms is not None
    page = soup(await (await client.get(f"/c/{reply.conversation_id}")).get_data(as_text=True))
    latency = page.select_one(f"#msg-{a1}-meta .meta-latency")
    assert f"Server: {reply.server_ms} ms" in latency.get_text()
    assert f"First token: {reply.ttft_ms} ms" in latency.get_text()


async def test_regenerate_with_another_model_sends_that_model(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a")
    fake_upstream.enqueue(Tokens(["b"], model="openai/gpt-4o-mini"))
    response = await act(client, a, "regenerate", model="openai/gpt-4o-mini", temperature="0")
    (new,) = new_id(await response.get_data(as_text=True))
    await finished(new)
    assert fake_upstream.requests[-1]["json"]["model"] == "openai/gpt-4o-mini"
    assert fake_upstream.requests[-1]["json"]["temperature"] == 0


async def test_latency_breakdown_shows_the_cost_the_provider_reported(client, fake_upstream):
    q, a = await exchange(client, fake_upstream, "q", "a", cost="0.00042")
    from hyperchat.store.schema import UsageRecord
    from tests.helpers import wait_until

    await wait_until(lambda: UsageRecord.filter(message_id=a).exists())
    cid = (await Message.get(id=a)).conversation_id
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{a}-meta .latency-cost").get_text() == "Cost: $0.000420"


async def test_two_tabs_editing_one_message_at_once_each_get_a_version(client, fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["x"]), Tokens(["y"]))
    responses = await asyncio.gather(act(client, q2, "edit", content="from a", tab="a"),
                                     act(client, q2, "edit", content="from b", tab="b"))
    assert [r.status_code for r in responses] == [200, 200]
    for response in responses:
        for id_ in new_id(await response.get_data(as_text=True)):
            await finished(id_)
    versions = await Message.filter(parent_id=a1, role="user").order_by("id")
    assert [v.content for v in versions][0] == "q2"
    assert sorted(v.content for v in versions[1:]) == ["from a", "from b"]
    assert [v.current for v in versions] == [False, False, True]
    assert await MessageEdit.all().count() == 2
    shown_now = await shown(client, cid)
    assert shown_now[2] == ("user", versions[-1].content) and len(shown_now) == 4


async def test_a_delete_and_a_regenerate_at_once_leave_a_consistent_branch(client,
                                                                          fake_upstream):
    cid, q1, a1, q2, a2 = await two_exchanges(client, fake_upstream)
    fake_upstream.enqueue(Tokens(["again"]))
    deleted, regenerated = await asyncio.gather(act(client, a2, "delete", tab="a"),
                                                act(client, a2, "regenerate", tab="b"))
    assert deleted.status_code == 200
    if regenerated.status_code == 200:
        (new,) = new_id(await regenerated.get_data(as_text=True))
        await finished(new)
        # The regeneration came first: the new version is shown, the deleted one is gone.
        assert (await shown(client, cid))[-1] == ("assistant", "again")
    else:
        # The delete came first: regenerating a deleted reply is refused, nothing is made.
        assert regenerated.status_code == 404
        assert await Message.filter(parent_id=q2).count() == 1
        assert await shown(client, cid) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]


async def test_retry_takes_the_failed_replys_place_as_its_next_version(client, fake_upstream):
    from tests.fake_upstream import InBandError

    fake_upstream.enqueue(InBandError(after_tokens=["part"]))
    from tests.helpers import send

    page = soup(await (await send(client, "q")).get_data(as_text=True))
    failed = int(page.select("article.message")[1]["data-message-id"])
    await finished(failed)
    fake_upstream.enqueue(Tokens(["whole"]))
    response = await act(client, failed, "retry")
    html = soup(await response.get_data(as_text=True))
    assert html.select_one("hx-partial")["hx-target"] == f"#msg-{failed}"
    new = int(html.select_one("article")["data-message-id"])
    await finished(new)
    cid = (await Message.get(id=new)).conversation_id
    assert await shown(client, cid) == [("user", "q"), ("assistant", "whole")]
    page = soup(await (await client.get(f"/c/{cid}")).get_data(as_text=True))
    assert page.select_one(f"#msg-{new} .version-count").get_text() == "2/2"
