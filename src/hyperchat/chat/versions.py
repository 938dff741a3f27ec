"""Versions and branches: a conversation is a tree of messages.

Each message has a parent: the message it follows (null for the first). Siblings, messages
with the same parent and role, are versions of one turn: editing a user message or
regenerating a reply adds one. Of each set of siblings one is `current`; walking from the
root through the current children gives the active branch, kept in `on_path` so that pages
read it with one indexed filter. Along any branch ids grow, so the active branch in id order
is the conversation as shown.

Deleted messages stay in the tree as tombstones (the branch runs on through them) but leave
every page and every context. The model is sent the ancestors of the message it writes: the
active branch up to there, never another branch, never a deleted or failed message.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise import connections

from hyperchat.accounts import account_names
from hyperchat.files import attachments
from hyperchat.store.database import placeholder
from hyperchat.store.schema import FINISHED, Conversation, Message, Mode, Role, UsageRecord
from hyperchat.upstream.client import ChatMessage


@dataclass(frozen=True)
class Version:
    """Where a message stands among its siblings, for the ‹ 2/3 › arrows."""

    number: int
    total: int
    previous_id: int | None
    next_id: int | None


@dataclass
class Insert:
    """Messages that joined the branch shown, swapped in at `target` (a message id, or
    None for the thread itself) with `swap`: outerHTML (in place of a message that left),
    afterend, beforebegin, or beforeend (of the thread)."""

    target: int | None
    swap: str
    messages: list[Message]


@dataclass
class ThreadChange:
    """How the branch shown changed, as swaps by message id: messages that left are
    deleted (or replaced by what took their place), runs of messages that joined are
    inserted next to a message that stayed."""

    deleted: list[int] = field(default_factory=list)
    inserts: list[Insert] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        return [m for insert in self.inserts for m in insert.messages]

    @property
    def empty(self) -> bool:
        return not (self.deleted or self.inserts)


def shown(conversation_id: int):
    """The messages a page shows: the active branch, without deleted ones."""
    return Message.filter(conversation_id=conversation_id, on_path=True, deleted_at=None)


async def lock(conversation_id: int) -> None:
    """Serialize changes to one conversation's tree (inside a transaction). PostgreSQL
    locks the conversation's row; SQLite already runs one writing transaction at a time."""
    await Conversation.filter(id=conversation_id).select_for_update().first()


async def leaf_id(conversation_id: int) -> int | None:
    """The end of the active branch, deleted or not: where a new message goes."""
    ids = await Message.filter(conversation_id=conversation_id, on_path=True) \
        .order_by("-id").limit(1).values_list("id", flat=True)
    return ids[0] if ids else None


def active_path(rows: list[tuple[int, int | None, bool]]) -> list[int]:
    """Walk (id, parent_id, current) rows from the root through the chosen children."""
    children: dict[int | None, list[tuple[int, bool]]] = defaultdict(list)
    for id_, parent_id, current in sorted(rows):
        children[parent_id].append((id_, current))
    path, parent = [], None
    while kids := children.get(parent):
        chosen = [id_ for id_, current in kids if current]
        # Normally exactly one is current; after a race, the newest wins, never none.
        parent = chosen[-1] if chosen else kids[-1][0]
        path.append(parent)
    return path


async def refresh_path(conversation_id: int) -> None:
    """Recompute `on_path` from the `current` choices, writing only what changed."""
    rows = await Message.filter(conversation_id=conversation_id).values_list(
        "id", "parent_id", "current", "on_path")
    path = set(active_path([(id_, parent, current) for id_, parent, current, _ in rows]))
    was = {id_ for id_, _, _, on_path in rows if on_path}
    if joined := path - was:
        await Message.filter(id__in=list(joined)).update(on_path=True)
    if left := was - path:
        await Message.filter(id__in=list(left)).update(on_path=False)


def siblings_of(message: Message):
    query = Message.filter(conversation_id=message.conversation_id, role=message.role)
    if message.parent_id is None:
        return query.filter(parent_id__isnull=True)
    return query.filter(parent_id=message.parent_id)


async def choose(message: Message) -> None:
    """Make `message` the current version of its turn (in a locked transaction)."""
    await siblings_of(message).filter(id__not=message.id).update(current=False)
    await Message.filter(id=message.id).update(current=True)
    message.current = True
    await refresh_path(message.conversation_id)


async def add_version(original: Message, **fields) -> Message:
    """A new sibling of `original`, made current (in a locked transaction)."""
    await siblings_of(original).update(current=False)
    message = await Message.create(
        conversation_id=original.conversation_id, parent_id=original.parent_id,
        role=original.role, version_of_id=original.id, current=True, on_path=False, **fields)
    await refresh_path(original.conversation_id)
    message.on_path = True
    return message


async def append(conversation_id: int, parent_id: int | None, **fields) -> Message:
    """A message after `parent_id` (the branch's end): its parent's only child."""
    return await Message.create(conversation_id=conversation_id, parent_id=parent_id,
                                current=True, on_path=True, **fields)


async def link_linear(conversation_id: int) -> None:
    """Give the messages of a conversation built in order (an import) that have no parent yet
    theirs: the message before it. One statement, whatever the number of messages (one per
    message held SQLite's only connection for seconds on a large import)."""
    conversation_id = int(conversation_id)  # inlined: the placeholders differ by dialect
    await connections.get("default").execute_query(
        f"UPDATE message SET parent_id = (SELECT MAX(earlier.id) FROM message AS earlier "
        f"WHERE earlier.conversation_id = {conversation_id} AND earlier.id < message.id) "
        f"WHERE conversation_id = {conversation_id} AND parent_id IS NULL")


async def context(conversation_id: int, upto: int | None,
                  conversation: Conversation | None = None) -> list[ChatMessage]:
    """What the model is sent to write the message after `upto`: `upto` and its ancestors,
    oldest first, finished and not deleted. `upto=None`: nothing (a first message).
    In a partner or group room each person's message is prefixed with their name
    ("alice: text"), the rule chat/rooms.py describes. `conversation`: the conversation,
    when the caller has it loaded (its mode and owner are not read again)."""
    if upto is None:
        return []
    rows = await Message.filter(conversation_id=conversation_id, id__lte=upto).values_list(
        "id", "parent_id", "role", "content", "status", "deleted_at", "author")
    by_id = {row[0]: row for row in rows}
    chain = []
    id_ = upto
    while id_ is not None and id_ in by_id:
        chain.append(by_id[id_])
        id_ = by_id[id_][1]
    # A person's files go with their message, as document blocks before its text.
    files = await attachments.of_messages([row[0] for row in chain if row[2] == Role.USER])
    kept = [row for row in reversed(chain)
            if row[5] is None and row[4] in FINISHED and (row[3] or files.get(row[0]))
            and row[2] in (Role.USER, Role.ASSISTANT, Role.SYSTEM)]
    room = {"mode": conversation.mode, "owner": conversation.owner} if conversation \
        else await Conversation.filter(id=conversation_id).first().values("mode", "owner")
    if not room or room["mode"] == Mode.SOLO:
        return [ChatMessage(role=str(row[2]), content=attachments.with_documents(
                    row[3], files.get(row[0], []))) for row in kept]
    authors = {row[6] or room["owner"] for row in kept if row[2] == Role.USER}
    names = await account_names(authors)
    return [ChatMessage(role=str(row[2]), content=attachments.with_documents(
                f"{names.get(row[6] or room['owner'], 'guest')}: {row[3]}"
                if row[2] == Role.USER else row[3], files.get(row[0], [])))
            for row in kept]


async def _authors(messages: list[Message], conversation: Conversation | None = None) -> None:
    """Who wrote each message (`author_who`, an owner string: the same for every viewer, so
    one rendering of a bubble serves every tab), and in a room their name (`author_name`;
    None in a solo conversation, whose bubbles show no author). `conversation`: the
    messages' one conversation, when the caller has it (its owner and mode are not read
    again)."""
    if conversation is not None:
        rooms = {conversation.id: (conversation.id, conversation.owner, conversation.mode)}
    else:
        rooms = {row[0]: row for row in await Conversation.filter(
            id__in=list({m.conversation_id for m in messages})).values_list(
            "id", "owner", "mode")}
    in_room = [m for m in messages
               if m.conversation_id in rooms and rooms[m.conversation_id][2] != Mode.SOLO]
    names = await account_names({m.author or rooms[m.conversation_id][1] for m in in_room})
    for message in messages:
        owner = rooms.get(message.conversation_id, (None, ""))[1]
        message.author_who = message.author or owner
        message.author_name = None
    for message in in_room:
        message.author_name = names.get(message.author_who, "Deleted account")


async def annotate(messages: list[Message],
                   conversation: Conversation | None = None) -> list[Message]:
    """Set what a bubble shows beyond its row: `message.version` (a Version, or None for a
    turn with one version), `message.reported_cost` (what the provider said the reply
    cost, from its usage record; None when it said nothing) and its author (`_authors`).
    `conversation`: the messages' one conversation, when the caller has it loaded."""
    if not messages:
        return messages
    # The two reads by hand (store/database.py:placeholder): pages annotate their window of
    # messages, and the last frame of every reply its finished reply.
    db = connections.get("default")
    ids = [m.id for m in messages]
    marks = ", ".join(placeholder(i) for i in range(2, len(ids) + 2))
    to_cost = UsageRecord._meta.fields_map["cost"].to_python_value
    costs = {row["message_id"]: to_cost(row["cost"]) for row in await db.execute_query_dict(
        "SELECT message_id, cost FROM usage_record "
        f"WHERE cost_source = {placeholder(1)} AND message_id IN ({marks})",
        ["provider", *ids])}
    files = await attachments.of_messages([m.id for m in messages if m.role == Role.USER])
    for message in messages:
        message.reported_cost = costs.get(message.id)
        message.attachments = files.get(message.id, [])
    await _authors(messages, conversation)
    # A turn's versions are its siblings: the children of its parent (the roots, for a
    # first message) with its role.
    conversation_ids = list({m.conversation_id for m in messages})
    parents = list({m.parent_id for m in messages if m.parent_id is not None})
    params = [*conversation_ids, *parents]
    marks = [placeholder(i) for i in range(1, len(params) + 1)]
    siblings = [f"parent_id IN ({', '.join(marks[len(conversation_ids):])})"] if parents else []
    if any(m.parent_id is None for m in messages):
        siblings.append("parent_id IS NULL")
    rows = await db.execute_query_dict(
        "SELECT id, conversation_id, parent_id, role FROM message "
        f"WHERE conversation_id IN ({', '.join(marks[:len(conversation_ids)])}) "
        f"AND deleted_at IS NULL AND ({' OR '.join(siblings)}) ORDER BY id", params)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for row in rows:
        groups[(row["conversation_id"], row["parent_id"], str(row["role"]))].append(row["id"])
    for message in messages:
        ids = groups.get((message.conversation_id, message.parent_id, str(message.role)), [])
        message.version = None
        if len(ids) > 1 and message.id in ids:
            i = ids.index(message.id)
            message.version = Version(i + 1, len(ids), ids[i - 1] if i else None,
                                      ids[i + 1] if i + 1 < len(ids) else None)
    return messages


async def annotate_appended(messages: list[Message],
                            conversation: Conversation) -> list[Message]:
    """`annotate` for messages just appended at the end of `conversation`'s branch (a send),
    without reading what is already known: each is its turn's only version (the branch's
    end has no children: the branch would go on through them), no reply has a usage record
    yet, and a message's files are those it was sent with (`message.attachments`)."""
    for message in messages:
        message.version = None
        message.reported_cost = None
        # In id order, as annotate reads them.
        message.attachments = sorted(getattr(message, "attachments", []), key=lambda a: a.id)
    await _authors(messages, conversation)
    return messages


async def shown_ids(conversation_id: int) -> list[int]:
    return await shown(conversation_id).order_by("id").values_list("id", flat=True)


async def change(conversation_id: int, before: list[int]) -> ThreadChange:
    """Compare the shown branch with `before` (shown_ids taken before an action, in the same
    transaction, so two tabs' answers each describe their own action)."""
    after = await shown_ids(conversation_id)
    stayed = set(before) & set(after)
    left = [i for i in before if i not in stayed]
    joined = [i for i in after if i not in stayed]
    loaded = {m.id: m for m in await annotate(
        await Message.filter(id__in=joined).order_by("id").select_related("conversation"))}
    result = ThreadChange()
    replaced: set[int] = set()
    run: list[int] = []
    for index, id_ in enumerate(after + [None]):
        if id_ is not None and id_ not in stayed:
            run.append(id_)
            continue
        if run:
            anchor = after[index - len(run) - 1] if index - len(run) > 0 else None
            # A message that left from the same place takes the run's place: the one acted on
            # (the old version), which the acting tab certainly shows.
            start = before.index(anchor) + 1 if anchor is not None else 0
            end = before.index(id_) if id_ is not None else len(before)
            gone = [i for i in before[start:end] if i in left]
            messages = [loaded[i] for i in run]
            if gone:
                result.inserts.append(Insert(gone[0], "outerHTML", messages))
                replaced.add(gone[0])
            elif anchor is not None:
                result.inserts.append(Insert(anchor, "afterend", messages))
            elif id_ is not None:
                result.inserts.append(Insert(id_, "beforebegin", messages))
            else:
                result.inserts.append(Insert(None, "beforeend", messages))
            run = []
    result.deleted = [i for i in left if i not in replaced]
    return result


def now() -> datetime:
    return datetime.now(UTC)
