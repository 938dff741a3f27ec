// Message actions: edit with ↑ / Ctrl+Enter / Esc, feedback after a vote, and this tab's name
// for the live events channel. Everything else is htmx attributes on server-rendered HTML.
(() => {
  "use strict";

  // Each tab names itself, so the conversation's channel does not send it back the changes
  // its own requests already made (views/actions.py).
  const TAB = (crypto.randomUUID?.() ?? String(Math.random()).slice(2));
  document.addEventListener("htmx:config:request", (event) => {
    event.detail.ctx.request.headers["X-Tab-Id"] = TAB;
  });

  const composerInput = () => document.getElementById("composer-input");

  function editLast() {
    const buttons = document.querySelectorAll("#thread article.message.user .edit-btn");
    const button = buttons[buttons.length - 1];
    if (!button) return false;
    button.click();
    return true;
  }

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const composing = event.isComposing || event.keyCode === 229;
    if (composing) return;
    // ↑ in an empty message box edits your last message.
    if (event.key === "ArrowUp" && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey
        && target === composerInput() && target.value === "") {
      if (editLast()) event.preventDefault();
      return;
    }
    const form = target.closest?.(".edit-form");
    if (form) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        form.querySelector(".cancel-edit-btn")?.click();
      }
      return;
    }
    const feedback = target.closest?.(".message-feedback.editing");
    if (feedback && event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      feedback.querySelector(".feedback-close-btn")?.click();
    }
  }, true);

  // After a vote (app.js), ask why: the feedback form opens under the reply.
  document.addEventListener("hyperchat:voted", (event) => {
    const id = event.detail.messageId;
    const slot = document.getElementById(`msg-${id}-feedback`);
    if (!slot || !window.htmx) return;
    const url = `/messages/${id}/feedback${event.detail.rating ? "?edit=1" : ""}`;
    htmx.ajax("GET", url, { target: slot, swap: "outerHTML" }).then(() => {
      document.querySelector(`#msg-${id}-feedback input, #msg-${id}-feedback textarea`)?.focus();
    });
  });

  // Focus follows the action: an edit form focuses its text (autofocus); after Save & rerun,
  // Cancel, a version switch or an Undo, focus goes back to a sensible place.
  document.addEventListener("htmx:after:request", (event) => {
    const source = event.detail.ctx?.sourceElement;
    const ok = event.detail.ctx?.response?.status < 300;
    if (!source || !ok) return;
    if (source.matches?.(".edit-form, .cancel-edit-btn")) {
      if (!document.activeElement || document.activeElement === document.body) composerInput()?.focus();
    } else if (source.matches?.(".version-prev, .version-next")) {
      // The bubble was replaced by the version chosen: focus the same arrow there, or the
      // other one when this end has none.
      const chosen = source.getAttribute("hx-post")?.match(/\/messages\/(\d+)\//)?.[1];
      const article = chosen && document.getElementById(`msg-${chosen}`);
      if (!article) return;
      const same = source.classList.contains("version-prev") ? ".version-prev" : ".version-next";
      const other = same === ".version-prev" ? ".version-next" : ".version-prev";
      const arrow = [article.querySelector(same), article.querySelector(other)].find((b) => b && !b.disabled);
      arrow?.focus();
    }
  });

  // Esc does not stop a reply while an edit or feedback form handles it (captured above).
})();
