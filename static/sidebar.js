// The sidebar: shown or hidden (remembered), and its marker on the conversation the pane
// shows. Shares `hyperchat.openId` and `hyperchat.itemLink` with focus.js and keyboard.js.
(() => {
  "use strict";

  const hyperchat = (window.hyperchat ??= {});

  // The composer's hidden field, not #main's attribute: a new chat's first message creates the
  // conversation and updates that field (out of band), while #main stays as it was rendered.
  hyperchat.openId = () => document.getElementById("conversation-id")?.value
    || document.getElementById("main")?.dataset.conversationId || "";
  hyperchat.itemLink = (id) =>
    (id ? document.querySelector(`#conv-${CSS.escape(id)} .conversation-link`) : null);

  const SIDEBAR_KEY = "hyperchat.sidebarHidden";
  hyperchat.toggleSidebar = () => {
    const layout = document.getElementById("layout");
    if (!layout) return;
    const hidden = layout.classList.toggle("sidebar-hidden");
    localStorage.setItem(SIDEBAR_KEY, hidden ? "1" : "");
    if (hidden && document.getElementById("sidebar").contains(document.activeElement)) {
      document.getElementById("composer-input")?.focus();
    }
  };
  // On load, and again after back/forward re-renders the whole body.
  const applySidebarState = () => {
    if (localStorage.getItem(SIDEBAR_KEY)) document.getElementById("layout")?.classList.add("sidebar-hidden");
  };
  applySidebarState();

  document.addEventListener("click", (event) => {
    if (event.target.closest(".sidebar-toggle")) hyperchat.toggleSidebar();
  });

  document.addEventListener("htmx:after:swap", () => {
    applySidebarState();
    // Keep the "current" marker on the conversation the pane shows.
    const id = hyperchat.openId();
    document.querySelectorAll(".conversation-item").forEach((item) => {
      const current = item.dataset.conversationId === id;
      item.classList.toggle("current", current);
      const link = item.querySelector(".conversation-link");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
  });
})();
