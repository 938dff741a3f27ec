"""`bench/run.py --ttft-runs N`: app-added TTFT at one stream, over N consecutive runs.

The target: p50 <= 5 ms and p99 <= 15 ms in every run, for each way a reply starts:
  - guest: a person not signed in sends as htmx does (POST /messages), then follows the
    reply's SSE stream to its first token frame (bench/run.py's 1-stream level);
  - signed in: the same from an account;
  - /v1: POST /v1/chat/completions with "stream": true and that account's API key (made on
    its account page), to the first content chunk, on a connection opened before the clock
    as a program's keep-alive pool holds one;
  - direct: the same client straight to the fake upstream, first token only.
One sample of each in turn, --samples times a run, so that noise hits every path alike; a
path's app-added TTFT = its sample minus the run's direct median (bench/run.py's definition).
Every reply is read to its end before the next sample starts: one stream at a time.

The fake's replies are REPLY_TOKENS tokens here instead of 80: the path to the first token
does not depend on the length, three runs then take about 3 minutes instead of 8, and each
person's next sample comes within Hypercorn's 5 s keep-alive, as a browser's next message
on an open page would.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import (  # noqa: E402
    RESULTS,
    ROOT,
    Level,
    Load,
    Sample,
    Stack,
    direct_sample,
    fmt,
    loadavg,
    make_users,
    serving,
)

REPLY_TOKENS = 20
TARGET_P50, TARGET_P99 = 5.0, 15.0  # ms, app-added TTFT at one stream
WARM_UP = 2  # samples of each path before the first run, not measured


def verdict(level: Level, expected: str) -> str:
    """PASS when both percentiles meet the target and every reply came whole."""
    p50, p99 = level.added(50), level.added(99)
    ok = (p50 is not None and p99 is not None and p50 <= TARGET_P50 and p99 <= TARGET_P99
          and not level.errors("app") and level.intact(expected) == len(level.app))
    return "PASS" if ok else "FAIL"


async def measure(stack: Stack, runs: int, samples: int) -> tuple[list[dict[str, Level]], str]:
    """Per run, each path's samples (with that run's direct samples); and the reference text."""
    fake, app = urlsplit(stack.fake_url), urlsplit(stack.app_url)
    fake_at = (fake.hostname, fake.port, fake.path)
    reference = await direct_sample(*fake_at, Load())
    if reference.error:
        raise RuntimeError(f"fake upstream: {reference.error}")
    guest, member = await make_users(stack.app_url, 2)
    try:
        await member.sign_up(f"bench{os.getpid()}")
        key = {"Authorization": f"Bearer {await member.create_api_key()}"}
        paths: dict[str, Callable[[int], Awaitable[Sample]]] = {
            "guest": lambda n: guest.send(n, Load()),
            "signed in": lambda n: member.send(n, Load()),
            "/v1": lambda n: direct_sample(app.hostname, app.port, "/v1", Load(), headers=key),
        }
        counter = iter(range(10**9))
        for name, take in paths.items():
            for _ in range(WARM_UP):
                warm = await take(next(counter))
                if warm.error:
                    raise RuntimeError(f"{name} warm-up failed: {warm.error}\n"
                                       f"{stack.app.log_tail()}")
        found = []
        for run in range(1, runs + 1):
            levels = {name: Level(1) for name in paths}
            direct: list[Sample] = []
            for _ in range(samples):
                for name, take in paths.items():
                    levels[name].app.append(await take(next(counter)))
                direct.append(await direct_sample(*fake_at, Load(), first_token_only=True))
            for level in levels.values():
                level.direct = direct
            found.append(levels)
            print_run(run, levels, reference.text)
        return found, reference.text
    finally:
        guest.conn.close()
        member.conn.close()


def print_run(run: int, levels: dict[str, Level], expected: str) -> None:
    parts = []
    for name, level in levels.items():
        errors = level.errors("app")
        parts.append(f"{name} p50 {fmt(level.added(50))} p99 {fmt(level.added(99))} ms "
                     f"{verdict(level, expected)}"
                     + (f" ({len(errors)} errors: {errors[0]})" if errors else ""))
    direct = next(iter(levels.values()))
    print(f"  run {run}: " + " | ".join(parts) + f" | direct over the fake's nominal TTFT p50 "
          f"{fmt(direct.ttft('direct', 50))} p99 {fmt(direct.ttft('direct', 99))} ms"
          f" | load {os.getloadavg()[0]:.1f}", flush=True)


def spread(runs: list[dict[str, Level]], name: str, q: float) -> float | None:
    values = [levels[name].added(q) for levels in runs]
    if any(v is None for v in values):
        return None
    return max(values) - min(values)


def markdown(runs: list[dict[str, Level]], expected: str, setup: str, samples: int,
             date: str, load: tuple[str, str]) -> str:
    names = list(runs[0])
    lines = [
        f"App-added TTFT at one stream, {len(runs)} consecutive runs "
        f"(`bench/run.py --ttft-runs {len(runs)}`, {setup}), {date}, {os.cpu_count()} CPUs, "
        f"load average {load[0]} before / {load[1]} after. Each run: {samples} samples of each "
        "path in turn; app-added = sample − the run's direct median. Target p50 ≤ "
        f"{TARGET_P50:g} ms and p99 ≤ {TARGET_P99:g} ms in every run.",
        "",
        "| run | " + " | ".join(f"{name} p50 / p99" for name in names)
        + " | direct over nominal p50 / p99 |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for run, levels in enumerate(runs, 1):
        cells = [f"{fmt(lv.added(50))} / {fmt(lv.added(99))} ms {verdict(lv, expected)}"
                 for lv in levels.values()]
        direct = levels[names[0]]
        lines.append(f"| {run} | " + " | ".join(cells)
                     + f" | {fmt(direct.ttft('direct', 50))} / "
                       f"{fmt(direct.ttft('direct', 99))} ms |")
    cells = [f"{fmt(spread(runs, name, 50))} / {fmt(spread(runs, name, 99))} ms"
             for name in names]
    lines.append("| spread (max − min) | " + " | ".join(cells) + " | |")
    every = all(verdict(lv, expected) == "PASS" for levels in runs for lv in levels.values())
    lines += ["", f"Every path in every run: **{'PASS' if every else 'FAIL'}**."]
    return "\n".join(lines) + "\n"


def main(args) -> int:
    """Measure the runs; print and write the table."""
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = loadavg()
    print(f"load average {load_before} on {os.cpu_count()} CPUs; {args.ttft_runs} runs of "
          f"{args.samples} samples per path, replies of {REPLY_TOKENS} tokens", flush=True)
    with serving(args.workers, args.postgres, args.database_url,
                 tokens=REPLY_TOKENS) as stack:
        print(f"setup: {stack.setup}; app processes {stack.app.pids}", flush=True)
        runs, expected = asyncio.run(measure(stack, args.ttft_runs, args.samples))
    table = markdown(runs, expected, stack.setup, args.samples, date, (load_before, loadavg()))
    results = RESULTS.with_name("ttft-runs.md" if args.workers is None
                                else f"ttft-runs-workers-{args.workers}.md")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(table)
    print(f"\n{table}\n(written to {results.relative_to(ROOT)})")
    return 0
