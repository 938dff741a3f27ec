// Focus follows the action, and survives re-renders: swaps replace elements (the list reloads
// after Undo or restore, the header's buttons are swapped out of band after Archive, a vote
// re-renders the reply's buttons, back/forward re-renders the body), and a removed element
// drops focus on <body>. Then focus goes to the same thing in the new markup.
(() => {
  "use strict";

  const hyperchat = (window.hyperchat ??= {});
  const { openId, itemLink } = hyperchat;

  // Opening a conversation from the list or a search hit *by keyboard* keeps focus there, so
  // ↑/↓, F2 and Delete go on working; a click (or a new chat) lets htmx focus the composer
  // (its autofocus), as a page load would.
  let byKeyboard = false;
  let last = null;
  let pending = null; // {conversationId, until}: focus that conversation's link once it appears
  document.addEventListener("keydown", () => (byKeyboard = true), true);
  document.addEventListener("pointerdown", () => {
    byKeyboard = false;
    last = null; // a click elsewhere may leave focus on <body> on purpose
    pending = null;
  }, true);
  document.addEventListener("htmx:before:swap", (event) => {
    const source = event.detail.ctx?.sourceElement;
    if (!byKeyboard || !source?.matches?.(".conversation-link, .search-hit a")) return;
    for (const task of event.detail.tasks ?? []) {
      task.fragment?.querySelectorAll?.("[autofocus]").forEach((el) => el.removeAttribute("autofocus"));
    }
  });

  // Undo (a click, or Ctrl+Z in keyboard.js) reloads the list: focus follows the
  // conversation that came back.
  document.addEventListener("click", (event) => {
    const id = event.target.closest?.(".undo-btn")?.dataset.conversationId;
    if (id) pending = { conversationId: id, until: Date.now() + 3000 };
  });

  // Where focus is, said in terms that survive a re-render.
  document.addEventListener("focusin", (event) => {
    const el = event.target;
    const item = el.closest?.(".conversation-item");
    let neighbours = [];
    if (item) {
      const items = [...item.parentElement.querySelectorAll(".conversation-item")];
      const index = items.indexOf(item);
      neighbours = [items[index + 1], items[index - 1]].filter(Boolean).map((i) => i.dataset.conversationId);
    }
    last = {
      el,
      id: el.id,
      conversationId: item?.dataset.conversationId,
      neighbours,
      inActions: !!el.closest?.("#conversation-actions"),
      inHeading: !!el.closest?.("#conversation-heading"),
      inList: !!el.closest?.("#sidebar"),
    };
  });

  function replacement(lost) {
    if (lost.id && document.getElementById(lost.id)) return document.getElementById(lost.id);
    if (lost.conversationId) {
      for (const id of [lost.conversationId, ...lost.neighbours]) {
        if (itemLink(id)) return itemLink(id);
      }
    }
    if (lost.inActions) {
      // Archived or trashed from the header: the button that undoes it took its place.
      for (const name of ["unarchive-btn", "restore-btn", "archive-btn", "rename-btn"]) {
        const button = document.querySelector(`#conversation-actions .${name}`);
        if (button) return button;
      }
    }
    // The rename form was closed (Esc): back to the button that opens it.
    if (lost.inHeading) return document.querySelector("#conversation-actions .rename-btn");
    if (lost.inList) return document.getElementById("search-input");
    return document.getElementById("composer-input") ?? document.getElementById("search-input");
  }

  const focusLost = () => !document.activeElement || document.activeElement === document.body;

  function keepFocus() {
    if (pending) {
      const link = itemLink(pending.conversationId);
      if (link) {
        pending = null;
        link.focus();
        return;
      }
      if (Date.now() > pending.until) pending = null;
    }
    if (!last || last.el.isConnected || !focusLost()) return;
    // Undo was pressed (its toast, or the list item it came from, is gone): wait for the
    // list to bring the conversation back rather than jump somewhere else first.
    if (pending) return;
    const lost = last;
    last = null;
    replacement(lost)?.focus();
  }

  // After every swap (a response, an out-of-band part, a streamed frame): a few comparisons,
  // and nothing to do unless the focused element was swapped away.
  document.addEventListener("htmx:after:swap", keepFocus);

  // A version arrow's bubble is replaced by the version chosen: focus the same arrow in the
  // new bubble (or the other one, when that end is reached).
  let pendingArrow = null;
  document.addEventListener("htmx:before:request", (event) => {
    const source = event.detail.ctx?.sourceElement;
    if (!source?.matches?.(".version-prev, .version-next")) return;
    pendingArrow = {
      id: source.dataset.versionId,
      same: source.classList.contains("version-prev") ? ".version-prev" : ".version-next",
      until: Date.now() + 5000,
    };
  });
  document.addEventListener("htmx:after:swap", () => {
    if (!pendingArrow) return;
    if (Date.now() > pendingArrow.until) { pendingArrow = null; return; }
    const article = document.getElementById(`msg-${pendingArrow.id}`);
    if (!article) return;
    const other = pendingArrow.same === ".version-prev" ? ".version-next" : ".version-prev";
    const arrow = [article.querySelector(pendingArrow.same), article.querySelector(other)]
      .find((b) => b && !b.disabled);
    pendingArrow = null;
    arrow?.focus();
  });

  document.addEventListener("htmx:after:request", (event) => {
    const ctx = event.detail.ctx;
    const source = ctx?.sourceElement;
    const ok = ctx?.response?.status >= 200 && ctx.response.status < 300;
    if (source?.matches?.(".rename-form") && ctx.response?.status === 200) {
      // A rename saved: the sidebar's link survives the swap (only its title is replaced).
      (itemLink(openId()) ?? document.getElementById("composer-input"))?.focus();
    } else if (source?.matches?.(".edit-form, .cancel-edit-btn") && ok && focusLost()) {
      // After Save & rerun or Cancel the edit form is gone: the message box takes the focus.
      document.getElementById("composer-input")?.focus();
    }
  });
})();
