"""What several views share: the reply generations and their live text, publishing a change
to a conversation's other tabs, the action limits, and answering JSON, htmx or a plain form.
Views import this module, never each other."""

import secrets
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from quart import (
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from hyperchat.chat import (
    audit,
    conversations,
    feedback,
    message_actions,
    rooms,
    sending,
    tasks,
    versions,
)
from hyperchat.chat.generation import Generations
from hyperchat.live import tab_events
from hyperchat.live.reply_buffer import Batch
from hyperchat.metering import limits, model_choice, quotas
from hyperchat.store.schema import Conversation, Message, MessageFeedback, Role, Status
from hyperchat.web import event_stream, htmx, payloads
from hyperchat.web.errors import BadRequest, wants_json
from hyperchat.web.security import TAB_HEADER, current_user

WINDOW = 50  # messages a conversation opens with; earlier ones load on scroll


def generations() -> Generations:
    return current_app.extensions["generations"]


async def live_snapshots(messages: list[Message]) -> dict[int, Batch]:
    """Text (and reasoning) so far of the replies still streaming, keyed by message id."""
    live = {}
    for message in messages:
        if message.status == Status.STREAMING:
            snapshot = await generations().hub.snapshot(message.id)
            if snapshot is not None:
                live[message.id] = snapshot
    return live


async def message_window(conversation: Conversation, around: int | None):
    """The latest WINDOW messages, or WINDOW messages centred on `around` (a permalink)."""
    query = versions.shown(conversation.id)
    if around is not None and await query.filter(id=around).exists():
        half = WINDOW // 2
        before = await query.filter(id__lte=around).order_by("-id").limit(half + 1)
        after = await query.filter(id__gt=around).order_by("id").limit(half)
        messages = list(reversed(before)) + list(after)
    else:
        messages = list(reversed(await query.order_by("-id").limit(WINDOW)))
    has_earlier = bool(messages) and await query.filter(id__lt=messages[0].id).exists()
    has_later = bool(messages) and await query.filter(id__gt=messages[-1].id).exists()
    await rooms.own_votes(messages, conversation)
    return await versions.annotate(messages), has_earlier, has_later


async def event_stream_response(events: AsyncIterator[bytes]) -> Response:
    """An SSE response that holds one of the person's and one of their address's stream
    slots (SSE_MAX_PER_PERSON, SSE_MAX_PER_ADDRESS: event channels and reply streams alike)
    for as long as it is open. Over either cap, 429 and Retry-After, before anything streams.

    Refused rather than closing the oldest: closing it makes its tab reconnect at once and
    close the next oldest, so tabs over the cap would take turns evicting each other, and
    across workers the oldest may be on another one. A refusal touches only the new one.
    The slots live in the quota store (Redis across workers) and expire unless refreshed
    while the stream runs, so a worker that dies does not keep them."""
    config = current_app.config
    store = current_app.extensions["quota_store"]
    ttl = max(60.0, 4 * config["SSE_KEEPALIVE"])
    caps = {f"sse:person:{current_user()}": config["SSE_MAX_PER_PERSON"],
            f"sse:address:{request.remote_addr or 'unknown'}": config["SSE_MAX_PER_ADDRESS"]}
    token = secrets.token_hex(8)
    full = await store.acquire(caps, token, ttl)
    if full is not None:
        who = "your address" if full.startswith("sse:address:") else "you"
        refusal = limits.TooManyRequests(
            f"Too many live connections open for {who} (at most {caps[full]}): close some "
            "tabs of this app, then reload.", 10)
        # Close the connection with the answer: kept alive, every refused attempt would
        # hold a file descriptor for the server's keep-alive timeout, the very thing capped.
        refusal.headers["Connection"] = "close"
        raise refusal
    keys = list(caps)

    async def held():
        refreshed = time.monotonic()
        try:
            async for chunk in events:
                yield chunk
                # The follow loops yield a keep-alive at least every SSE_KEEPALIVE seconds.
                if time.monotonic() - refreshed > ttl / 3:
                    await store.refresh(keys, token, ttl)
                    refreshed = time.monotonic()
        finally:
            try:
                # Close the view's generator now (its own cleanup: the reader it registered),
                # not whenever it is collected.
                await events.aclose()
            finally:
                await store.release(keys, token)

    response = await make_response(held(), 200, event_stream.HEADERS)
    # Quart's 60 s RESPONSE_TIMEOUT would silently cut long replies and idle channels.
    response.timeout = None
    return response


def bus() -> tab_events.EventBus:
    return current_app.extensions["events"]


def tab() -> str | None:
    """The browser tab that sent this request (static/tab.js names each tab), so that the channel
    does not send a tab the change its own response already made."""
    return request.headers.get(TAB_HEADER) or payloads.query().get("tab") or None


async def check_limits(*, generates: bool = False) -> None:
    """The action limits; an action that starts a reply also counts against the limits and
    budgets every reply does (metering/quotas.py)."""
    config = current_app.config
    window = config["CHAT_ACTIONS_RATE_WINDOW"]
    chosen = [limits.Limit("actions", config["CHAT_ACTIONS_RATE_LIMIT"], window)]
    if generates:
        chosen.insert(0, limits.Limit("regenerations", config["CHAT_REGENERATION_RATE_LIMIT"],
                                      window))
    await limits.check(current_app.extensions["quota_store"], current_user(), *chosen)
    if generates:
        await quotas.check(current_user())


async def publish(conversation_id: int, type: str, html: str,
                  data: dict | None = None) -> None:
    """Send a change to the conversation's other tabs (`html`, the partials) and to the
    programs following its JSON events (`data`, camelCase: `messageId`, `content`...)."""
    payload = None if data is None else {"conversationId": conversation_id, **data}
    await bus().publish(conversation_id, type, html, tab(), payload)


def removed_ids(change: versions.ThreadChange) -> list[int]:
    """The messages a change took off the branch shown."""
    return change.deleted + [i.target for i in change.inserts if i.swap == "outerHTML"]


async def render_change(change: versions.ThreadChange, conversation, **extra) -> str:
    """The swaps of a change, for the acting tab and the other tabs alike: in a room, every
    member's, so rendered viewer-neutral (rooms.neutral_votes)."""
    neutral = rooms.is_room(conversation)
    if neutral:
        await rooms.neutral_votes(change.messages)
    return await render_template("actions/_thread_change.html", change=change,
                                 conversation=conversation, neutral=neutral,
                                 live=await live_snapshots(change.messages), **extra)


async def publish_saved(app, conversation, before: list[int]) -> None:
    """Show what was appended to a conversation outside the app (a /v1 call saved in it) in
    its open tabs: the change of the branch shown since `before`."""
    change = await versions.change(conversation.id, before)
    async with app.app_context():
        html = await render_change(change, conversation)
    await app.extensions["events"].publish(conversation.id, tab_events.THREAD_CHANGED, html,
                                           None)


def same_origin_path(target: str | None) -> str | None:
    """`target` (a Referer, say) as a path on this site, or None when it points elsewhere:
    another host or scheme, a scheme-relative `//host`, a backslash that browsers read as a
    slash. Only what this returns may go into a redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        here = urlsplit(request.host_url)
        if (parts.scheme, parts.netloc) != (here.scheme, here.netloc):
            return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or "\\" in path \
            or any(ord(c) < 32 for c in path):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def back(default: str):
    """303 to the page the form was posted from, if it is on this site; else `default`."""
    return redirect(same_origin_path(request.referrer) or default, 303)


def answer(conversation_id: int, body: str, data: dict):
    """JSON clients get `data`, htmx the fragment; a plain form post goes back to the
    conversation."""
    if wants_json():
        return jsonify({"ok": True, **data})
    if not htmx.is_request():
        return redirect(url_for("conversations.show", conversation_id=conversation_id), 303)
    return body


def streaming(reply: Message) -> dict:
    return {"message_id": reply.id,
            "stream_url": url_for("messages.stream", message_id=reply.id)}


async def shown_now(conversation_id: int) -> dict:
    return {"shown": await versions.shown_ids(conversation_id)}


def progress_publisher(app, conversation_id: int, expected_chars: int):
    async def on_progress(message: Message, text: str, elapsed: float) -> None:
        async with app.app_context():
            html = await render_template("actions/_progress.html", message_id=message.id,
                                         chars=len(text), elapsed=elapsed)
        data = {"conversationId": conversation_id, "messageId": message.id,
                "taskId": message.id, "progress": tasks.progress(len(text), expected_chars),
                "chars": len(text), "elapsed": round(elapsed, 3)}
        await app.extensions["events"].publish(conversation_id, tab_events.REGENERATION_PROGRESS,
                                               html, None, data)
    return on_progress


def finish_publisher(app, conversation_id: int, origin: str | None):
    async def on_finish(message: Message) -> None:
        finished = await Message.get(id=message.id).select_related("conversation")
        async with app.app_context():
            html = await render_final(finished, None)
            task = await tasks.read(finished, app.extensions["generations"].hub)
        data = {"conversationId": conversation_id, "messageId": finished.id,
                "taskId": finished.id, "status": task.status, "content": finished.content,
                "error": task.error, "model": finished.model_id_used}
        await app.extensions["events"].publish(conversation_id, tab_events.MESSAGE_REGENERATED,
                                               html, None, data)
    return on_finish


async def render_final(finished: Message, reader: str | None) -> str:
    """The last frame of a reply: its finished parts, the conversation's running total and the
    sidebar's counts, all out of band (`finished` has its conversation loaded).

    A reply stream is its `reader`'s own: their vote, and the counts of their sidebar, which
    a reply changes only for the conversation's owner. Pushed to every tab (`reader` None),
    in a room it is every member's: viewer-neutral, without anyone's sidebar."""
    conversation = finished.conversation
    await versions.annotate([finished], conversation)
    neutral = reader is None and rooms.is_room(conversation)
    if neutral:
        await rooms.neutral_votes([finished])
    elif reader is not None:
        conversation.viewer = reader
        await rooms.own_votes([finished], conversation)
    counter = conversation.owner if reader in (None, conversation.owner) and not neutral \
        else None
    return await render_template("messages/_final.html", message=finished,
                                 conversation=conversation, neutral=neutral,
                                 stats=await conversations.stats(counter) if counter else None)


async def claim(reply: Message) -> None:
    """Record on a reply about to start the address that asked for it: the per-address
    limits count it while it streams, and its usage record keeps it (metering/quotas.py)."""
    reply.client_address = quotas.address()
    await Message.filter(id=reply.id).update(client_address=reply.client_address)


async def start(started: message_actions.Started, model: str | None = None,
                temperature: float | None = None) -> None:
    app = current_app._get_current_object()
    cid = started.reply.conversation_id
    await claim(started.reply)
    expected = await tasks.expected_chars(started.reply)
    await generations().start(
        started.reply, model or current_app.config["DEFAULT_MODEL"], started.context,
        temperature=temperature, prefix=started.prefix, received_at=g.get("received_at"),
        on_progress=progress_publisher(app, cid, expected),
        on_finish=finish_publisher(app, cid, tab()))


def checked_message(value) -> str:
    """A message's text from a program, stripped; BadRequest when empty or too long."""
    return sending.checked_content(value, current_app.config["MAX_MESSAGE_CHARS"],
                                   again="send it again")


async def send(conversation: Conversation | None, content: str,
               override: str | None, files: list | None = None,
               ask_ai: bool = False) -> sending.Sent:
    """Send `content` (checked) as the person's next message in `conversation` (None: a new
    one) with its model `override` (checked against the catalog), and start its reply
    unless the conversation's AI is off or, in a room, not addressed (`ask_ai`: the Ask AI
    button). The model and quotas are checked before anything is saved."""
    model = (model_choice.choose(override, conversation)
             if conversation is None or conversation.with_ai else None)
    # In a room the AI answers when addressed (or always, if the room says so); whoever
    # asks pays, so their quotas are the ones checked.
    answer = conversation is None or rooms.answers(conversation, content, model, ask_ai)
    if answer:
        await quotas.check(current_user())
    # The reply is saved claimed by this address (see claim).
    sent = await sending.send(current_user(), conversation, content, answer=answer,
                              model_override=override, files=files or [],
                              client_address=quotas.address())
    if sent.reply is not None:
        await generations().start(sent.reply, model, await sending.context_for(sent),
                                  received_at=g.get("received_at"))
    return sent


# The message actions as every view runs them (the page's forms, the JSON APIs): checked,
# limited, done in the domain, the reply started, and the change published to the other tabs
# and to the JSON events. Each returns what it did and the fragments for the acting tab.


async def regenerate(message: Message, temperature: float | None, model: str | None,
                     ) -> tuple[message_actions.Started, str]:
    """A new version of a reply (`model`: already checked against the catalog; None: the
    tiers of the reply's first answer)."""
    model = model or await model_choice.model_for_retry(message, message.conversation)
    await check_limits(generates=True)
    started = await message_actions.regenerate(message, current_user(), temperature, model)
    await start(started, model, temperature)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, tab_events.MESSAGE_REGENERATING, html,
                  regenerating(started.reply, message))
    return started, html


def regenerating(reply: Message, original: Message) -> dict:
    """The JSON of a `message_regenerating` event (a regeneration, retry or continuation)."""
    return {"messageId": reply.id, "taskId": reply.id, "regenerates": original.id,
            "status": tasks.PENDING}


async def edit(message: Message, content, rerun: bool) -> tuple[message_actions.Started, str]:
    """Save an edit of a user message as a new version; with `rerun` (and the AI on in its
    conversation) start a new reply to it."""
    content = sending.checked_content(
        content, current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"],
        empty="The message cannot be empty.", again="save again (your text is still there)")
    generates = rerun and message.conversation.with_ai
    model = model_choice.choose(message.model_override, message.conversation) \
        if generates else None
    await check_limits(generates=generates)
    started = await message_actions.edit(message, content, current_user(), rerun=rerun)
    if started.reply is not None:
        await start(started, model)
    html = await render_change(started.change, message.conversation)
    await publish(message.conversation_id, tab_events.MESSAGE_EDITED, html, {
        "messageId": message.id, "newMessageId": started.version_id, "content": content,
        "taskId": started.reply.id if started.reply else None})
    return started, html


async def delete(message: Message) -> tuple[versions.ThreadChange, str]:
    """Delete a message (a user message with its replies), undoable for a while."""
    await check_limits()
    change = await message_actions.delete(message, current_user())
    html = await render_change(change, message.conversation)
    await publish(message.conversation_id, tab_events.MESSAGE_DELETED, html, {
        "messageId": message.id, "removedIds": removed_ids(change)})
    return change, html


async def save_feedback(message: Message, given) -> MessageFeedback:
    """Save the person's vote on a reply with its reasons and free text (`given`: the
    fields as a form or JSON sends them), and show it in their other tabs."""
    message_actions.refuse_deleted(message)
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies take feedback.")
    rating, reasons, comment = feedback.parse(
        given, current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"])
    await check_limits()
    record = await feedback.save(message, current_user(), rating, reasons, comment)
    await audit.record(audit.FEEDBACK, message.conversation_id, current_user(), message.id,
                       rating=rating, reasons=reasons, comment_length=len(comment))
    await publish_feedback(message)
    return record


async def feedback_context(message: Message) -> dict:
    """What actions/_feedback.html needs: the person's record on the reply and its reasons."""
    record = await feedback.of(message, current_user())
    return {"message": message, "record": record, "chosen": feedback.reasons_of(record),
            "reasons": feedback.REASONS,
            "max_chars": current_app.config["CHAT_ACTIONS_MAX_CONTENT_LENGTH"]}


async def render_feedback(message: Message, editing: bool) -> str:
    return await render_template("actions/_feedback.html", editing=editing,
                                 **await feedback_context(message))


async def render_feedback_changed(message: Message, editing: bool = False) -> str:
    """The reply's vote buttons and feedback, out of band: what the other tabs are sent,
    and what the voting tab gets back (with the feedback form open: `editing`)."""
    await versions.annotate([message], message.conversation)
    await rooms.own_votes([message], message.conversation)
    return await render_template("actions/_feedback_changed.html", editing=editing,
                                 conversation=message.conversation,
                                 **await feedback_context(message))


async def publish_feedback(message: Message) -> None:
    """Other tabs: the reply's vote buttons and feedback summary."""
    record = await feedback.of(message, current_user())
    kind = tab_events.FEEDBACK_SUBMITTED
    if rooms.is_room(message.conversation):
        # In a room each person's vote is their own: only their tabs are sent it.
        kind = tab_events.personal(kind, current_user())
    await publish(message.conversation_id, kind, await render_feedback_changed(message), {
                      "messageId": message.id,
                      "feedbackType": record.feedback_type.value if record else None,
                      "rating": message.rating, "reasons": feedback.reasons_of(record),
                      "reason": record.comment if record else None})


async def vote(message: Message, rating: int) -> None:
    """Set the person's vote on a reply (1, -1, or 0 to clear it): saved as their feedback
    record, logged, and shown in their other tabs."""
    if message.role != Role.ASSISTANT:
        raise BadRequest("Only replies can be rated.")
    await feedback.record_vote(message, current_user(), rating)
    await audit.record(audit.VOTE, message.conversation_id, current_user(), message.id,
                       rating=rating)
    await publish_feedback(message)


async def room_context(conversation: Conversation, **extra) -> dict:
    """What the members panel (members/_panel.html and its parts) needs, for the person
    looking (`conversation.viewer_role`, set by web/access.py)."""
    people = await rooms.people(conversation)
    # Invite links exist in rooms only (a solo conversation refuses them).
    manager = (getattr(conversation, "viewer_role", None) in rooms.MANAGERS
               and rooms.is_room(conversation))
    return {"conversation": conversation, "people": people,
            "capacity": rooms.capacity(conversation.mode, current_app.config["ROOM_MAX_PEOPLE"]),
            "invites": await rooms.invites(conversation) if manager else [],
            "new_link": None, "error": None, **extra}


async def removed_from(conversation: Conversation, who: str) -> None:
    """Return once `who` is no longer in the room (removed, or left in another tab): what a
    member's reply stream watches beside the reply, so that it closes then. Only membership
    events (rare) cost a query."""
    events = bus()
    keepalive = current_app.config["SSE_KEEPALIVE"]
    async for event in events.follow(conversation.id, await events.position(conversation.id),
                                     keepalive):
        if event is not None and event.type in tab_events.PER_VIEWER:
            room = await Conversation.get_or_none(id=conversation.id)
            if room is None or await rooms.role_of(room, who) is None:
                return
