"""`make screenshots`: PNGs of every page and state (tests/browser/tour.py) at desktop and phone
size, light and dark, into .tmp/screenshots (or the directory given). Open them and look.

The app runs in-process on loopback with a throwaway SQLite file, answered by the fake upstream
(a real HTTP server speaking the provider's wire format), so replies are known and repeatable.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer  # noqa: E402
from tests.browser.tour import tour  # noqa: E402
from tests.fake_upstream import FakeUpstream  # noqa: E402

from hyperchat import create_app  # noqa: E402

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
SCHEMES = ("light", "dark")


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".tmp/screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with FakeUpstream() as fake, tempfile.TemporaryDirectory(prefix="screenshots-") as data:
        server = LiveServer(create_app({
            "DATABASE_URL": f"sqlite://{data}/screenshots.sqlite3",
            "SECRET_KEY": "screenshots", "OPENROUTER_BASE_URL": fake.url,
            "OPENROUTER_API_KEY": "screenshots", "DEFAULT_MODEL": "openai/gpt-4o-mini",
            "UPLOAD_DIR": f"{data}/uploads",
        }))
        server.start()
        saved = 0
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for size, (width, height) in SIZES.items():
                    for scheme in SCHEMES:
                        context = browser.new_context(base_url=server.url, color_scheme=scheme,
                                                      viewport={"width": width, "height": height})
                        context.set_default_timeout(15_000)
                        context.grant_permissions(["clipboard-read", "clipboard-write"],
                                                  origin=server.url)
                        page = context.new_page()
                        for state in tour(page, fake):
                            page.screenshot(path=str(out / f"{state}-{size}-{scheme}.png"),
                                            animations="disabled")
                            saved += 1
                        context.close()
                browser.close()
        finally:
            server.stop()
    print(f"screenshots: {saved} PNGs in {out}; open every one and look.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
