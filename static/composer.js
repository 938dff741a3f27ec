// The message box: Enter sends, Shift+Enter is a newline; a blank message is not sent; a
// network failure says so. Clearing the box after a send is the server's (messages/_created.html).
(() => {
  "use strict";

  document.addEventListener("keydown", (event) => {
    const input = event.target;
    // keyCode 229: the Enter that confirms an IME composition, on browsers that report it so.
    const composing = event.isComposing || event.keyCode === 229;
    if (input.id === "composer-input" && event.key === "Enter" && !event.shiftKey && !composing) {
      event.preventDefault();
      input.form.requestSubmit();
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "composer") return;
    const input = form.querySelector("textarea[name=content]");
    // Files alone may be sent (a ready chip carries an "attachments" field).
    if (!input.value.trim() && !document.querySelector("#attachments input[name=attachments]")) {
      // Nothing to send: not even a request.
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    }
  }, true);

  document.addEventListener("htmx:error", (event) => {
    if (event.detail.ctx?.sourceElement?.id === "composer") {
      document.getElementById("composer-error").textContent =
        "Could not reach the server. Your message is still here; try again.";
    }
  });
})();
