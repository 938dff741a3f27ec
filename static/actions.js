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
    // The form's first chip has autofocus, which htmx honours after the swap.
    htmx.ajax("GET", url, { target: `#msg-${id}-feedback`, swap: "outerHTML" });
  });

  // Focus follows the action. A version arrow's bubble is replaced by the version chosen (and
  // htmx's after-request events then fire on a detached node, reaching nobody): remember the
  // arrow before the request, and focus the same arrow in the new bubble once it is there.
  let pendingArrow = null;
  document.addEventListener("htmx:before:request", (event) => {
    const source = event.detail.ctx?.sourceElement;
    if (!source?.matches?.(".version-prev, .version-next")) return;
    const chosen = source.getAttribute("hx-post")?.match(/\/messages\/(\d+)\//)?.[1];
    pendingArrow = chosen && {
      id: chosen,
      same: source.classList.contains("version-prev") ? ".version-prev" : ".version-next",
      until: Date.now() + 5000,
    };
  });
  new MutationObserver(() => {
    if (!pendingArrow) return;
    if (Date.now() > pendingArrow.until) { pendingArrow = null; return; }
    const article = document.getElementById(`msg-${pendingArrow.id}`);
    if (!article) return;
    const other = pendingArrow.same === ".version-prev" ? ".version-next" : ".version-prev";
    const arrow = [article.querySelector(pendingArrow.same), article.querySelector(other)]
      .find((b) => b && !b.disabled);
    pendingArrow = null;
    arrow?.focus();
  }).observe(document.body, { childList: true, subtree: true });

  // After Save & rerun or Cancel the form is gone: the message box takes the focus.
  document.addEventListener("htmx:after:request", (event) => {
    const source = event.detail.ctx?.sourceElement;
    if (source?.matches?.(".edit-form, .cancel-edit-btn") && event.detail.ctx?.response?.status < 300
        && (!document.activeElement || document.activeElement === document.body)) {
      composerInput()?.focus();
    }
  });

  // Esc does not stop a reply while an edit or feedback form handles it (captured above).
})();
