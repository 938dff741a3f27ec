// Keyboard shortcuts of the page and the conversation list (the help dialog, Ctrl+/, lists
// them): new chat, search, sidebar, help, Undo, ↑/↓ through the list, F2 rename, Delete,
// Esc to stop a reply or close the rename form. The message actions' keys are messages.js's,
// the model picker's models.js's.
(() => {
  "use strict";

  const hyperchat = (window.hyperchat ??= {});
  const { openId } = hyperchat;

  const isTyping = (el) => !!el.closest?.("input, textarea, select, [contenteditable=true]");
  // A field whose own Ctrl+Z would undo typing: only then does our Undo give way to it.
  const NOT_TEXT = "[type=checkbox], [type=radio], [type=button], [type=submit], [type=reset], [type=range], [type=color], [type=file]";
  const hasOwnUndo = (el) => el.isContentEditable ? el.textContent !== ""
    : !!el.matches?.("textarea, input") && !el.matches(NOT_TEXT) && el.value !== "";
  const listLinks = (from) => {
    const list = from?.closest(".search-hits") ?? document.getElementById("conversation-list");
    return list ? [...list.querySelectorAll(".conversation-link, .search-hit a")] : [];
  };

  function focusSearch() {
    document.getElementById("layout")?.classList.remove("sidebar-hidden");
    const input = document.getElementById("search-input");
    input?.focus();
    input?.select();
  }

  // The header's Rename button asks for the form (click-to-edit, conversations/_title.html),
  // which opens with the title selected, so that typing replaces it.
  const titleInput = () => document.querySelector(".rename-form input[name=title]");
  function rename() {
    const input = titleInput();
    if (input) {
      input.focus();
      input.select();
    } else {
      document.querySelector("#conversation-actions .rename-btn")?.click();
    }
  }
  // Esc pressed before the form has arrived still closes it: as soon as it is there.
  let opening = null; // null, "open" or "cancel"
  const fromRename = (event) => event.detail.ctx?.sourceElement?.matches?.(".rename-btn");
  document.addEventListener("htmx:before:request", (event) => {
    if (fromRename(event)) opening = "open";
  });
  document.addEventListener("htmx:finally:request", (event) => {
    if (!fromRename(event)) return;
    const input = titleInput();
    if (opening === "cancel") input?.dispatchEvent(new CustomEvent("rename-cancel", { bubbles: true }));
    else input?.select();
    opening = null;
  });

  // Open a conversation from the list (as its link would), then run `then`. htmx pushes the
  // URL, so the history entry is one htmx restores on back/forward.
  function openConversation(link, then) {
    if (openId() === link.closest("[data-conversation-id]")?.dataset.conversationId) {
      then?.();
      return;
    }
    const href = link.getAttribute("href");
    htmx.ajax("GET", href, { target: "#main", swap: "outerHTML", push: href }).then(() => then?.());
  }

  function trash(item) {
    const links = listLinks(item);
    const index = links.indexOf(item.querySelector(".conversation-link"));
    const next = links[index + 1] ?? links[index - 1];
    htmx.ajax("POST", item.dataset.deleteUrl, { swap: "none", target: item })
      .then(() => (next ?? document.getElementById("search-input"))?.focus());
  }

  document.addEventListener("keydown", (event) => {
    const ctrl = event.ctrlKey || event.metaKey;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const target = event.target;

    if (ctrl && event.shiftKey && key === "o") {
      event.preventDefault();
      // htmx focuses the new pane's composer (its autofocus), as a page load would.
      document.querySelector(".sidebar .new-chat")?.click();
    } else if ((ctrl && !event.shiftKey && key === "k") || (key === "/" && !ctrl && !isTyping(target))) {
      event.preventDefault();
      focusSearch();
    } else if (ctrl && event.shiftKey && key === "s") {
      event.preventDefault();
      hyperchat.toggleSidebar();
    } else if (event.shiftKey && key === "Escape") {
      event.preventDefault();
      document.getElementById("composer-input")?.focus();
    } else if (ctrl && key === "/") {
      event.preventDefault();
      document.getElementById("help-dialog")?.showModal();
    } else if (ctrl && !event.shiftKey && key === "z" && !hasOwnUndo(target)) {
      // Undo while the notice shows, even from the (empty) search box that a Delete of the
      // last item leaves focused; a field with text keeps its own undo.
      const button = document.querySelector("#toast.visible .undo-btn");
      if (button) {
        event.preventDefault();
        button.click();
      }
    } else if (key === "Escape" && target.closest?.(".rename-form")) {
      // The heading fetches itself back (its hx-trigger); focus.js returns to Rename.
      event.preventDefault();
      target.dispatchEvent(new CustomEvent("rename-cancel", { bubbles: true }));
    } else if (key === "Escape" && opening) {
      event.preventDefault();
      opening = "cancel";
    } else if (key === "Escape" && !event.isComposing) {
      // Esc stops the reply that is streaming (edit and feedback forms take their Esc first).
      const stop = document.querySelector(".stop-btn");
      if (stop) {
        event.preventDefault();
        stop.click();
      }
    } else if ((key === "ArrowDown" || key === "ArrowUp") && target.id === "search-input") {
      event.preventDefault();
      const first = document.querySelector(".search-hit a") ?? listLinks(null)[0];
      first?.focus();
    } else if ((key === "ArrowDown" || key === "ArrowUp") && target.matches?.(".conversation-link, .search-hit a")) {
      event.preventDefault();
      const links = listLinks(target);
      const index = links.indexOf(target) + (key === "ArrowDown" ? 1 : -1);
      if (index < 0) document.getElementById("search-input")?.focus();
      else links[Math.min(index, links.length - 1)]?.focus();
    } else if (key === "F2") {
      event.preventDefault();
      const link = target.closest?.(".conversation-link");
      if (link) openConversation(link, rename);
      else rename();
    } else if (key === "Delete" && target.matches?.(".conversation-link")) {
      const item = target.closest(".conversation-item");
      if (item.dataset.deleteUrl && document.getElementById("conversation-list")?.dataset.view !== "trash") {
        event.preventDefault();
        trash(item);
      }
    }
  });
})();
