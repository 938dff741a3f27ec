// Where the conversation is scrolled: at its latest message, following a streaming reply
// while the reader is at the bottom, steady while earlier messages load above, and at a
// permalinked message (#m-<id>), marked.
(() => {
  "use strict";

  let pinned = true;
  window.addEventListener("scroll", () => {
    pinned = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }, { passive: true });
  const scrollThread = () => window.scrollTo({ top: document.body.scrollHeight });

  document.addEventListener("htmx:after:swap", (event) => {
    // A pane swapped in (another conversation) opens at its latest message, as a page load does.
    const newPane = event.detail.ctx?.target?.id === "main" && !window.location.hash.startsWith("#m-");
    if (pinned || newPane) scrollThread();
  });

  // A message the server accepted: down to it, wherever the reader was.
  document.addEventListener("htmx:after:request", (event) => {
    const ctx = event.detail.ctx;
    if (ctx?.sourceElement?.id === "composer" && ctx.response?.status >= 200 && ctx.response.status < 300) {
      scrollThread();
    }
  });

  // A conversation page opens at its latest message, unless the URL names one (#m-<id>),
  // which the browser scrolls to itself. Earlier messages then load as the reader scrolls up.
  // A shared conversation too: it is windowed the same way.
  const opensAtEnd = document.getElementById("composer") || document.querySelector(".thread.shared");
  if (opensAtEnd && !window.location.hash.startsWith("#m-")) scrollThread();

  // Earlier messages arrive above what the reader is looking at: keep that where it was, so
  // the page does not jump (nor reveal the next sentinel and load everything at once).
  let anchor = null;
  document.addEventListener("htmx:before:swap", (event) => {
    const sentinel = event.detail.ctx?.sourceElement;
    const first = sentinel?.matches?.(".window-sentinel") && sentinel.nextElementSibling;
    if (first) anchor = { el: first, top: first.getBoundingClientRect().top };
  });
  document.addEventListener("htmx:after:swap", () => {
    if (!anchor) return;
    const moved = anchor.el.getBoundingClientRect().top - anchor.top;
    anchor = null;
    if (moved) window.scrollBy(0, moved);
  });

  // A permalink (#m-<id>) opened by htmx: scroll to the message and mark it.
  let highlighted = "";
  function highlightTarget() {
    const hash = window.location.hash;
    if (!hash.startsWith("#m-") || hash === highlighted) return;
    const article = document.getElementById(hash.slice(1))?.closest("article.message");
    if (!article) {
      // A bare /c/<id>#m-<mid> to a message older than the window the page opened with:
      // ask the server for the window around it (?m=), keeping the fragment.
      const url = new URL(window.location.href);
      if (/^#m-\d+$/.test(hash) && document.getElementById("thread") && !url.searchParams.has("m")) {
        url.searchParams.set("m", hash.slice(3));
        window.location.replace(url);
      }
      return;
    }
    highlighted = hash;
    article.classList.add("highlight");
    article.scrollIntoView({ block: "center" });
  }
  document.addEventListener("htmx:after:swap", highlightTarget);
  window.addEventListener("popstate", () => (highlighted = ""));
  // A full page load of a permalink, or a fragment typed or followed on the same page.
  window.addEventListener("hashchange", highlightTarget);
  highlightTarget();
  document.addEventListener("htmx:after:history:push", () => (highlighted = ""));
})();
