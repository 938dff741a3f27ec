// Message actions from the keyboard: ↑ in the empty message box edits your last message;
// in the edit form Ctrl+Enter saves and Esc cancels; Esc closes the feedback form. Captured,
// so that these Esc presses do not also stop a streaming reply (keyboard.js). Votes, edits
// and feedback themselves are htmx attributes on server-rendered HTML.
(() => {
  "use strict";

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
    if (event.isComposing || event.keyCode === 229) return;
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

  // A vote that never reached the server (an answer with an error goes to the alerts).
  document.addEventListener("htmx:error", (event) => {
    if (event.detail.ctx?.sourceElement?.matches?.(".upvote-btn, .downvote-btn")) {
      document.dispatchEvent(new CustomEvent("hyperchat:toast", {
        detail: { text: "Vote not saved: the server could not be reached.", kind: "error" } }));
    }
  });
})();
