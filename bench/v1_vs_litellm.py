"""/v1 side by side with LiteLLM's proxy: the same fake upstream, the same client, one run.

    .venv/bin/python bench/v1_vs_litellm.py     (also: bench/run.py --v1-vs-litellm)

LiteLLM comes from PyPI into the bench's own environment (.venv-bench, made here on first
use, pinned below), never into the app's. Both proxies run one process and relay a stream
of TOKENS tokens from the fake; the client (httpx, one connection per stream) measures the
time to the first content chunk through each proxy and straight from the fake at the same
concurrency:

    added latency = TTFT through the proxy - the median TTFT straight from the fake

at 1 stream (sequential samples), then 50 and 200 streams started at once; and the CPU each
proxy process used per request. The target is ours adding at least 3x less at every level.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as base  # noqa: E402  the fake upstream, the app and /proc readers of make bench

ROOT = base.ROOT
LITELLM = "litellm[proxy]==1.106.12"
BENCH_VENV = ROOT / ".venv-bench"
LEVELS = (1, 50, 200)
SAMPLES = 20  # at 1 stream
TIMEOUT = 300  # s: LiteLLM's 200 streams started at once can take minutes
TARGET_RATIO = 3.0
LITELLM_KEY = "sk-bench-" + "0" * 32


def bench_venv() -> Path:
    """LiteLLM's proxy command, installed first when the stamp does not name this pin (a
    half-made environment is made again from scratch)."""
    stamp = BENCH_VENV / ".hyperchat-litellm"
    if not stamp.exists() or stamp.read_text() != LITELLM:
        print(f"installing {LITELLM} into {BENCH_VENV} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
        subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q",
                        "--disable-pip-version-check", LITELLM], check=True)
        stamp.write_text(LITELLM)
    return BENCH_VENV / "bin" / "litellm"


def make_key(database_url: str) -> str:
    code = (
        "import asyncio, sys\n"
        "from tortoise import Tortoise\n"
        "from hyperchat.accounts import api_keys\n"
        "from hyperchat.store.schema import User\n"
        "async def main():\n"
        "    await Tortoise.init(db_url=sys.argv[1],\n"
        "                        modules={'models': ['hyperchat.store.schema']})\n"
        "    user = await User.create(username='bench', username_key='bench', password_hash='-')\n"
        "    print((await api_keys.create(user, 'bench'))[1])\n"
        "    await Tortoise.close_connections()\n"
        "asyncio.run(main())\n")
    done = subprocess.run([sys.executable, "-c", code, database_url], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    return done.stdout.strip().splitlines()[-1]


def start_litellm(tmp: Path, fake_url: str) -> tuple[base.Service, str]:
    config = tmp / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {base.MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{base.MODEL}\n"
        f"      api_base: {fake_url}\n"
        "      api_key: bench\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        # A master key, as LiteLLM requires; no database: keys and spend tracking off.
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n")
    port = base.free_port()
    proxy = base.Service("litellm", [str(bench_venv()), "--config", str(config), "--host",
                                     "127.0.0.1", "--port", str(port), "--num_workers", "1"],
                         base.child_env({"LITELLM_LOG": "ERROR"}), tmp / "litellm.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        proxy.check_alive()
        try:
            if httpx.get(url + "/health/liveliness", timeout=2).status_code == 200:
                proxy.pids = base.process_tree(proxy.pid)
                return proxy, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"LiteLLM not ready:\n{proxy.log_tail()}")


async def one(client: httpx.AsyncClient, url: str, key: str) -> float | int:
    """The time to the first content chunk (s), or the status of a refused request (0: no
    answer within the client's timeout)."""
    try:
        return await _one(client, url, key)
    except httpx.HTTPError:
        return 0


async def _one(client: httpx.AsyncClient, url: str, key: str) -> float | int:
    body = {"model": base.MODEL, "stream": True,
            "messages": [{"role": "user", "content": "Say something"}]}
    started = time.perf_counter()
    first = None
    async with client.stream("POST", url, json=body,
                             headers={"Authorization": f"Bearer {key}"}) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code
        async for line in response.aiter_lines():
            if first is None and '"content":"' in line.replace(" ", "") \
                    and '"content":""' not in line.replace(" ", ""):
                first = time.perf_counter() - started
    return first if first is not None else -1


async def level(url: str, key: str, streams: int) -> list[float]:
    limits = httpx.Limits(max_connections=streams + 5, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        if streams == 1:
            found = [await one(client, url, key) for _ in range(SAMPLES)]
        else:
            found = await asyncio.gather(*(one(client, url, key) for _ in range(streams)))
    refused = [f for f in found if isinstance(f, int)]
    if refused:
        print(f"    {len(refused)} failed: statuses {sorted(set(refused))} (0: timed out, "
              "-1: no text)", flush=True)
    return [f * 1000 for f in found if isinstance(f, float)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(targets: dict, fake_url: str) -> dict:
    results: dict = {}
    # Warm-up, not measured: each proxy's first requests import and connect lazily.
    for url, key, _service in targets.values():
        await level(url, key, 1)
    for streams in LEVELS:
        direct = await level(fake_url + "/chat/completions", "bench", streams)
        baseline = statistics.median(direct)
        for name, (url, key, service) in targets.items():
            before = base.cpu_seconds(service.pids)
            ttfts = await level(url, key, streams)
            used = base.cpu_seconds(service.pids) - before
            count = SAMPLES if streams == 1 else streams
            added = [max(0.0, t - baseline) for t in ttfts]
            found = results[(name, streams)] = {
                "p50": pct(added, 0.5), "p99": pct(added, 0.99),
                "ok": len(ttfts), "sent": count, "cpu_ms": used * 1000 / count}
            print(f"  {name:8} {streams:>3} streams: added p50 {found['p50']:7.1f}"
                  f" ms, p99 {found['p99']:7.1f} ms, "
                  f"{len(ttfts)}/{count} ok, CPU {used * 1000 / count:.1f} ms/request",
                  flush=True)
            await asyncio.sleep(1)
    return results


def table(results: dict) -> str:
    lines = ["| streams | hyperchat /v1 added p50 / p99 (ms) | LiteLLM added p50 / p99 (ms) "
             "| ratio p50 / p99 | CPU per request hyperchat / LiteLLM (ms) | target ≥ 3× |",
             "|---|---|---|---|---|---|"]
    for streams in LEVELS:
        ours, theirs = results[("hyperchat", streams)], results[("litellm", streams)]
        ratio50 = theirs["p50"] / max(ours["p50"], 0.1)
        ratio99 = theirs["p99"] / max(ours["p99"], 0.1)
        verdict = "PASS" if min(ratio50, ratio99) >= TARGET_RATIO else "FAIL"
        lines.append(f"| {streams} | {ours['p50']:.1f} / {ours['p99']:.1f} "
                     f"| {theirs['p50']:.1f} / {theirs['p99']:.1f} "
                     f"| {ratio50:.1f}× / {ratio99:.1f}× "
                     f"| {ours['cpu_ms']:.1f} / {theirs['cpu_ms']:.1f} | {verdict} |")
    return "\n".join(lines)


def main() -> int:
    print(f"load average {base.loadavg()}; LiteLLM {LITELLM} in {BENCH_VENV}", flush=True)
    services = []
    with tempfile.TemporaryDirectory(prefix="hyperchat-v1-bench-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            fake, fake_url = base.start_fake(tmp)
            services.append(fake)
            database = f"sqlite://{tmp}/bench.sqlite3"
            # One account sends every request from 127.0.0.1: limits off, as LiteLLM has none.
            app, app_url = base.start_app(tmp, fake_url, database, extra={
                f"HYPERCHAT_{name}": "1000000" for name in (
                    "CONCURRENT_GENERATIONS_PER_ADDRESS", "WRITE_RATE_LIMIT",
                    "HEAVY_RATE_LIMIT", "SSE_MAX_PER_ADDRESS")})
            services.append(app)
            key = make_key(database)
            proxy, proxy_url = start_litellm(tmp, fake_url)
            services.append(proxy)
            targets = {"hyperchat": (app_url + "/v1/chat/completions", key, app),
                       "litellm": (proxy_url + "/v1/chat/completions", LITELLM_KEY, proxy)}
            results = asyncio.run(measure(targets, fake_url))
        finally:
            for service in reversed(services):
                service.stop()
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
