"""The interface a person sees, checked in Chromium: every page and state of the tour
(tour.py) at desktop and phone size, light and dark, passes axe-core with no serious or
critical violation, has every visible button clickable at its centre and no sideways page
scroll on a phone; icons are painted in the first frame after a swap; Undo takes a real
mouse click; the chosen scheme is there before any script runs; the drawer and the screen
reader announcements behave."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.tour import STATES, show_sidebar, tour
from tests.fake_upstream import Tokens

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Buttons a person can press: every one shown must be the element under its own centre once
# it is scrolled into view (nothing drawn over it), inside the open modal dialog or the open
# drawer when one is (what is behind those is rightly covered).
HIT_TEST_JS = """
() => {
  const modal = document.querySelector("dialog[open]:modal")
    ?? (document.querySelector("#layout.sidebar-open") && document.getElementById("sidebar"));
  const scope = modal ?? document;
  const missed = [];
  for (const el of scope.querySelectorAll("button, summary, [role=button]")) {
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const style = getComputedStyle(el);
    if (style.pointerEvents === "none") continue;
    el.scrollIntoView({ block: "center", inline: "center" });
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (hit !== el && !el.contains(hit)) {
      const over = hit ? hit.outerHTML.slice(0, 120) : "nothing";
      missed.push(`${el.outerHTML.slice(0, 120)} is under ${over} at ${x | 0},${y | 0}`);
    }
  }
  return missed;
}
"""

AXE_RUN_JS = """
async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ` +
         v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_and_state_is_usable_and_accessible(new_context, fake, size, scheme):
    # bypass_csp only so that the test can inject axe-core; the app's pages stay as served.
    context = new_context(viewport=SIZES[size], color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    problems, seen = [], []
    for state in tour(page, fake):
        seen.append(state)
        # Once per document: a state reached by a swap keeps the axe-core the last one loaded.
        if not page.evaluate("() => 'axe' in window"):
            page.add_script_tag(path=str(AXE))
        for violation in page.evaluate(AXE_RUN_JS):
            problems.append(f"{state}: axe {violation}")
        for miss in page.evaluate(HIT_TEST_JS):
            problems.append(f"{state}: {miss}")
        if size == "phone":
            width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            if width[0] > width[1]:
                problems.append(f"{state}: the page scrolls sideways ({width[0]} > {width[1]})")
    # The admin page only when this tour's account is the server's first (an admin).
    assert [s for s in seen if s != "admin"] == [
        s for s in STATES if (size == "phone" or s != "drawer") and s != "admin"]
    assert problems == [], "\n".join(problems)


# Records, at the first animation frame after the final swap, whether every icon in the new
# action bar has a drawn shape: inline, so nothing is left to load.
FIRST_FRAME_ICONS_JS = """
() => {
  window.__iconFrames = [];
  new MutationObserver((records) => {
    for (const r of records) for (const node of r.addedNodes) {
      if (!(node instanceof Element) || !node.matches(".message-actions")) continue;
      if (!node.querySelector(".copy-btn")) continue;
      requestAnimationFrame(() => {
        window.__iconFrames.push([...node.querySelectorAll("svg.icon")]
          .filter((svg) => svg.checkVisibility())
          .map((svg) => {
            const box = svg.getBoundingClientRect();
            const path = svg.querySelector("path");
            const shape = path ? path.getBBox() : { width: 0, height: 0 };
            const fill = getComputedStyle(path ?? svg).fill;
            return { icon: svg.dataset.icon, width: box.width, shape: shape.width * shape.height,
                     fill, color: getComputedStyle(svg).color };
          }));
      });
    }
  }).observe(document.body, { childList: true, subtree: true });
}
"""


@pytest.mark.parametrize("size", list(SIZES))
def test_icons_are_painted_in_the_first_frame_after_a_swap(new_context, fake, size):
    page = new_context(viewport=SIZES[size]).new_page()
    page.goto("/")
    page.evaluate(FIRST_FRAME_ICONS_JS)
    fake.enqueue(Tokens(["Hello", " there"]))
    page.locator("#composer-input").fill("hi")
    page.locator("#composer-input").press("Enter")
    page.wait_for_function("() => window.__iconFrames.some((f) => f.length >= 4)")
    frame = next(f for f in page.evaluate("window.__iconFrames") if len(f) >= 4)
    assert {icon["icon"] for icon in frame} >= {"regular/copy", "solid/share-nodes",
                                                 "regular/thumbs-up", "regular/thumbs-down"}
    for icon in frame:
        assert icon["width"] >= 10 and icon["shape"] > 0, icon
        assert icon["fill"] == icon["color"] and "0, 0, 0, 0" not in icon["fill"], icon
    # The same final frame brought the sidebar's counts: no reload needed to see the tokens.
    expect(page.locator('#sidebar-stats [data-stat="tokens"]')).not_to_have_text("0")
    expect(page.locator('#sidebar-stats [data-stat="messages"]')).to_have_text("2")
    # None of them was fetched: there is nothing an icon waits for.
    assert page.evaluate("performance.getEntriesByType('resource')"
                         ".filter((r) => r.name.endsWith('.svg')).length") == 0


@pytest.mark.parametrize("size", list(SIZES))
def test_undo_is_clickable_with_the_mouse(new_context, fake, size):
    page = new_context(viewport=SIZES[size]).new_page()
    page.goto("/")
    fake.enqueue(Tokens(["Kept"]))
    page.locator("#composer-input").fill("keep me")
    page.locator("#composer-input").press("Enter")
    expect(page.locator("#thread .copy-btn").last).to_be_visible()
    conversation_id = page.locator("#conversation-id").input_value()
    page.locator("#conversation-actions .trash-btn").click()
    undo = page.locator("#toast.visible .undo-btn")
    expect(undo).to_be_visible()
    box = undo.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('.undo-btn') "
                         "!== null", [x, y])
    page.mouse.click(x, y)  # a real click at that point: whatever is on top gets it
    show_sidebar(page)
    expect(page.locator(f"#conv-{conversation_id}")).to_be_visible()
    expect(page.locator('#view-tabs [data-view="trash"] .count')).to_have_text("0")


@pytest.mark.parametrize(("system", "cookie", "dark"), [
    ("dark", None, True), ("light", None, False),
    ("light", "dark", True), ("dark", "light", False),
])
def test_the_scheme_is_applied_before_any_script_runs(new_context, live_server, system, cookie,
                                                       dark):
    """No script runs at all here: what shows is what the first paint shows."""
    context = new_context(color_scheme=system)
    if cookie:
        context.add_cookies([{"name": "theme", "value": cookie, "url": live_server.url}])
    context.route("**/*.js", lambda route: route.abort())
    page = context.new_page()
    page.goto("/", wait_until="commit")
    page.wait_for_selector("body")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in background[background.index("(") + 1:-1].split(",")[:3])
    assert (red + green + blue < 3 * 80) is dark, background
    code = page.evaluate("""() => {
      const el = document.createElement("div");
      el.className = "markdown";
      el.innerHTML = "<pre><code><span class='k'>def</span></code></pre>";
      document.body.append(el);
      return [getComputedStyle(el.querySelector("pre")).backgroundColor,
              getComputedStyle(el.querySelector(".k")).color];
    }""")
    assert code[0] != code[1]
    expected_keyword = "rgb(255, 123, 114)" if dark else "rgb(0, 128, 0)"
    assert code[1] == expected_keyword


def test_the_scheme_switch_applies_at_once_and_is_remembered(page):
    page.locator('.theme-switch button[value="dark"]').click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator('.theme-switch button[value="dark"]')).to_have_attribute(
        "aria-pressed", "true")
    page.wait_for_timeout(300)  # the save in the background
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.locator('.theme-switch button[value="system"]').click()
    expect(page.locator("html")).not_to_have_attribute("data-theme", "dark")


def test_the_drawer_on_a_phone(new_context, fake):
    page = new_context(viewport=SIZES["phone"]).new_page()
    page.goto("/")
    fake.enqueue(Tokens(["One"]))
    page.locator("#composer-input").fill("first")
    page.locator("#composer-input").press("Enter")
    expect(page.locator("#thread .copy-btn").last).to_be_visible()
    # The list reloads after the send (to show the new conversation): under load the reply
    # can finish first, and a drawer opened before that reload has no current item to focus.
    expect(page.locator("#sidebar .conversation-item.current")).to_have_count(1)
    sidebar, toggle = page.locator("#sidebar"), page.locator(".sidebar-toggle")
    expect(sidebar).not_to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#sidebar .conversation-item.current .conversation-link")).to_be_focused()
    page.keyboard.press("Escape")
    expect(sidebar).not_to_be_visible()
    expect(toggle).to_be_focused()

    page.keyboard.press("Control+Shift+S")
    expect(sidebar).to_be_visible()
    page.keyboard.press("Control+Shift+S")
    expect(sidebar).not_to_be_visible()

    toggle.click()
    page.locator(".drawer-scrim").click(position={"x": 370, "y": 400})
    expect(sidebar).not_to_be_visible()

    page.locator("#composer-input").focus()
    page.keyboard.press("Control+K")  # search is in the drawer: it opens there
    expect(page.locator("#search-input")).to_be_focused()
    page.keyboard.press("Escape")
    expect(sidebar).not_to_be_visible()

    toggle.click()
    page.locator("#sidebar .new-chat").click()
    expect(sidebar).not_to_be_visible()
    expect(page.locator("#conversation-title")).to_have_text("New chat")
    toggle = page.locator(".sidebar-toggle")  # the pane was swapped
    toggle.click()
    page.locator("#sidebar .conversation-link").first.click()
    expect(sidebar).not_to_be_visible()
    expect(page.locator("#thread article.message")).to_have_count(2)


def test_a_reply_is_announced_at_its_start_and_end_never_token_by_token(page, fake):
    thread = page.locator("#thread")
    expect(thread).to_have_attribute("role", "log")
    expect(thread).to_have_attribute("aria-live", "off")
    page.evaluate("""() => {
      window.__said = [];
      new MutationObserver(() => {
        const text = document.getElementById("announcer").textContent;
        if (text) window.__said.push(text);
      }).observe(document.getElementById("announcer"), { childList: true, characterData: true,
                                                          subtree: true });
    }""")
    fake.enqueue(Tokens([f"word{i} " for i in range(20)], interval=0.05))
    page.locator("#composer-input").fill("count")
    page.locator("#composer-input").press("Enter")
    page.wait_for_function("() => window.__said.some((t) => t.startsWith('Reply finished'))")
    said = page.evaluate("window.__said")
    assert said == ["Writing a reply…", "Reply finished, 20 words."]


def test_long_replies_get_a_progress_line_about_every_ten_seconds(page, fake):
    page.clock.install()
    page.reload()
    page.evaluate("""() => { window.__said = []; new MutationObserver(() => {
        const t = document.getElementById("announcer").textContent; if (t) window.__said.push(t);
      }).observe(document.getElementById("announcer"), { childList: true, subtree: true }); }""")
    fake.enqueue(Tokens([f"w{i} " for i in range(400)], interval=0.05))
    page.locator("#composer-input").fill("long")
    page.locator("#composer-input").press("Enter")
    streaming = page.locator('.message-body[data-status="streaming"] .message-content')
    expect(streaming).not_to_be_empty()
    page.clock.run_for(10_500)
    page.wait_for_function("() => window.__said.some((t) => t.startsWith('Still writing'))")
    page.locator(".stop-btn").click()


def test_first_load_of_the_home_page_stays_under_150_kb_compressed(new_context):
    context = new_context()
    page = context.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto("/", wait_until="load")
    page.wait_for_timeout(500)
    total = 0
    for request in finished:
        sizes = request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    # What came over the wire (bodies as sent, compressed where the server compresses).
    assert 0 < total <= 150_000, f"{total / 1000:.1f} KB"


def test_focus_is_kept_when_the_focused_button_is_swapped_away(page, fake):
    """Stop pressed from the keyboard: the final frame replaces the action bar (and the Stop
    button with it); focus lands somewhere useful, never on <body>, and shows."""
    fake.enqueue(Tokens([f"w{i} " for i in range(200)], interval=0.05))
    page.locator("#composer-input").fill("long")
    page.locator("#composer-input").press("Enter")
    stop = page.locator(".stop-btn")
    expect(stop).to_be_visible()
    stop.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".stop-btn")).to_have_count(0)
    page.wait_for_timeout(200)
    focused = page.evaluate("""() => { const el = document.activeElement;
      return [el.tagName, el.id, el.matches(":focus-visible"),
              getComputedStyle(el).outlineStyle]; }""")
    assert focused[0] != "BODY" and focused[2] and focused[3] == "solid", focused


def test_a_conversations_actions_show_on_hover_and_on_keyboard_focus(page, fake):
    fake.enqueue(Tokens(["Hi"]))
    page.locator("#composer-input").fill("hello")
    page.locator("#composer-input").press("Enter")
    expect(page.locator("#thread .copy-btn").last).to_be_visible()
    actions = page.locator("#conversation-list .item-hover-actions").first
    opacity = lambda: actions.evaluate("el => getComputedStyle(el).opacity")  # noqa: E731
    page.mouse.move(900, 400)
    assert opacity() == "0"
    page.locator("#conversation-list .conversation-link").first.hover()
    assert opacity() == "1"
    page.mouse.move(900, 400)
    page.locator("#search-input").focus()
    page.keyboard.press("ArrowDown")  # onto the first conversation, as the list's keys do
    expect(page.locator("#conversation-list .conversation-link").first).to_be_focused()
    assert opacity() == "1"
    page.keyboard.press("Tab")
    expect(actions.locator(".item-rename-btn")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-heading .rename-form input[name=title]")).to_be_focused()


def test_a_scheme_that_could_not_be_saved_says_so(page):
    page.route("**/appearance", lambda route: route.fulfill(status=500, body="down"))
    page.locator('.theme-switch button[value="dark"]').click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")  # shown anyway
    expect(page.locator("#alerts .alert")).to_contain_text(
        "The colour scheme was not saved (HTTP 500)")
    page.locator("#alerts .dismiss-btn").click()
    expect(page.locator("#alerts .alert")).to_have_count(0)
