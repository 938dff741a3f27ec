// Copy a message, copy a conversation's share link: the clipboard needs a script.
(() => {
  "use strict";

  const toast = (text, kind) =>
    document.dispatchEvent(new CustomEvent("hyperchat:toast", { detail: { text, kind } }));

  function flash(button, text, ok) {
    button.classList.add(ok ? "copied" : "failed");
    button.dataset.feedback = text;
    toast(text, ok ? "info" : "error");
    setTimeout(() => {
      button.classList.remove("copied", "failed");
      delete button.dataset.feedback;
    }, 1500);
  }

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
    try {
      await writeClipboard(messageText(button.closest("article.message")));
      flash(button, "Copied!", true);
    } catch (err) {
      flash(button, `Copy failed: ${err.message}`, false);
    }
  }

  // A fetch, not htmx: the link must reach the clipboard within the click's user activation.
  async function shareConversation(button) {
    // The headers htmx sends (the CSRF token), from the same attribute.
    const headers = JSON.parse(document.body.getAttribute("hx-headers:inherited") || "{}");
    const url = fetch(button.dataset.shareUrl, {
      method: "POST",
      headers: { ...headers, Accept: "application/json" },
    }).then(async (response) => {
      const body = await response.json();
      if (!response.ok || !body.ok) throw new Error(body.error || `HTTP ${response.status}`);
      document.querySelectorAll(".share-btn").forEach((b) => (b.dataset.conversationShareId = body.share_id));
      // The server names the path; the origin is the one this browser reached (behind a
      // proxy the server may not know it).
      return new URL(new URL(body.url).pathname, window.location.origin).href;
    });
    try {
      await writeClipboard(url);
      flash(button, "Link copied!", true);
      // The header's status (Private/Shared) fetches itself anew.
      const status = document.getElementById("share-status");
      if (status && window.htmx) htmx.trigger(status, "share-changed");
    } catch (err) {
      flash(button, `Share failed: ${err.message}`, false);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (button?.matches(".copy-btn")) copyMessage(button);
    else if (button?.matches(".share-btn")) shareConversation(button);
  });
})();
