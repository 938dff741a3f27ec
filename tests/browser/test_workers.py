"""Two workers (REDIS_URL, PostgreSQL) in a real browser: a reply sent on worker A is opened
mid-stream on worker B, follows to its end there without a duplicate or a gap, and B's Stop
button stops it on A. (Cookies do not depend on the port, so both workers see one person.)"""

import os
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, Chat, PageProblems, is_growing_prefix_chain
from tests.helpers import stop_process
from tests.redis_server import free_port

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workers(upstream, redis_url, postgres_admin_url, tmp_path_factory):
    """Two `python -m hyperchat` processes on one PostgreSQL database and one Redis."""
    from tests.conftest import TEST_DB, _with_database

    logs = tmp_path_factory.mktemp("workers")
    processes, urls = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            env = {key: value for key, value in os.environ.items()
                   if key not in ("WORKERS", "REDIS_URL", "DATABASE_URL")}
            env.update(
                PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
                DATABASE_URL=_with_database(postgres_admin_url, TEST_DB), REDIS_URL=redis_url,
                SECRET_KEY="browser-workers", OPENROUTER_BASE_URL=upstream.url,
                OPENROUTER_API_KEY="test-key", DEFAULT_MODEL="openai/gpt-4o-mini",
                HOST="127.0.0.1", PORT=str(port), HYPERCHAT_CATALOG_REFRESH="0",
                HYPERCHAT_RATE_LIMIT_PER_MINUTE="100000",
                HYPERCHAT_RATE_LIMIT_PER_ADDRESS_PER_MINUTE="100000")
            log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen([sys.executable, "-m", "hyperchat"], env=env,
                                               cwd=ROOT, stdout=log, stderr=log), log))
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                with suppress(OSError), urllib.request.urlopen(url + "/", timeout=2) as page:
                    if page.status == 200:
                        break
                if processes[-1][0].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((logs / f"{name}.log").read_text())
                time.sleep(0.1)
            urls.append(url)
        yield urls
    finally:
        for process, log in processes:
            stop_process(process)
            log.close()


def test_a_reply_sent_on_one_worker_is_followed_and_stopped_on_another(browser, workers, fake):
    a, b = workers
    context = browser.new_context(base_url=a)
    context.set_default_timeout(TIMEOUT_MS)
    # Watched like every other browser test's pages: JS errors and CSP violations.
    problems = PageProblems()
    context.on("page", problems.watch)
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_function("() => window.htmx !== undefined")
        chat = Chat(page)
        reply, full = chat.send_counting(fake, 200, until="t10")

        # The same conversation, mid-stream, from the other worker.
        page.goto(b + page.url.removeprefix(a))
        reply = chat.replies.first
        expect(reply.locator(".message-content")).to_contain_text("t40")
        states = chat.stream_states(reply)
        assert states and states[0].startswith("t00"), states
        assert is_growing_prefix_chain(states, full), states

        reply.locator(".stop-btn").click()  # on B; A is writing it
        chat.wait_status(reply, "stopped")
        kept = chat.source(reply)
        assert "t40" in kept and full.startswith(kept) and kept != full
        page.reload()
        chat.wait_status(chat.replies.first, "stopped")
        assert chat.source(chat.replies.first) == kept
        assert problems.errors == []
    finally:
        context.close()
