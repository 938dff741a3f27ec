// The sidebar as an off-canvas drawer at phone and tablet widths (the CSS breakpoint below):
// its button and Ctrl+Shift+S open and close it, Esc or a tap beside it closes it, and choosing
// a conversation closes it. Wider, app.js shows and hides the sidebar column as before.
(() => {
  "use strict";

  const narrow = window.matchMedia("(max-width: 768px)");
  const layout = () => document.getElementById("layout");
  const isOpen = () => !!layout()?.classList.contains("sidebar-open");

  // The toggle says whether the sidebar shows, at every width (it is re-rendered with the pane).
  function syncToggle() {
    const shown = narrow.matches ? isOpen() : !layout()?.classList.contains("sidebar-hidden");
    document.querySelectorAll(".sidebar-toggle").forEach((b) => b.setAttribute("aria-expanded", String(shown)));
  }

  function open() {
    layout()?.classList.add("sidebar-open");
    syncToggle();
    // Focus moves into the drawer, onto what is most likely wanted: the open conversation.
    const target = document.querySelector("#sidebar .conversation-item.current .conversation-link")
      ?? document.querySelector("#sidebar .new-chat");
    target?.focus();
  }

  function close({ restoreFocus = true } = {}) {
    if (!isOpen()) return;
    const hadFocus = document.getElementById("sidebar")?.contains(document.activeElement);
    layout().classList.remove("sidebar-open");
    syncToggle();
    if (restoreFocus && hadFocus) document.querySelector(".sidebar-toggle")?.focus();
  }

  // Capture phase, so that at narrow widths app.js's column toggle never sees these.
  document.addEventListener("click", (event) => {
    if (!narrow.matches) {
      if (event.target.closest?.(".sidebar-toggle")) setTimeout(syncToggle);
      return;
    }
    if (event.target.closest?.(".sidebar-toggle")) {
      event.stopImmediatePropagation();
      if (isOpen()) close();
      else open();
    } else if (event.target.closest?.(".drawer-scrim")) {
      close();
    } else if (event.target.closest?.("#sidebar .conversation-link, #sidebar .search-hit a, #sidebar .new-chat")) {
      // The pane that opens takes focus (its composer), so nothing is given back to the toggle.
      close({ restoreFocus: false });
    }
  }, true);

  window.addEventListener("keydown", (event) => {
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (!narrow.matches) {
      if ((event.ctrlKey || event.metaKey) && event.shiftKey && key === "s") setTimeout(syncToggle);
      return;
    }
    if ((event.ctrlKey || event.metaKey) && event.shiftKey && key === "s") {
      event.preventDefault();
      event.stopImmediatePropagation();
      if (isOpen()) close();
      else open();
    } else if (((event.ctrlKey || event.metaKey) && !event.shiftKey && key === "k")
               || (key === "/" && !event.ctrlKey && !event.target.closest?.("input, textarea, select, [contenteditable=true]"))) {
      // Search lives in the drawer: open it, and app.js focuses the search box as usual.
      layout()?.classList.add("sidebar-open");
      syncToggle();
    } else if (key === "Escape" && isOpen() && !event.shiftKey) {
      event.preventDefault();
      event.stopImmediatePropagation();
      close();
    } else if (key === "Enter" && event.target.matches?.("#sidebar .conversation-link, #sidebar .search-hit a")) {
      close({ restoreFocus: false });
    }
  }, true);

  narrow.addEventListener("change", () => {
    layout()?.classList.remove("sidebar-open");
    syncToggle();
  });
  document.addEventListener("htmx:after:swap", syncToggle);
  syncToggle();
})();
