"""Full-text search (hyperchat.chat.search) on both databases: what it finds, what it must
never find, how it ranks, and snippets that are safe to render."""

import shutil
from datetime import UTC, datetime, timedelta

import aiosqlite
import pytest
from aerich import Command
from markupsafe import Markup
from tortoise import connections
from tortoise.context import TortoiseContext

from hyperchat import create_app
from hyperchat.chat import search as search_module
from hyperchat.chat.search import highlight, search
from hyperchat.store import database as db
from hyperchat.store.schema import Conversation, Message, Role
from tests.helpers import soup

OWNER = "owner-1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _dialect() -> str:
    return connections.get("default").capabilities.dialect


async def _conversation(title="New chat", owner=OWNER, at=T0, **fields) -> Conversation:
    return await Conversation.create(owner=owner, title=title, last_activity_at=at, **fields)


async def _message(conversation, content, role=Role.USER) -> Message:
    return await Message.create(conversation=conversation, role=role, content=content)


def _marked(hit) -> list[str]:
    return [mark.get_text() for mark in soup(str(hit.snippet)).find_all("mark")]


async def test_finds_messages_by_their_content(app):
    conversation = await _conversation("Python questions")
    message = await _message(conversation, "How do decorators work in Python?", Role.ASSISTANT)
    await _message(conversation, "Something unrelated")

    hits = await search(OWNER, "decorators")

    assert [(h.conversation_id, h.message_id, h.role) for h in hits] == [
        (conversation.id, message.id, "assistant")]
    assert hits[0].conversation_title == "Python questions"
    assert hits[0].last_activity_at == T0
    assert isinstance(hits[0].snippet, Markup) and _marked(hits[0]) == ["decorators"]


async def test_finds_conversations_by_their_title(app):
    conversation = await _conversation("Trip to Lisbon")
    await _message(conversation, "Where should we eat?")

    hits = await search(OWNER, "lisbon")

    assert [(h.conversation_id, h.message_id, h.role) for h in hits] == [
        (conversation.id, None, None)]
    assert str(hits[0].snippet) == "Trip to <mark>Lisbon</mark>"


async def test_last_word_matches_as_a_prefix(app):
    conversation = await _conversation()
    await _message(conversation, "Python decorators explained")

    assert len(await search(OWNER, "decor")) == 1
    assert _marked((await search(OWNER, "python decor"))[0]) == ["Python", "decorators"]


async def test_only_the_last_word_matches_as_a_prefix(app):
    conversation = await _conversation()
    await _message(conversation, "Python decorators explained")

    assert await search(OWNER, "decor python") == []


async def test_every_word_must_match(app):
    conversation = await _conversation()
    both = await _message(conversation, "red apples and green pears")
    await _message(conversation, "red cars")
    await _message(conversation, "green pears only")

    assert [h.message_id for h in await search(OWNER, "red pears")] == [both.id]
    assert [h.message_id for h in await search(OWNER, "pears red")] == [both.id]


async def test_better_matches_rank_first(app):
    conversation = await _conversation()
    weak = await _message(conversation, "kiwi " + " ".join(f"filler{i}" for i in range(60)))
    strong = await _message(conversation, "kiwi kiwi kiwi smoothie")

    assert [h.message_id for h in await search(OWNER, "kiwi")] == [strong.id, weak.id]


async def test_messages_are_ranked_among_the_newest_candidates(app, monkeypatch):
    """A common word matches thousands of messages: only the newest CANDIDATES are scored,
    of the owner's own (another owner's newer messages take no place among them)."""
    monkeypatch.setattr(search_module, "CANDIDATES", 3)
    mine = await _conversation()
    oldest_best = await _message(mine, "kiwi kiwi kiwi kiwi")
    newer = [await _message(mine, "kiwi " + " ".join(f"filler{i}" for i in range(20)))
             for _ in range(3)]
    theirs = await _conversation(owner="someone-else")
    for _ in range(5):
        await _message(theirs, "kiwi")

    hits = await search(OWNER, "kiwi")
    assert sorted(h.message_id for h in hits) == sorted(m.id for m in newer)
    assert oldest_best.id not in {h.message_id for h in hits}


async def test_equal_matches_rank_most_recent_conversation_first(app):
    old = await _conversation("Old", at=T0)
    new = await _conversation("New", at=T0 + timedelta(days=1))
    older = await _message(old, "mango lassi recipe")
    newer = await _message(new, "mango lassi recipe")

    assert [h.message_id for h in await search(OWNER, "mango")] == [newer.id, older.id]


async def test_limit_caps_the_results(app):
    conversation = await _conversation()
    for i in range(5):
        await _message(conversation, f"papaya number {i}")

    assert len(await search(OWNER, "papaya", limit=3)) == 3
    assert await search(OWNER, "papaya", limit=0) == []


async def test_snippet_escapes_the_text_and_marks_the_matches(app):
    conversation = await _conversation("<b>bold</b> title & more")
    await _message(conversation, "<script>alert(1)</script> decorators & <div> \x02 tags\x03")

    [hit] = await search(OWNER, "decor")
    html = str(hit.snippet)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;div&gt;" in html and "&amp;" in html
    assert "<mark>decorators</mark>" in html
    # Only our <mark> elements are markup: the rest parses back to the original text.
    assert [tag.name for tag in soup(html).find_all(True)] == ["mark"]

    [title_hit] = await search(OWNER, "bold")
    assert str(title_hit.snippet) == "&lt;b&gt;<mark>bold</mark>&lt;/b&gt; title &amp; more"


async def test_snippet_is_a_short_window_around_the_match(app):
    conversation = await _conversation()
    words = [f"w{i}" for i in range(200)]
    words[150] = "needle"
    await _message(conversation, "\n\n".join(words))

    [hit] = await search(OWNER, "needle")
    text = soup(str(hit.snippet)).get_text()
    assert text.startswith("…") and text.endswith("…")
    assert "\n" not in text
    assert 10 <= len(text.strip("…").split()) <= 20
    assert "w149 needle w151" in text and _marked(hit) == ["needle"]


async def test_other_owners_conversations_never_match(app):
    mine = await _conversation("Quince jam")
    theirs = await _conversation("Quince jam", owner="owner-2")
    await _message(theirs, "quince quince quince")

    assert [h.conversation_id for h in await search(OWNER, "quince")] == [mine.id]
    assert {h.conversation_id for h in await search("owner-2", "quince")} == {theirs.id}
    assert await search("owner-3", "quince") == []


async def test_trashed_conversations_never_match(app):
    trashed = await _conversation("Guava notes", deleted_at=T0)
    await _message(trashed, "guava guava")
    kept = await _conversation("Guava list")

    assert [h.conversation_id for h in await search(OWNER, "guava")] == [kept.id]
    assert [h.conversation_id for h in await search(OWNER, "guava", archived=None)] == [kept.id]


@pytest.mark.parametrize(("archived", "expected"), [
    (None, {"active", "archived"}),
    (False, {"active"}),
    (True, {"archived"}),
])
async def test_archived_filter(app, archived, expected):
    active = await _conversation("active")
    await _message(active, "lychee")
    stored = await _conversation("archived", archived=True)
    await _message(stored, "lychee")

    hits = await search(OWNER, "lychee", archived=archived)
    assert {h.conversation_title for h in hits} == expected


async def test_edited_message_is_found_by_its_new_text_only(app):
    conversation = await _conversation()
    message = await _message(conversation, "original wording")
    # Both ways the app writes content: a queryset update (streaming) and save().
    await Message.filter(id=message.id).update(content="revised wording")
    assert await search(OWNER, "original") == []
    assert [h.message_id for h in await search(OWNER, "revised")] == [message.id]

    message.content = "final wording"
    await message.save()
    assert await search(OWNER, "revised") == []
    assert [h.message_id for h in await search(OWNER, "final")] == [message.id]


async def test_updating_other_fields_keeps_the_message_searchable(app):
    conversation = await _conversation()
    message = await _message(conversation, "persimmon")
    await Message.filter(id=message.id).update(rating=1)

    assert [h.message_id for h in await search(OWNER, "persimmon")] == [message.id]


async def test_deleted_message_no_longer_matches(app):
    conversation = await _conversation()
    message = await _message(conversation, "tamarind paste")
    await message.delete()

    assert await search(OWNER, "tamarind") == []


async def test_renamed_conversation_is_found_by_its_new_title_only(app):
    conversation = await _conversation("Draft plan")
    conversation.title = "Launch plan"
    await conversation.save()

    assert await search(OWNER, "draft") == []
    assert [h.conversation_id for h in await search(OWNER, "launch")] == [conversation.id]


async def test_purged_conversation_and_its_messages_no_longer_match(app):
    conversation = await _conversation("Durian facts")
    await _message(conversation, "durian smell")
    await conversation.delete()  # cascades to the messages

    assert await search(OWNER, "durian") == []


@pytest.mark.parametrize("query", ["", "   ", "!!!", "🙂", "\"'*:^(){}-"])
async def test_query_without_words_returns_nothing(app, query):
    conversation = await _conversation("Anything")
    await _message(conversation, "anything at all !!! 🙂")

    assert await search(OWNER, query) == []


HOSTILE = [
    '"', '""', "'", "*", "-", "-foo", "NEAR", "NEAR(a b)", "OR", "AND NOT", "a OR b", ":", "^",
    "(", ")", "{", "col:foo", "title:foo", "content:foo", "!!!", "%", "_", "\\", "🙂", "🙂 hello",
    "你好", "مرحبا", "привет", "café", "x" * 5000, "a " * 2500, "'; DROP TABLE message; --",
    "\" OR 1=1 --", "') OR ('1'='1", "foo\x00bar", "\x02mark\x03", "*:*", "!foo & bar | baz",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_query_never_raises_nor_matches_everything(app, query):
    conversation = await _conversation("Weather report")
    await _message(conversation, "Sunny with light winds")
    await _message(conversation, "Rain expected tomorrow")

    assert await search(OWNER, query) == []
    # Still there: nothing in the query reached the database as SQL.
    assert await Message.all().count() == 2
    assert len(await search(OWNER, "rain")) == 1


@pytest.mark.parametrize(("content", "query"), [
    ("Привет, мир", "привет"),
    ("Привет, мир", "ПРИВЕТ МИ"),
    ("مرحبا بالعالم", "مرحبا"),
    ("你好 世界", "你好"),
    ("Café au lait", "café"),
    ("snake_case_name here", "snake_case"),
    ("🙂 hello there", "🙂 hello"),
])
async def test_finds_words_in_any_script(app, content, query):
    conversation = await _conversation()
    message = await _message(conversation, content)

    hits = await search(OWNER, query)
    assert [h.message_id for h in hits] == [message.id]
    assert _marked(hits[0])


async def test_accents_are_folded_on_sqlite(app):
    conversation = await _conversation()
    message = await _message(conversation, "Un café crème")

    hits = await search(OWNER, "cafe creme")
    if _dialect() == "sqlite":
        assert [h.message_id for h in hits] == [message.id]
        assert _marked(hits[0]) == ["café", "crème"]
    else:
        # PostgreSQL's 'simple' configuration keeps accents (folding needs `unaccent`).
        assert hits == []


def test_highlight_marks_exact_words_and_a_prefix_for_the_last_one():
    html = str(highlight("Decorators decorate; the DECOR is new", ["decor"]))
    assert html == "<mark>Decorators</mark> <mark>decorate</mark>; the <mark>DECOR</mark> is new"
    html = str(highlight("decor decorators", ["decor", "x"]))
    assert html == "<mark>decor</mark> decorators"


def test_highlight_window_prefers_the_most_distinct_words():
    words = ["alpha"] + [f"w{i}" for i in range(50)] + ["alpha", "beta"] + ["w"] * 50
    html = str(highlight(" ".join(words), ["alpha", "beta"], size=8))
    assert html.startswith("…") and "<mark>alpha</mark> <mark>beta</mark>" in html


async def test_migration_indexes_rows_that_already_exist(app_config, tmp_path, monkeypatch):
    """Upgrading a database that already has conversations makes them searchable at once."""
    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL builds an index over existing rows by definition")
    url = f"sqlite://{tmp_path}/old.sqlite3"
    before = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_ROOT, before)
    for path in [*before.glob("*/models/2_*"), *before.glob("*/models/3_*")]:
        path.unlink()
    monkeypatch.setattr(db, "MIGRATIONS_ROOT", before)
    await db.migrate(url)
    async with aiosqlite.connect(tmp_path / "old.sqlite3") as conn:
        await conn.execute("INSERT INTO conversation (id, share_id, owner, title, archived,"
                           " last_activity_at, created_at, updated_at) VALUES (1, 's', ?,"
                           " 'Old chat', 0, '2026-01-01', '2026-01-01', '2026-01-01')", [OWNER])
        await conn.execute("INSERT INTO message (conversation_id, role, content, rating,"
                           " tokens_estimated, status, created_at) VALUES"
                           " (1, 'user', 'fig chutney', 0, 0, 'complete', '2026-01-01')")
        await conn.commit()
    monkeypatch.undo()

    async with create_app({**app_config, "DATABASE_URL": url, "RUN_MIGRATIONS": True}).test_app():
        assert len(await search(OWNER, "fig")) == 1
        assert len(await search(OWNER, "old")) == 1


async def test_migration_downgrade_removes_the_search_objects(app_config, tmp_path):
    if not app_config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("checked on SQLite, where the objects are many; PostgreSQL drops two indexes")
    url = f"sqlite://{tmp_path}/down.sqlite3"
    await db.migrate(url)
    async with TortoiseContext(), Command(tortoise_config=db.tortoise_config(url), app="models",
                                          location=str(db.migrations_location(url))) as command:
        # Down to before migration 3 (later migrations, which come after it, go too).
        later = await command.downgrade(version=3, delete=False)
        [prefixes] = [name for name in later if name.startswith("3_")]
        async with aiosqlite.connect(tmp_path / "down.sqlite3") as conn:
            sql = await conn.execute_fetchall(
                "SELECT sql FROM sqlite_master WHERE name IN ('message_fts', 'conversation_fts')")
        assert len(sql) == 2 and not any("prefix" in row[0] for row in sql)
        [undone] = await command.downgrade(version=2, delete=False)
    assert prefixes.endswith("_search_prefix_indexes.py")
    assert undone.endswith("_fulltext_search.py")

    async with aiosqlite.connect(tmp_path / "down.sqlite3") as conn:
        left = await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE name LIKE '%fts%'")
    assert left == []
    assert await db.migrate(url) == [undone, *sorted(later, key=lambda n: int(n.split("_")[0]))]
    async with aiosqlite.connect(tmp_path / "down.sqlite3") as conn:
        sql = await conn.execute_fetchall(
            "SELECT sql FROM sqlite_master WHERE name IN ('message_fts', 'conversation_fts')")
    assert len(sql) == 2 and all("prefix='1 2 3'" in row[0] for row in sql)
