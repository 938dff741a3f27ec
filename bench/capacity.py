"""`bench/run.py --capacity`: the largest steady rate of new replies the app sustains.

Open loop, as people arrive: a new reply starts every 1/R s, evenly spaced (not Poisson: the
same rate then offers the same load from run to run, so the steps of a search compare), for
a window of WINDOW seconds, whatever the app's pace. Each reply is the fake upstream's of
bench/run.py (80 tokens at 50 tokens/s after a 200 ms TTFT: 1.8 s, so about 1.8 x R are open
at once) and comes from its own simulated person, who loaded `/` before the window (not
measured) and then sends as htmx does and follows the SSE stream to its end. Their POST opens
a new connection: Hypercorn drops a keep-alive connection idle for 5 s, so in a 15 s window
most would have lost theirs anyway, and this way every arrival costs the same.

A rate holds when
  - app-added TTFT p99 <= 100 ms over the arrivals after the first reply's lifetime (1.8 s,
    the ramp-up; from then on as many replies end as start), app-added as bench/run.py
    defines it: against the median of direct samples of the fake taken in the same window
    (one every DIRECT_EVERY arrivals, half a gap after it, first token only);
  - every arrival's reply is relayed whole, with no error (direct samples included);
  - the client started the arrivals on time (>= 95 % of R): otherwise the load was not R.

The search: R = 4, 8, 16... while it holds, then bisection between the last rate that held
and the first that did not, to within 10 %, skipping a step that would end after BUDGET.
App CPU is the share of one core the app's processes (and redis-server with --workers) used
over the steady part of the window; with two workers it can pass 100 %.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import (  # noqa: E402
    INTERVAL,
    RESULTS,
    ROOT,
    SAMPLE_TIMEOUT,
    TOKENS,
    TTFT,
    Level,
    Load,
    Monitor,
    Sample,
    Stack,
    direct_sample,
    fmt,
    loadavg,
    make_users,
    serving,
)

WINDOW = 15.0  # s of arrivals at each rate
QUICK_WINDOW = 5.0  # --quick: a smoke run of the same code paths
STEADY_AFTER = TTFT + TOKENS * INTERVAL  # s: a reply's lifetime, the ramp-up
P99_LIMIT = 100.0  # ms, app-added TTFT p99
ON_TIME = 0.95  # arrivals started / asked below which the load was not R
FIRST_RATE = 4  # replies/s
MAX_RATE = 512
RESOLUTION = 0.1  # bisection stops when the bracket is within 10 % of its top
BUDGET = 180.0  # s per configuration
DIRECT_EVERY = 4

# `--capacity` alone: both; with --workers N, that one configuration.
CONFIGURATIONS = ((None, False), (2, True))  # (WORKERS, PostgreSQL)


@dataclass
class Step:
    """One rate of the search, as measured."""

    rate: int
    replies: Level  # every arrival (relayed, errors), with the window's direct samples
    steady: Level  # the arrivals after the ramp-up (TTFT), with the same direct samples
    achieved: float  # arrivals per second the client actually started
    app_cpu: float  # share of one core over the steady part
    machine_cpu: float  # share of all cores, same
    client_cpu: float  # this process, share of one core over the whole step
    seconds: float  # the step's wall time, users' page loads and the drain included

    @property
    def cpu_per_reply_ms(self) -> float:
        return 1000 * self.app_cpu / self.achieved

    def failures(self, expected: str) -> list[str]:
        """Why this rate does not hold (empty: it holds)."""
        reasons = []
        p99 = self.steady.added(99)
        if p99 is None or p99 > P99_LIMIT:
            reasons.append(f"TTFT p99 {fmt(p99)} ms > {P99_LIMIT:g}")
        intact, total = self.replies.intact(expected), len(self.replies.app)
        if intact < total:
            reasons.append(f"{total - intact} of {total} replies not relayed whole")
        errors = self.replies.errors("app") + self.replies.errors("direct")
        if errors:
            reasons.append(f"{len(errors)} errors ({errors[0]})")
        if self.achieved < ON_TIME * self.rate:
            reasons.append(f"client started only {self.achieved:.1f}/s")
        return reasons


async def _later(delay: float, sample: Awaitable[Sample]) -> Sample:
    await asyncio.sleep(delay)
    return await sample


async def run_step(stack: Stack, rate: int, window: float, expected: str,
                   counter: Iterator[int]) -> Step:
    """Replies arriving `rate` times a second for `window` seconds, each from its own person."""
    began = time.perf_counter()
    users = await make_users(stack.app_url, round(rate * window))
    for user in users:
        user.conn.close()  # each arrival connects anew (see the module docstring)
    await asyncio.sleep(0.5)  # let the app go quiet after the page loads
    fake = urlsplit(stack.fake_url)
    gap = 1 / rate
    live = Load()
    app_tasks, direct_tasks = [], []
    client0 = time.process_time()
    with Monitor(stack.app.pids, live, period=0.1) as monitor:
        start = time.perf_counter() + 0.05
        for i, user in enumerate(users):
            await asyncio.sleep(max(0.0, start + i * gap - time.perf_counter()))
            app_tasks.append(asyncio.create_task(user.send(next(counter), live)))
            if i % DIRECT_EVERY == 0:
                direct_tasks.append(asyncio.create_task(_later(gap / 2, direct_sample(
                    fake.hostname, fake.port, fake.path, Load(), first_token_only=True))))
        last = time.perf_counter()
        # Bounded: every sample has its own timeout; this is the backstop.
        samples = await asyncio.wait_for(asyncio.gather(*app_tasks), SAMPLE_TIMEOUT * 2)
        direct = await asyncio.wait_for(asyncio.gather(*direct_tasks), SAMPLE_TIMEOUT * 2)
    client_cpu = (time.process_time() - client0) / (time.perf_counter() - start)
    for user in users:
        user.conn.close()
    steady_from = round(STEADY_AFTER * rate)  # the first arrival after the ramp-up
    app_cpu, machine_cpu = monitor.usage(start + STEADY_AFTER, last)
    return Step(rate, Level(rate, app=samples, direct=direct),
                Level(rate, app=samples[steady_from:], direct=direct),
                achieved=(len(users) - 1) / (last - start) if len(users) > 1 else rate,
                app_cpu=app_cpu, machine_cpu=machine_cpu, client_cpu=client_cpu,
                seconds=time.perf_counter() - began)


def print_step(step: Step, expected: str) -> None:
    replies, steady = step.replies, step.steady
    reasons = step.failures(expected)
    # Where a tail comes from: the POST's answer (the database) or the stream; and whether
    # the direct samples, which share the machine and this client, had one too.
    print(f"  {step.rate:>3}/s: {len(replies.app)} replies (started at {step.achieved:.1f}/s),"
          f" {len(steady.app)} steady: app-added TTFT p50 {fmt(steady.added(50))} p99 "
          f"{fmt(steady.added(99))} ms, POST answered p50 {fmt(steady.ttft('app', 50, 'post_ms'))}"
          f" p99 {fmt(steady.ttft('app', 99, 'post_ms'))} ms (direct p50 "
          f"{fmt(steady.ttft('direct', 50))} p99 {fmt(steady.ttft('direct', 99))} ms, "
          f"{len(steady.direct)} samples) | relayed {fmt(replies.relayed(expected))} % "
          f"({replies.intact(expected)}/{len(replies.app)} intact) | errors "
          f"{len(replies.errors('app'))} | app CPU {step.app_cpu:.0%} of one core "
          f"({step.cpu_per_reply_ms:.1f} ms per reply), machine {step.machine_cpu:.0%}, client "
          f"{step.client_cpu:.0%} | {step.seconds:.0f} s | "
          f"{'holds' if not reasons else 'FAILS: ' + '; '.join(reasons)}", flush=True)


async def search(stack: Stack, window: float) -> tuple[list[Step], Step | None, str]:
    """Every step measured, the one at the largest rate that held (None: not even the
    lowest), and the reference text."""
    counter = iter(range(10**9))
    fake = urlsplit(stack.fake_url)
    reference = await direct_sample(fake.hostname, fake.port, fake.path, Load())
    if reference.error:
        raise RuntimeError(f"fake upstream: {reference.error}")
    expected = reference.text
    # Warm-up, not measured: the app's first template renders and upstream connection.
    for warm in await warm_up(stack, 2):
        if warm.error:
            raise RuntimeError(f"app warm-up failed: {warm.error}\n{stack.app.log_tail()}")

    began = time.monotonic()
    steps: list[Step] = []

    async def holds(rate: int) -> bool:
        step = await run_step(stack, rate, window, expected, counter)
        steps.append(step)
        print_step(step, expected)
        return not step.failures(expected)

    held, failed = 0, None
    rate = FIRST_RATE
    while rate <= MAX_RATE and time.monotonic() - began < BUDGET:
        if not await holds(rate):
            failed = rate
            break
        held, rate = rate, rate * 2
    while failed is not None and failed - held > max(1.0, RESOLUTION * failed):
        longest = max(step.seconds for step in steps)
        if time.monotonic() - began + longest > BUDGET:
            print(f"  (stopped: another step would pass {BUDGET:.0f} s)", flush=True)
            break
        middle = (held + failed) // 2
        if await holds(middle):
            held = middle
        else:
            failed = middle
    best = next((s for s in steps if s.rate == held), None)
    return steps, best, expected


async def warm_up(stack: Stack, n: int) -> list[Sample]:
    """n sequential replies from one person, not measured."""
    user = (await make_users(stack.app_url, 1))[0]
    try:
        return [await user.send(i, Load()) for i in range(n)]
    finally:
        user.conn.close()


def markdown(rows: list[dict], window: float, date: str, load: tuple[str, str]) -> str:
    lines = [
        f"Capacity (`bench/run.py --capacity`), {date}, {os.cpu_count()} CPUs, load average "
        f"{load[0]} before / {load[1]} after. New replies (each {TOKENS} tokens "
        f"{INTERVAL * 1000:.0f} ms apart after a {TTFT * 1000:.0f} ms TTFT) arrive evenly "
        f"spaced at R per second for {window:g} s, each from its own person; a rate holds "
        f"when app-added TTFT p99 <= {P99_LIMIT:g} ms after the {STEADY_AFTER:g} s ramp-up, "
        "every reply is relayed whole and nothing fails. App CPU: share of one core, all "
        "the app's processes (and redis-server with Redis).",
        "",
        "| configuration | largest sustained rate | app-added TTFT p50 / p99 there "
        "| app CPU there | rates tried |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        best, steps, expected = row["best"], row["steps"], row["expected"]
        tried = ", ".join(f"{s.rate} {'✓' if not s.failures(expected) else '✗'}"
                          for s in steps)
        if best is None:
            lowest = min(step.rate for step in steps)
            lines.append(f"| {row['setup']} | < {lowest} replies/s | n/a | n/a | {tried} |")
            continue
        lines.append(
            f"| {row['setup']} | **{best.rate} replies/s** (≈ {best.rate * STEADY_AFTER:.0f} "
            f"streams open) | {fmt(best.steady.added(50))} / {fmt(best.steady.added(99))} ms "
            f"| {best.app_cpu:.0%} ({best.cpu_per_reply_ms:.1f} ms per reply) | {tried} |")
    lines += ["", "Every rate measured, in the order tried (TTFT over the steady arrivals; relayed "
              "and errors over all; CPU over the steady part):", "",
              "| configuration | rate | started at | app-added TTFT p50 / p99 | direct p50 / p99 "
              "| relayed | errors | app CPU | machine CPU | holds |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        expected = row["expected"]
        for step in row["steps"]:
            replies, steady = step.replies, step.steady
            reasons = step.failures(expected)
            holds = "yes" if not reasons else "no: " + "; ".join(reasons)
            lines.append(
                f"| {row['setup']} | {step.rate}/s | {step.achieved:.1f}/s "
                f"| {fmt(steady.added(50))} / {fmt(steady.added(99))} ms "
                f"| {fmt(steady.ttft('direct', 50))} / {fmt(steady.ttft('direct', 99))} ms "
                f"| {fmt(replies.relayed(expected))} % "
                f"({replies.intact(expected)}/{len(replies.app)}) "
                f"| {len(replies.errors('app')) + len(replies.errors('direct'))} "
                f"| {step.app_cpu:.0%} ({step.cpu_per_reply_ms:.1f} ms per reply) "
                f"| {step.machine_cpu:.0%} | {holds} |")
    return "\n".join(lines) + "\n"


def main(args) -> int:
    """Search each configuration; print and write the table."""
    window = args.window or (QUICK_WINDOW if args.quick else WINDOW)
    configurations = CONFIGURATIONS if args.workers is None else \
        ((args.workers, args.postgres),)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = loadavg()
    print(f"load average {load_before} on {os.cpu_count()} CPUs; capacity: arrivals evenly "
          f"spaced for {window:g} s per rate", flush=True)
    rows = []
    for workers, postgres in configurations:
        with serving(workers, postgres) as stack:
            print(f"setup: {stack.setup}; app processes {stack.app.pids}", flush=True)
            began = time.monotonic()
            steps, best, expected = asyncio.run(search(stack, window))
        lowest = min(step.rate for step in steps)
        print(f"  -> largest sustained: {best.rate if best else f'< {lowest}'} replies/s "
              f"({time.monotonic() - began:.0f} s)", flush=True)
        rows.append({"setup": stack.setup, "steps": steps, "best": best,
                     "expected": expected})
    table = markdown(rows, window, date, (load_before, loadavg()))
    results = RESULTS.with_name("capacity.md" if args.workers is None
                                else f"capacity-workers-{args.workers}.md")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(table)
    print(f"\n{table}\n(written to {results.relative_to(ROOT)})")
    return 0
