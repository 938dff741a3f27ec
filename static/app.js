// hyperchat's only script: keyboard, clipboard and votes. Everything else is htmx + HTML.
// Delegated listeners on document, so bubbles swapped in later need no wiring.
(() => {
  "use strict";

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  // Every htmx request carries the CSRF token (the composer also posts it as a form field).
  document.addEventListener("htmx:config:request", (event) => {
    event.detail.ctx.request.headers["X-CSRF-Token"] = csrfToken();
  });

  // --- toast ----------------------------------------------------------------------------
  let toastTimer;
  function toast(text, kind = "info") {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.dataset.kind = kind;
    el.classList.add("visible");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("visible"), 2500);
  }

  function flash(button, text, ok) {
    button.classList.add(ok ? "copied" : "failed");
    button.dataset.feedback = text;
    toast(text, ok ? "info" : "error");
    setTimeout(() => {
      button.classList.remove("copied", "failed");
      delete button.dataset.feedback;
    }, 1500);
  }

  // --- clipboard -----------------------------------------------------------------------
  async function writeClipboard(textOrPromise) {
    if (!navigator.clipboard) throw new Error("Clipboard is not available (needs HTTPS or localhost).");
    // ClipboardItem with a promise keeps the click's user activation while we wait for the server.
    if (typeof textOrPromise !== "string" && window.ClipboardItem) {
      const blob = textOrPromise.then((t) => new Blob([t], { type: "text/plain" }));
      await navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
      return;
    }
    await navigator.clipboard.writeText(await textOrPromise);
  }

  function messageText(article) {
    // Replies keep their markdown source in a <template>; user messages show their text as is.
    const source = article.querySelector("template.message-source");
    if (source) return source.content.textContent;
    return article.querySelector(".message-content")?.textContent ?? "";
  }

  async function copyMessage(button) {
    const article = button.closest("article.message");
    try {
      await writeClipboard(messageText(article));
      flash(button, "Copied!", true);
    } catch (err) {
      flash(button, `Copy failed: ${err.message}`, false);
    }
  }

  async function shareConversation(button) {
    const url = fetch(button.dataset.shareUrl, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    }).then(async (response) => {
      const body = await response.json();
      if (!response.ok || !body.ok) throw new Error(body.error || `HTTP ${response.status}`);
      document.querySelectorAll(".share-btn").forEach((b) => (b.dataset.conversationShareId = body.share_id));
      return `${window.location.origin}/share/${body.share_id}`;
    });
    try {
      await writeClipboard(url);
      flash(button, "Link copied!", true);
      refreshShareStatus();
    } catch (err) {
      flash(button, `Share failed: ${err.message}`, false);
    }
  }

  function refreshShareStatus() {
    const status = document.getElementById("share-status");
    const id = document.getElementById("conversation-id")?.value;
    if (status && id && window.htmx) {
      htmx.ajax("GET", `/c/${id}/share`, { target: "#share-status", swap: "outerHTML" });
    }
  }

  // --- votes ---------------------------------------------------------------------------
  async function vote(button, value) {
    const actions = button.closest(".message-actions");
    const active = button.classList.contains("voted");
    const rating = active ? 0 : value; // clicking the active vote clears it
    try {
      const response = await fetch(button.dataset.rateUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ rating }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.ok) throw new Error(body.error || `HTTP ${response.status}`);
      for (const b of actions.querySelectorAll(".upvote-btn, .downvote-btn")) {
        const on = (b.classList.contains("upvote-btn") ? 1 : -1) === body.rating;
        b.classList.toggle("voted", on);
        b.setAttribute("aria-pressed", String(on));
      }
    } catch (err) {
      toast(`Vote not saved: ${err.message}`, "error");
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.matches(".copy-btn")) copyMessage(button);
    else if (button.matches(".share-btn")) shareConversation(button);
    else if (button.matches(".upvote-btn")) vote(button, 1);
    else if (button.matches(".downvote-btn")) vote(button, -1);
    else if (button.matches(".dismiss-btn")) button.closest(".alert")?.remove();
  });

  // --- composer ------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    const input = event.target;
    // keyCode 229: the Enter that confirms an IME composition, on browsers that report it so.
    const composing = event.isComposing || event.keyCode === 229;
    if (input.id === "composer-input" && event.key === "Enter" && !event.shiftKey && !composing) {
      // Enter sends; Shift+Enter is a newline; Enter that ends an IME composition is not a send.
      event.preventDefault();
      input.form.requestSubmit();
      return;
    }
    if (event.key === "Escape" && !event.isComposing) {
      const stop = document.querySelector(".stop-btn");
      if (stop) {
        event.preventDefault();
        stop.click();
      }
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "composer") return;
    const input = form.querySelector("textarea[name=content]");
    if (!input.value.trim()) {
      // Nothing to send: not even a request.
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    }
  }, true);

  document.addEventListener("htmx:after:request", (event) => {
    const ctx = event.detail.ctx;
    const form = ctx?.sourceElement;
    if (!form || form.id !== "composer") return;
    const ok = ctx.response && ctx.response.status >= 200 && ctx.response.status < 300;
    if (ok) {
      // Only a message the server accepted leaves the box; on an error the text stays.
      form.querySelector("textarea[name=content]").value = "";
      document.getElementById("composer-error").textContent = "";
      scrollThread();
    }
  });

  document.addEventListener("htmx:error", (event) => {
    const ctx = event.detail.ctx;
    if (ctx?.sourceElement?.id === "composer") {
      document.getElementById("composer-error").textContent =
        "Could not reach the server. Your message is still here; try again.";
    }
  });

  // --- scrolling -----------------------------------------------------------------------
  // Follow a streaming reply only while the reader is at the bottom.
  let pinned = true;
  window.addEventListener("scroll", () => {
    pinned = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }, { passive: true });
  function scrollThread() {
    window.scrollTo({ top: document.body.scrollHeight });
  }
  document.addEventListener("htmx:after:swap", () => {
    if (pinned) scrollThread();
  });
})();
