"""Full-text search over one owner's conversation titles and messages, on SQLite and PostgreSQL.

The indexes come from migration 2 (migrations/<dialect>/models/2_*_fulltext_search.py):
external-content FTS5 tables kept in step by triggers on SQLite, expression GIN indexes on
PostgreSQL. The database finds and ranks; Python cuts the snippet and marks the matched words.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape
from tortoise import connections
from tortoise.expressions import Q

from hyperchat.chat import rooms
from hyperchat.store.schema import Attachment, AttachmentStatus, Message

# A longer query is cut here: a handful of words already narrows the results, and each one
# costs an index lookup.
MAX_TERMS = 16
# Messages are ranked among the newest this many that match, not among all of them: a common
# word matches tens of thousands of messages, and scoring and sorting every one of them is
# what made search slow (p95 ~150 ms over 100,000 messages; bench/search_bench.py). Reading
# the index newest first and stopping here keeps the cost flat; for a chat history the best
# matches of recent months are what a person is after anyway.
CANDIDATES = 500
SNIPPET_WORDS = 16
# Runs of letters and digits, as FTS5's unicode61 tokenizer splits text (it treats "_" as a
# separator); used to find the words to mark in a snippet.
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    message_id: int | None  # None: the conversation's title matched
    role: str | None
    snippet: Markup  # escaped text, matched words in <mark>
    last_activity_at: datetime


def terms(query: str) -> list[str]:
    """Return the words of a user's query: the only part of it that reaches the database.

    Only letters, digits and "_" survive, so no quote, "*", ":", "^", parenthesis or "-" can
    change the meaning of the FTS query; operator words (OR, NEAR, NOT) are quoted later and
    so are searched as plain words.
    """
    return re.findall(r"\w+", query)[:MAX_TERMS]


async def search(owner: str, query: str, *, limit: int = 20,
                 archived: bool | None = None) -> list[SearchHit]:
    """Return the owner's best-matching titles and messages, best first, then most recent.

    Every word must match; the last one also as a prefix (search as you type). Conversations in
    the trash never match; `archived` None means archived and active ones alike.
    """
    words = terms(query)
    if not words or limit < 1:
        return []
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        sql, params = _sqlite_query(words, owner, limit, archived)
    else:
        sql, params = _postgres_query(words, owner, limit, archived)
    rows = await conn.execute_query_dict(sql, params)
    hits = [
        SearchHit(
            conversation_id=row["conversation_id"],
            conversation_title=row["title"],
            message_id=row["message_id"],
            role=row["role"],
            snippet=(highlight(row["title"], words) if row["message_id"] is None
                     else highlight(row["content"], words, SNIPPET_WORDS)),
            last_activity_at=_datetime(row["last_activity_at"]),
        )
        for row in rows
    ]
    # Files sent with messages: their names and text, after the messages' own matches.
    found = {hit.message_id for hit in hits}
    for hit in await _file_hits(words, owner, limit, archived):
        if len(hits) >= limit:
            break
        if hit.message_id not in found:
            found.add(hit.message_id)
            hits.append(hit)
    return hits


# Files searched per query: the newest matching ones of the owner. Their text is not in the
# full-text indexes (a file can hold a book); a substring match over one person's files is
# cheap at the sizes a chat's files come in.
FILE_CANDIDATES = 20


async def _file_hits(words: list[str], owner: str, limit: int,
                     archived: bool | None) -> list[SearchHit]:
    where = Q(owner=owner, status=AttachmentStatus.READY, message_id__not_isnull=True,
              conversation__deleted_at__isnull=True)
    if archived is not None:
        where &= Q(conversation__archived=archived)
    for word in words:
        where &= Q(name__icontains=word) | Q(text__icontains=word)
    files = await Attachment.filter(where).order_by("-id").limit(min(limit, FILE_CANDIDATES)) \
        .select_related("conversation")
    shown = set(await Message.filter(id__in=[f.message_id for f in files], on_path=True,
                                     deleted_at=None).values_list("id", flat=True))
    return [SearchHit(
        conversation_id=file.conversation_id, conversation_title=file.conversation.title,
        message_id=file.message_id, role="user",
        snippet=highlight(file.name, words) + Markup(": ")
        + highlight(file.text, words, SNIPPET_WORDS),
        last_activity_at=file.conversation.last_activity_at)
        for file in files if file.message_id in shown]


# The conversations someone owns, and the rooms they are a member of (chat/rooms.py).
_MINE = ("(c.owner = {} OR c.id IN (SELECT cm.conversation_id FROM conversation_member cm "
         "WHERE cm.user_id = {}))")


def _member(owner: str) -> int:
    """The account id to look rooms up by; a guest's (none) matches no row."""
    return rooms.account_id(owner) or 0


# Both queries take the newest CANDIDATES matching messages (ids grow with time), rank them
# with the matching titles as (id, score) pairs, keep `limit`, and only then read the texts.
# `rank` is lower-is-better on both: bm25() already is, ts_rank() is negated.

def _sqlite_query(words: list[str], owner: str, limit: int,
                  archived: bool | None) -> tuple[str, list]:
    # Every word is a quoted FTS5 string (a \w+ word holds no quote to escape); juxtaposed
    # strings are ANDed; `"last"*` is a prefix query.
    match = " ".join(f'"{word}"' for word in words) + "*"
    where, scope = f"{_MINE.format('?', '?')} AND c.deleted_at IS NULL", [owner, _member(owner)]
    if archived is not None:
        where, scope = where + " AND c.archived = ?", [*scope, archived]
    sql = f"""
        WITH recent AS (
            SELECT c.id AS conversation_id, m.id AS message_id,
                   bm25(message_fts) AS rank, c.last_activity_at
            FROM message_fts
            JOIN message m ON m.id = message_fts.rowid
            JOIN conversation c ON c.id = m.conversation_id
            WHERE message_fts MATCH ? AND {where} AND m.on_path AND m.deleted_at IS NULL
            ORDER BY message_fts.rowid DESC
            LIMIT {CANDIDATES}
        ), hits AS (
            SELECT c.id AS conversation_id, NULL AS message_id,
                   bm25(conversation_fts) AS rank, c.last_activity_at
            FROM conversation_fts JOIN conversation c ON c.id = conversation_fts.rowid
            WHERE conversation_fts MATCH ? AND {where}
            UNION ALL
            SELECT * FROM recent
            ORDER BY rank, last_activity_at DESC, conversation_id DESC, message_id DESC
            LIMIT ?
        )
        SELECT h.*, c.title, m.role, m.content
        FROM hits h
        JOIN conversation c ON c.id = h.conversation_id
        LEFT JOIN message m ON m.id = h.message_id
        ORDER BY h.rank, h.last_activity_at DESC, h.conversation_id DESC, h.message_id DESC"""
    return sql, [match, *scope, match, *scope, limit]


def _postgres_query(words: list[str], owner: str, limit: int,
                    archived: bool | None) -> tuple[str, list]:
    # Quoted lexemes ANDed, the last as a prefix: 'w1' & 'w2' & 'last':*. A \w+ word holds no
    # quote or backslash to escape. A word the parser drops (a lone "_") is ignored with a
    # NOTICE, never an error. to_tsvector('simple', ...) repeats the indexes' expressions.
    tsquery = " & ".join(f"'{word}'" for word in words) + ":*"
    where = f"{_MINE.format('$1', '$4')} AND c.deleted_at IS NULL"
    if archived is not None:
        where += " AND c.archived = $5"
    sql = f"""
        WITH recent AS (
            SELECT c.id AS conversation_id, m.id AS message_id,
                   -ts_rank(to_tsvector('simple', m.content), to_tsquery('simple', $2)) AS rank,
                   c.last_activity_at
            FROM message m JOIN conversation c ON c.id = m.conversation_id
            WHERE to_tsvector('simple', m.content) @@ to_tsquery('simple', $2) AND {where}
                  AND m.on_path AND m.deleted_at IS NULL
            ORDER BY m.id DESC
            LIMIT {CANDIDATES}
        ), hits AS (
            SELECT c.id AS conversation_id, NULL::int AS message_id,
                   -ts_rank(to_tsvector('simple', c.title), to_tsquery('simple', $2)) AS rank,
                   c.last_activity_at
            FROM conversation c
            WHERE to_tsvector('simple', c.title) @@ to_tsquery('simple', $2) AND {where}
            UNION ALL
            SELECT * FROM recent
            ORDER BY rank, last_activity_at DESC, conversation_id DESC, message_id DESC
            LIMIT $3
        )
        SELECT h.*, c.title, m.role, m.content
        FROM hits h
        JOIN conversation c ON c.id = h.conversation_id
        LEFT JOIN message m ON m.id = h.message_id
        ORDER BY h.rank, h.last_activity_at DESC, h.conversation_id DESC, h.message_id DESC"""
    return sql, [owner, tsquery, limit, _member(owner)] + (
        [archived] if archived is not None else [])


def highlight(text: str, words: list[str], size: int | None = None) -> Markup:
    """Return `text` escaped, with the words that match the query in <mark>; with `size`, only
    the window of that many words that holds the most distinct query words.

    Built here rather than by snippet()/ts_headline(): ts_headline drops anything that looks
    like an HTML tag (a message about `<div>` would lose it), and doing it in one place gives
    the same snippets on both databases. The database's text is never trusted as markup.
    """
    # Match as the indexes do: case-insensitive, "_" splits a word, accents folded (FTS5's
    # remove_diacritics; PostgreSQL keeps accents, so it only finds exact ones to mark anyway).
    parts = [_fold(part) for word in words for part in WORD.findall(word)]
    exact, prefix = set(parts[:-1]), parts[-1] if parts else None
    found = list(WORD.finditer(text))
    matched = {}  # index in `found` -> the query part it matches
    for i, m in enumerate(found):
        folded = _fold(m.group())
        if folded in exact:
            matched[i] = folded
        elif prefix and folded.startswith(prefix):
            matched[i] = prefix

    start, end = 0, len(found)
    if size is not None and len(found) > size:
        # Open a little before a match, so the match has context on both sides.
        starts = sorted({max(0, min(i - 3, len(found) - size)) for i in matched}) or [0]
        start = max(starts, key=lambda s: len({matched[i] for i in matched if s <= i < s + size}))
        end = start + size

    out = [Markup("…")] if start > 0 else []
    pos = found[start].start() if start > 0 else 0
    stop = found[end - 1].end() if end < len(found) else len(text)
    for i in range(start, end):
        m = found[i]
        out.append(escape(_squeeze(text[pos:m.start()])))
        out.append(Markup("<mark>{}</mark>").format(m.group()) if i in matched
                   else escape(m.group()))
        pos = m.end()
    out.append(escape(_squeeze(text[pos:stop])))
    if end < len(found):
        out.append(Markup("…"))
    return Markup("").join(out).strip()


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _squeeze(gap: str) -> str:
    # A snippet is one line: newlines and indentation between words become one space.
    return re.sub(r"\s+", " ", gap)


def _datetime(value: datetime | str) -> datetime:
    # Raw queries bypass the ORM's conversion: SQLite returns the stored ISO text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
