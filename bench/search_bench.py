"""How fast is full-text search (hyperchat.chat.search) on a realistic amount of history?

Builds a database with 100,000 messages in 2,000 conversations of one owner (plus other owners'
conversations, some archived, some in the trash), inserting in big executemany batches so
that the FTS triggers index every row as the app's inserts would. Then times 240 varied
searches through `search()` itself, the way the sidebar calls it (Tortoise connection, limit
20, snippets built), and two baselines on the same database and connection:

- a trivial primary-key lookup: the floor any query pays (aiosqlite's thread hop, Tortoise);
- the same searches done with LIKE scans: what the index saves.

    .venv/bin/python bench/search_bench.py                   # a fresh SQLite file in a temp dir
    .venv/bin/python bench/search_bench.py postgres://...db  # an empty, existing database

Target: p95 <= 50 ms on SQLite.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import connections
from tortoise.transactions import in_transaction

from hyperchat.chat.search import search
from hyperchat.store import database as db

SEED = 20261121
OWNER = "bench-owner"
CONVERSATIONS = 2_000
MESSAGES = 100_000
OTHER_OWNERS = 5  # each with 100 conversations of 20 messages
BATCH = 10_000
SEARCHES = 240
TARGET_P95_MS = 50.0

# The most frequent words of English and of programming chat, in rough frequency order; a few
# thousand invented words from syllables fill the long tail.
COMMON = """the of and to a in is you that it for on with as this are be can your use if or
not have an by from at but we will which do more one all there so function code data when
python value file should what how example here return use list error first would need each
also new into like make then time their some these using other class test string type user
request response database query table index model field server client error message update
create delete search result page view template build install version config default option
async await thread process memory cache network token stream event handler route session
decorator generator iterator context manager exception logging format parse render schema
migration transaction lock retry timeout backend frontend browser header cookie socket""".split()
SYLLABLES = ("ka ri to mu ne sa lo vi pe da ru ko mi an el or un is ta be go fi la no zu "
             "shi tra ven mor del fin gar pol sen tur bel cra dro").split()
VOCABULARY_SIZE = 3_000


def vocabulary(rng: random.Random) -> list[str]:
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    while len(words) < VOCABULARY_SIZE:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Text:
    """Zipf-distributed words (rank r has weight 1/r), as in natural text."""

    def __init__(self, rng: random.Random, words: list[str]):
        self.rng, self.words = rng, words
        weights = [1 / rank for rank in range(1, len(words) + 1)]
        total, acc, self.cumulative = sum(weights), 0.0, []
        for weight in weights:
            acc += weight / total
            self.cumulative.append(acc)

    def sentence(self, low: int, high: int) -> str:
        n = self.rng.randint(low, high)
        chosen = self.rng.choices(self.words, cum_weights=self.cumulative, k=n)
        # Some punctuation and capitals, so the tokenizer has real work to do.
        for i in range(0, n, self.rng.randint(6, 14)):
            chosen[i] = chosen[i].capitalize()
        return " ".join(chosen).replace(" The ", ". The ") + "."


def _timestamp(dialect: str, moment: datetime):
    # Tortoise stores ISO text on SQLite; asyncpg wants datetime objects.
    return str(moment) if dialect == "sqlite" else moment


async def populate(dialect: str, rng: random.Random, text: Text) -> dict:
    conn = connections.get("default")

    def placeholders(n: int) -> str:
        marks = ["?"] * n if dialect == "sqlite" else [f"${i}" for i in range(1, n + 1)]
        return ", ".join(marks)

    start = datetime(2026, 1, 1, tzinfo=UTC)
    owners = [OWNER] * CONVERSATIONS + [
        f"other-{i}" for i in range(OTHER_OWNERS) for _ in range(100)]
    conversations = []
    for cid, owner in enumerate(owners, start=1):
        activity = _timestamp(dialect, start + timedelta(minutes=cid))
        conversations.append([
            cid, f"share{cid:017d}", owner, text.sentence(2, 6).rstrip("."),
            rng.random() < 0.1,  # archived
            _timestamp(dialect, start) if rng.random() < 0.05 else None,  # in the trash
            activity, activity, activity])
    messages = []
    for _ in range(MESSAGES):
        cid = rng.randint(1, CONVERSATIONS)
        messages.append([cid, rng.choice(("user", "assistant")), text.sentence(30, 80),
                         0, False, "complete", conversations[cid - 1][6]])
    for cid in range(CONVERSATIONS + 1, len(owners) + 1):
        messages += [[cid, "user", text.sentence(30, 80), 0, False, "complete",
                      conversations[cid - 1][6]] for _ in range(20)]

    began = time.perf_counter()
    # The statements go through the transaction's own client: the plain connection's lock is
    # held by the transaction, so using it here would wait forever.
    async with in_transaction() as tx:
        await tx.execute_many(
            "INSERT INTO conversation (id, share_id, owner, title, archived, deleted_at,"
            f" last_activity_at, created_at, updated_at) VALUES ({placeholders(9)})",
            conversations)
        for i in range(0, len(messages), BATCH):
            await tx.execute_many(
                "INSERT INTO message (conversation_id, role, content, rating, tokens_estimated,"
                f" status, created_at) VALUES ({placeholders(7)})", messages[i:i + BATCH])
    if dialect == "postgres":
        await conn.execute_script("ANALYZE")
    return {"conversations": len(conversations), "messages": len(messages),
            "insert_s": time.perf_counter() - began}


def queries(rng: random.Random, words: list[str]) -> list[tuple[str, str]]:
    """Return (kind, query) pairs: common and rare words, 1-3 of them, some typed halfway."""
    common, mid, rare = words[:60], words[60:600], words[1500:]
    out = []
    while len(out) < SEARCHES:
        kind = ("common", "mid", "rare", "mixed")[len(out) % 4]
        pool = {"common": common, "mid": mid, "rare": rare, "mixed": common + mid + rare}[kind]
        chosen = rng.sample(pool, rng.randint(1, 3))
        if rng.random() < 0.4 and len(chosen[-1]) > 3:
            # Search as you type: the last word cut short, matched as a prefix.
            chosen[-1] = chosen[-1][: rng.randint(2, len(chosen[-1]) - 1)]
            kind += "+prefix"
        out.append((kind, " ".join(chosen)))
    return out


def _percentiles(samples: list[float]) -> dict:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"n": len(samples), "p50": statistics.median(samples), "p95": cuts[94],
            "p99": cuts[98], "max": max(samples)}


async def _timed(call) -> tuple[float, object]:
    began = time.perf_counter()
    result = await call
    return (time.perf_counter() - began) * 1000, result


async def run(url: str) -> dict:
    """Build the data set in the (empty) database at `url`, time the searches, return figures."""
    dialect = db.dialect(url)
    rng = random.Random(SEED)
    words = vocabulary(rng)
    text = Text(rng, words)

    began = time.perf_counter()
    await db.migrate(url)
    await db.connect(url)
    try:
        report = {"url": url, "dialect": dialect, **await populate(dialect, rng, text)}
        report["setup_s"] = time.perf_counter() - began
        conn = connections.get("default")
        mark = "?" if dialect == "sqlite" else "$1"

        plan = queries(rng, words)
        for _, query in plan[:10]:  # warm the page cache and the statement cache
            await search(OWNER, query)
        timings, by_kind, hits = [], {}, 0
        for kind, query in plan:
            ms, result = await _timed(search(OWNER, query))
            timings.append(ms)
            by_kind.setdefault(kind.split("+")[0], []).append(ms)
            by_kind.setdefault("prefix" if "+prefix" in kind else "whole words", []).append(ms)
            hits += len(result)
        report["search"] = _percentiles(timings)
        report["search_by_kind"] = {k: _percentiles(v) for k, v in sorted(by_kind.items())}
        report["mean_hits"] = hits / len(plan)

        lookups = []
        for _ in range(SEARCHES):
            ms, _ = await _timed(conn.execute_query(
                f"SELECT id FROM conversation WHERE id = {mark}", [rng.randint(1, CONVERSATIONS)]))
            lookups.append(ms)
        report["pk_lookup"] = _percentiles(lookups)

        # What search would cost without the index: every word a LIKE over the owner's
        # messages, newest first (a scan of all of them: LIKE can use no index).
        scans = []
        for _, query in plan[::8]:
            terms = query.split()
            like = " AND ".join(
                f"m.content LIKE {'?' if dialect == 'sqlite' else f'${i + 2}'}"
                for i in range(len(terms)))
            sql = (f"SELECT m.id FROM message m JOIN conversation c ON c.id = m.conversation_id"
                   f" WHERE c.owner = {mark} AND c.deleted_at IS NULL AND {like}"
                   f" ORDER BY c.last_activity_at DESC LIMIT 20")
            ms, _ = await _timed(conn.execute_query(sql, [OWNER] + [f"%{t}%" for t in terms]))
            scans.append(ms)
        report["like_scan"] = _percentiles(scans)
        report["target_p95_ms"] = TARGET_P95_MS
        report["pass"] = report["search"]["p95"] <= TARGET_P95_MS
        return report
    finally:
        await db.disconnect()  # aiosqlite's thread would otherwise keep the process alive


def _print(report: dict) -> None:
    def row(name: str, p: dict) -> str:
        return (f"  {name:<14} n={p['n']:<4} p50 {p['p50']:7.2f}  p95 {p['p95']:7.2f}"
                f"  p99 {p['p99']:7.2f}  max {p['max']:7.2f} ms")

    print(f"{report['dialect']}: {report['messages']:,} messages in {report['conversations']:,}"
          f" conversations; inserted (with FTS triggers) in {report['insert_s']:.1f} s,"
          f" setup {report['setup_s']:.1f} s")
    print(f"search() x{report['search']['n']}, limit 20, mean {report['mean_hits']:.1f} hits:")
    print(row("all", report["search"]))
    for kind, p in report["search_by_kind"].items():
        print(row(kind, p))
    print("baselines on the same connection:")
    print(row("pk lookup", report["pk_lookup"]))
    print(row("LIKE scan", report["like_scan"]))
    print(f"search p50 = {report['search']['p50'] / report['pk_lookup']['p50']:.1f}x a pk lookup;"
          f" LIKE scan p50 = {report['like_scan']['p50'] / report['search']['p50']:.1f}x search")
    verdict = "PASS" if report["pass"] else "FAIL"
    print(f"target p95 <= {report['target_p95_ms']:.0f} ms on SQLite:"
          f" {report['search']['p95']:.2f} ms -> {verdict}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _print(asyncio.run(run(sys.argv[1])))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "search_bench.sqlite3"
            report = asyncio.run(run(f"sqlite://{path}"))
            report["db_mb"] = os.path.getsize(path) / 1e6
            _print(report)
            print(f"database file: {report['db_mb']:.0f} MB")
