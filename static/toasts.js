// The one notice of the page (#toast, drawn above everything). The server's (after a delete,
// archive or trash, with an Undo; swapped in out of band) and the page's own (copy, share, a vote not
// saved: `hyperchat:toast` events) show and go the same way: for data-timeout ms, a newer
// notice replacing an older one. Also: the dismiss button of an error alert.
(() => {
  "use strict";

  let timer;
  function arm(toast) {
    if (!toast?.classList.contains("visible") || toast.dataset.armed) return;
    toast.dataset.armed = "1";
    clearTimeout(timer);
    timer = setTimeout(() => toast.classList.remove("visible"), Number(toast.dataset.timeout) || 2500);
  }

  document.addEventListener("hyperchat:toast", (event) => {
    const toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = event.detail.text;
    toast.dataset.kind = event.detail.kind ?? "info";
    toast.dataset.timeout = "2500";
    delete toast.dataset.armed;
    toast.classList.add("visible");
    arm(toast);
  });

  // A server notice replaces #toast, a child of <body>: only <body>'s own children are
  // watched, not the page below them, so streamed frames never wake this.
  new MutationObserver(() => arm(document.getElementById("toast")))
    .observe(document.body, { childList: true });

  document.addEventListener("click", (event) => {
    event.target.closest(".dismiss-btn")?.closest(".alert")?.remove();
  });
})();
