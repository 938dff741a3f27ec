// What a screen reader hears of a reply: its start, a short progress line about every 10 s
// while it is long, and its end, said politely in #announcer (the thread itself is a log that
// is not live, so the streamed text is never read token by token).
(() => {
  "use strict";

  const PROGRESS_EVERY_MS = 10_000;
  const streaming = new Map(); // message id -> when its progress was last said
  let timer = null;

  function say(text) {
    const region = document.getElementById("announcer");
    if (!region) return;
    // Emptied first, so the same words said twice are still a change to announce.
    region.textContent = "";
    setTimeout(() => (region.textContent = text), 50);
  }

  const words = (id) => (document.getElementById(`msg-${id}-content`)?.textContent.match(/\S+/g) ?? []).length;

  function check() {
    const now = Date.now();
    const live = new Set();
    for (const body of document.querySelectorAll('#thread .message-body[data-status="streaming"]')) {
      const id = body.closest("article.message")?.dataset.messageId;
      if (!id) continue;
      live.add(id);
      if (!streaming.has(id)) {
        streaming.set(id, now);
        say("Writing a reply…");
      }
    }
    for (const id of [...streaming.keys()]) {
      if (live.has(id)) continue;
      streaming.delete(id);
      const status = document.getElementById(`msg-${id}-body`)?.dataset.status;
      // An error is said by its own role="alert"; a reply gone from the page is not said.
      if (status === "complete") say(`Reply finished, ${words(id)} words.`);
      else if (status === "stopped") say(`Reply stopped, ${words(id)} words kept.`);
    }
    if (streaming.size && !timer) timer = setInterval(progress, 1000);
    if (!streaming.size && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  function progress() {
    const now = Date.now();
    for (const [id, last] of streaming) {
      if (now - last < PROGRESS_EVERY_MS) continue;
      streaming.set(id, now);
      say(`Still writing, ${words(id)} words so far.`);
      return; // one line at a time
    }
  }

  // Every swap, streamed frames included: check() is one query over the bubbles shown.
  new MutationObserver(check).observe(document.body, { childList: true, subtree: true });
  // What the page opened with (a reply still streaming after a reload) is not news.
  for (const body of document.querySelectorAll('#thread .message-body[data-status="streaming"]')) {
    const id = body.closest("article.message")?.dataset.messageId;
    if (id) streaming.set(id, Date.now());
  }
  check();
})();
