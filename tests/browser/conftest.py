"""Browser fixtures: the real app served by Hypercorn on loopback, a fake upstream, and one
headless Chromium with a fresh context per test.

The server and the browser live for the whole tests/browser package (package scope): the
server in its own thread with its own event loop, so that it is gone before the HTTP-level
tests (which init Tortoise in their own loops) run. Every test gets a fresh browser context,
hence a fresh session cookie: a new "person" with no conversations, on the same database.
"""

import asyncio
import json
import re
import socket
import threading
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from playwright.sync_api import expect, sync_playwright

from hyperchat import create_app
from tests.fake_upstream import FakeUpstream, Tokens

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # The voice recorder: a synthetic microphone (a beep), allowed without asking.
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# Generous for a loaded CI machine, but a passing test never waits for it.
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)


HERE = Path(__file__).resolve().parent

# Quart 0.22 opens a static file in a worker thread (aiofiles); when the browser aborts the
# request meanwhile (a reload, a closed context), the task is cancelled and the opened file
# is dropped unclosed. Python reports it as a ResourceWarning in the server thread, which
# `filterwarnings = error` would pin on whichever test runs then. Only that one warning is
# ignored, and only here; any other unraisable exception still fails the test.
ABORTED_STATIC_FILE = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <_io\.(FileIO|BufferedReader) name='[^']*/"
    r"(node_modules|static)/:pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(ABORTED_STATIC_FILE)


class LiveServer:
    """Hypercorn serving `app` on 127.0.0.1 in a daemon thread; `url` is its origin."""

    def __init__(self, app):
        self.app = app
        # Bind here, in the test thread, so the port is known before the server starts and no
        # other process can take it in between; Hypercorn takes over the file descriptor.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._fd = sock.detach()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="hypercorn", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = Config()
        config.bind = [f"fd://{self._fd}"]
        config.accesslog = None
        config.errorlog = "-"
        config.graceful_timeout = 1
        await serve(self.app, config, shutdown_trigger=self._stop.wait)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 20
        while True:
            if self.error is not None:
                raise RuntimeError("the app server failed to start") from self.error
            with suppress(OSError):
                with urllib.request.urlopen(self.url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError("the app server did not start in time")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with suppress(RuntimeError):  # the loop may already be closed
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        if self._thread.is_alive():
            raise RuntimeError("the app server did not stop")


@pytest.fixture(scope="package")
def upstream():
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="package")
def live_server(upstream, tmp_path_factory):
    app = create_app({
        "DATABASE_URL": f"sqlite://{tmp_path_factory.mktemp('browser-db')}/browser.sqlite3",
        "SECRET_KEY": "browser-test-secret",
        "OPENROUTER_BASE_URL": upstream.url,
        "OPENROUTER_API_KEY": "test-key",
        "DEFAULT_MODEL": "openai/gpt-4o-mini",
        # Every test's person sends from 127.0.0.1 within the same minutes: the per-address
        # limit would refuse later tests. test_models_usage.py checks a 429 on its own.
        "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": 100_000,
        "RATE_LIMIT_PER_MINUTE": 100_000,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        # Audio goes to the fake upstream's /audio/transcriptions.
        "TRANSCRIPTION_BASE_URL": upstream.url,
    })
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()
    if server.error is not None:
        raise RuntimeError("the app server failed") from server.error


@pytest.fixture
def fake(upstream, live_server):
    """The fake upstream, with nothing queued or recorded from an earlier test (it has no
    public reset, and one server per test would cost a second each)."""
    upstream._queue.clear()
    with upstream._cond:
        upstream.requests.clear()
    yield upstream
    upstream._queue.clear()


@pytest.fixture(scope="package")
def browser():
    # Package scope, not session: Playwright's sync API marks an event loop as running in
    # the main thread for as long as it is started, and pytest-asyncio cannot run the async
    # tests outside this package while it is.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """JS errors and CSP violations seen by the pages of one context."""

    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")


@pytest.fixture
def new_context(browser, live_server):
    """Make a fresh browser context (a new person: no cookies) that may use the clipboard.
    Every page it opens is watched for JS errors and CSP violations, which fail the test at
    teardown."""
    contexts = []
    problems = PageProblems()

    def make(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.on("page", problems.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert problems.errors == [], "the page reported errors:\n" + "\n".join(problems.errors)


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    page = context.new_page()
    # File choosers are intercepted from before the page loads. Playwright turns interception
    # on when the first listener is added and does not wait for the browser to confirm it, so
    # `expect_file_chooser` around the very key press that opens a chooser could lose that
    # race on a loaded machine: the browser's own chooser opened instead, and the wait timed
    # out (test_files.py, seen once in CI). A page load later it has long been on.
    page.on("filechooser", lambda _chooser: None)
    page.goto("/")
    page.wait_for_function("() => window.htmx !== undefined")
    return page


# Every distinct text a streaming reply's content shows, in order, per message id: the only
# way to see what the person saw mid-stream, since the final frame re-renders the reply from
# the database and would hide a duplicated or missing chunk.
RECORD_STREAM_JS = """
(() => {
  if (window.__streamStates) return;
  window.__streamStates = {};
  window.__streamMarkup = [];
  const record = () => {
    for (const body of document.querySelectorAll('.message-body[data-status="streaming"]')) {
      const content = body.querySelector('.message-content');
      if (!content) continue;
      const id = body.id;
      const states = (window.__streamStates[id] ||= []);
      const text = content.textContent;
      if (states[states.length - 1] !== text) states.push(text);
      // Streamed text must only ever be text, never elements.
      if (content.children.length) window.__streamMarkup.push(content.innerHTML);
    }
  };
  new MutationObserver(record).observe(document, {subtree: true, childList: true,
                                                  characterData: true});
})();
"""


def numbered(n: int) -> list[str]:
    """n tokens that say where they are: "t00 ", "t01 "..."""
    return [f"t{i:02d} " for i in range(n)]


def is_growing_prefix_chain(states: list[str], full: str) -> bool:
    """Every state a prefix of `full`, each longer than the one before: nothing repeated or
    skipped while streaming."""
    return all(full.startswith(s) for s in states) and all(
        len(a) < len(b) for a, b in zip(states, states[1:], strict=False))


class Chat:
    """Drives the chat page the way a person does."""

    def __init__(self, page):
        self.page = page
        self.thread = page.locator("#thread")
        self.input = page.locator("#composer-input")
        self.replies = page.locator("#thread article.message.assistant")
        # The form of every POST /messages this page made, parsed.
        self.posts: list[dict[str, str]] = []
        page.on("request", self._request)

    def _request(self, request) -> None:
        if request.method == "POST" and request.url.endswith("/messages"):
            form = parse_qs(request.post_data or "", keep_blank_values=True)
            self.posts.append({name: values[0] for name, values in form.items()})

    def send(self, text: str):
        """Type `text`, press Enter, and return the new reply's article once it is there."""
        before = self.replies.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.replies).to_have_count(before + 1)
        return self.replies.nth(before)

    def press_until_focused(self, target, key: str = "Tab", most: int = 80) -> None:
        """Press `key` (Tab, Shift+Tab, ArrowDown...) until `target` has the focus, as a
        person would: `target` is a locator, or a CSS selector that any element may match.
        Nothing is pressed when it has the focus already."""
        def focused() -> bool:
            if isinstance(target, str):
                return self.page.evaluate("s => !!document.activeElement?.matches(s)", target)
            return target.evaluate("el => el === document.activeElement")

        for _ in range(most):
            if focused():
                return
            self.page.keyboard.press(key)
        if not focused():
            raise AssertionError(f"{most} x {key} never reached {target}")

    def send_counting(self, fake, n: int, until: str) -> tuple[object, str]:
        """Send "Count for me" with the fake counting `numbered(n)` 0.05 s apart, every
        streaming state recorded; return (the reply, its whole text) once `until` shows."""
        tokens = numbered(n)
        fake.enqueue(Tokens(tokens, interval=0.05))
        self.record_streams()
        reply = self.send("Count for me")
        expect(reply.locator(".message-content")).to_contain_text(until)
        return reply, "".join(tokens)

    def wait_status(self, article, status: str):
        expect(article.locator(".message-body")).to_have_attribute("data-status", status)
        return article

    def record_streams(self) -> None:
        """Record every streaming state, on this document and on every later load."""
        self.page.add_init_script(RECORD_STREAM_JS)
        self.page.evaluate(RECORD_STREAM_JS)

    def stream_states(self, article) -> list[str]:
        body_id = article.locator(".message-body").get_attribute("id")
        return self.page.evaluate("id => window.__streamStates[id] || []", body_id)

    def streamed_markup(self) -> list[str]:
        return self.page.evaluate("window.__streamMarkup")

    @staticmethod
    def source(article) -> str:
        """The reply's markdown source, as the copy button copies it."""
        return article.locator("template.message-source").evaluate("t => t.content.textContent")

    def clipboard(self) -> str:
        return self.page.evaluate("navigator.clipboard.readText()")


@pytest.fixture
def chat(page):
    return Chat(page)


def two_windows(new_context, fake, question: str, answer: str) -> tuple[Chat, Chat]:
    """One person's conversation (`question`, answered `answer`) open in two windows: the same
    session cookie, each window visible, so neither tab's live channel is paused as a
    background tab's is (it would catch up when shown). Return both Chats."""
    first_context = new_context()
    first = first_context.new_page()
    first.goto("/")
    chat = Chat(first)
    fake.enqueue(Tokens([answer]))
    chat.wait_status(chat.send(question), "complete")
    expect(first).to_have_url(re.compile(r"/c/\d+$"))

    second_context = new_context()
    second_context.add_cookies(first_context.cookies())
    second = second_context.new_page()
    second.goto(first.url)
    other = Chat(second)
    expect(other.replies.last.locator(".message-content")).to_have_text(answer)
    return chat, other


def import_conversation(page, title: str, messages: list[tuple[str, str]], *,
                        archived: bool = False) -> str:
    """Create a conversation of this page's person through the import API (much faster than
    sending each message); `messages` are (role, content) pairs. Return its id."""
    token = json.loads(page.locator("body").get_attribute("hx-headers:inherited"))["X-CSRF-Token"]
    document = {"format": "hyperchat.conversation.v1", "title": title, "archived": archived,
                "messages": [{"role": role, "content": content} for role, content in messages]}
    response = page.request.post("/api/chat/sessions/import/", data=document,
                                 headers={"X-CSRF-Token": token})
    assert response.status == 201, response.text()
    return str(response.json()["id"])
