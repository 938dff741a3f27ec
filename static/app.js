// hyperchat's only script: keyboard, clipboard and votes. Everything else is htmx + HTML.
// Delegated listeners on document, so bubbles swapped in later need no wiring.
(() => {
  "use strict";

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  // The sidebar groups conversations by the person's calendar days (Today, Yesterday...):
  // the server learns the time zone from this cookie, on every request after the first.
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    // IANA names ("America/Los_Angeles") need no escaping; the server reads the raw value.
    if (/^[\w+\-/]+$/.test(zone)) document.cookie = `tz=${zone}; path=/; max-age=31536000; SameSite=Lax`;
  } catch { /* no Intl time zone: the server uses UTC */ }

  // Every htmx request carries the CSRF token (the composer also posts it as a form field).
  document.addEventListener("htmx:config:request", (event) => {
    event.detail.ctx.request.headers["X-CSRF-Token"] = csrfToken();
  });

  // --- toast ----------------------------------------------------------------------------
  let toastTimer;
  function toast(text, kind = "info") {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.dataset.kind = kind;
    el.classList.add("visible");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("visible"), 2500);
  }

  function flash(button, text, ok) {
    button.classList.add(ok ? "copied" : "failed");
    button.dataset.feedback = text;
    toast(text, ok ? "info" : "error");
    setTimeout(() => {
      button.classList.remove("copied", "failed");
      delete button.dataset.feedback;
    }, 1500);
  }

  // --- clipboard -----------------------------------------------------------------------
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
    const article = button.closest("article.message");
    try {
      await writeClipboard(messageText(article));
      flash(button, "Copied!", true);
    } catch (err) {
      flash(button, `Copy failed: ${err.message}`, false);
    }
  }

  async function shareConversation(button) {
    const url = fetch(button.dataset.shareUrl, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    }).then(async (response) => {
      const body = await response.json();
      if (!response.ok || !body.ok) throw new Error(body.error || `HTTP ${response.status}`);
      document.querySelectorAll(".share-btn").forEach((b) => (b.dataset.conversationShareId = body.share_id));
      return `${window.location.origin}/share/${body.share_id}`;
    });
    try {
      await writeClipboard(url);
      flash(button, "Link copied!", true);
      refreshShareStatus();
    } catch (err) {
      flash(button, `Share failed: ${err.message}`, false);
    }
  }

  function refreshShareStatus() {
    const status = document.getElementById("share-status");
    const id = document.getElementById("conversation-id")?.value;
    if (status && id && window.htmx) {
      htmx.ajax("GET", `/c/${id}/share`, { target: "#share-status", swap: "outerHTML" });
    }
  }

  // --- votes ---------------------------------------------------------------------------
  async function vote(button, value) {
    const actions = button.closest(".message-actions");
    const active = button.classList.contains("voted");
    const rating = active ? 0 : value; // clicking the active vote clears it
    try {
      const response = await fetch(button.dataset.rateUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ rating }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok || !body.ok) throw new Error(body.error || `HTTP ${response.status}`);
      for (const b of actions.querySelectorAll(".upvote-btn, .downvote-btn")) {
        const on = (b.classList.contains("upvote-btn") ? 1 : -1) === body.rating;
        b.classList.toggle("voted", on);
        b.setAttribute("aria-pressed", String(on));
      }
      // actions.js opens the feedback form (reasons and free text) for the vote. On document:
      // the live events channel may already have re-rendered (detached) this button.
      document.dispatchEvent(new CustomEvent("hyperchat:voted", {
        detail: { messageId: button.dataset.messageId, rating: body.rating } }));
    } catch (err) {
      toast(`Vote not saved: ${err.message}`, "error");
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.matches(".copy-btn")) copyMessage(button);
    else if (button.matches(".share-btn")) shareConversation(button);
    else if (button.matches(".upvote-btn")) vote(button, 1);
    else if (button.matches(".downvote-btn")) vote(button, -1);
    else if (button.matches(".dismiss-btn")) button.closest(".alert")?.remove();
  });

  // --- composer ------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    const input = event.target;
    // keyCode 229: the Enter that confirms an IME composition, on browsers that report it so.
    const composing = event.isComposing || event.keyCode === 229;
    if (input.id === "composer-input" && event.key === "Enter" && !event.shiftKey && !composing) {
      // Enter sends; Shift+Enter is a newline; Enter that ends an IME composition is not a send.
      event.preventDefault();
      input.form.requestSubmit();
      return;
    }
    if (event.key === "Escape" && !event.shiftKey && !event.isComposing && !event.target.closest?.(".rename-form")) {
      const stop = document.querySelector(".stop-btn");
      if (stop) {
        event.preventDefault();
        stop.click();
      }
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "composer") return;
    const input = form.querySelector("textarea[name=content]");
    if (!input.value.trim()) {
      // Nothing to send: not even a request.
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    }
  }, true);

  document.addEventListener("htmx:after:request", (event) => {
    const ctx = event.detail.ctx;
    const form = ctx?.sourceElement;
    if (!form || form.id !== "composer") return;
    const ok = ctx.response && ctx.response.status >= 200 && ctx.response.status < 300;
    if (ok) {
      // Only a message the server accepted leaves the box; on an error the text stays.
      form.querySelector("textarea[name=content]").value = "";
      document.getElementById("composer-error").textContent = "";
      scrollThread();
    }
  });

  document.addEventListener("htmx:error", (event) => {
    const ctx = event.detail.ctx;
    if (ctx?.sourceElement?.id === "composer") {
      document.getElementById("composer-error").textContent =
        "Could not reach the server. Your message is still here; try again.";
    }
  });

  // --- scrolling -----------------------------------------------------------------------
  // Follow a streaming reply only while the reader is at the bottom.
  let pinned = true;
  window.addEventListener("scroll", () => {
    pinned = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }, { passive: true });
  function scrollThread() {
    window.scrollTo({ top: document.body.scrollHeight });
  }
  document.addEventListener("htmx:after:swap", (event) => {
    // A pane swapped in (another conversation) opens at its latest message, as a page load does.
    const newPane = event.detail.ctx?.target?.id === "main" && !window.location.hash.startsWith("#m-");
    if (pinned || newPane) scrollThread();
  });

  // A conversation page opens at its latest message, unless the URL names one (#m-<id>),
  // which the browser scrolls to itself. Earlier messages then load as the reader scrolls up.
  if (document.getElementById("composer") && !window.location.hash.startsWith("#m-")) scrollThread();

  // Earlier messages arrive above what the reader is looking at: keep that where it was, so
  // the page does not jump (nor reveal the next sentinel and load everything at once).
  let anchor = null;
  document.addEventListener("htmx:before:swap", (event) => {
    const sentinel = event.detail.ctx?.sourceElement;
    const first = sentinel?.matches?.(".window-sentinel") && sentinel.nextElementSibling;
    if (first) anchor = { el: first, top: first.getBoundingClientRect().top };
  });
  document.addEventListener("htmx:after:swap", () => {
    if (!anchor) return;
    const moved = anchor.el.getBoundingClientRect().top - anchor.top;
    anchor = null;
    if (moved) window.scrollBy(0, moved);
  });
})();

// Conversations: keyboard navigation, rename, trash with undo, sidebar, help, focus.
(() => {
  "use strict";

  const isTyping = (el) => !!el.closest?.("input, textarea, select, [contenteditable=true]");
  // A field whose own Ctrl+Z would undo typing: only then does our Undo give way to it.
  const NOT_TEXT = "[type=checkbox], [type=radio], [type=button], [type=submit], [type=reset], [type=range], [type=color], [type=file]";
  const hasOwnUndo = (el) => el.isContentEditable ? el.textContent !== ""
    : !!el.matches?.("textarea, input") && !el.matches(NOT_TEXT) && el.value !== "";
  const listLinks = (from) => {
    const list = from?.closest(".search-hits") ?? document.getElementById("conversation-list");
    return list ? [...list.querySelectorAll(".conversation-link, .search-hit a")] : [];
  };
  // The composer's hidden field, not #main's attribute: a new chat's first message creates the
  // conversation and updates that field (out of band), while #main stays as it was rendered.
  const openId = () => document.getElementById("conversation-id")?.value
    || document.getElementById("main")?.dataset.conversationId || "";
  const itemLink = (id) => (id ? document.querySelector(`#conv-${CSS.escape(id)} .conversation-link`) : null);

  function focusSearch() {
    const layout = document.getElementById("layout");
    layout?.classList.remove("sidebar-hidden");
    const input = document.getElementById("search-input");
    input?.focus();
    input?.select();
  }

  const SIDEBAR_KEY = "hyperchat.sidebarHidden";
  function toggleSidebar() {
    const layout = document.getElementById("layout");
    if (!layout) return;
    const hidden = layout.classList.toggle("sidebar-hidden");
    localStorage.setItem(SIDEBAR_KEY, hidden ? "1" : "");
    if (hidden && document.getElementById("sidebar").contains(document.activeElement)) {
      document.getElementById("composer-input")?.focus();
    }
  }
  // On load, and again after back/forward re-renders the whole body.
  const applySidebarState = () => {
    if (localStorage.getItem(SIDEBAR_KEY)) document.getElementById("layout")?.classList.add("sidebar-hidden");
  };
  applySidebarState();

  function openRename() {
    const heading = document.getElementById("conversation-heading");
    const form = heading?.querySelector(".rename-form");
    if (!form) return;
    heading.querySelector("h1").hidden = true;
    form.hidden = false;
    const input = form.querySelector("input[name=title]");
    input.focus();
    input.select();
  }

  function closeRename(form) {
    const input = form.querySelector("input[name=title]");
    input.value = input.dataset.original;
    form.querySelector(".rename-error").textContent = "";
    form.hidden = true;
    const heading = form.closest("#conversation-heading").querySelector("h1");
    heading.hidden = false;
    document.querySelector(".rename-btn")?.focus();
  }

  // Open a conversation from the list (as its link would), then run `then`. htmx pushes the
  // URL, so the history entry is one htmx restores on back/forward.
  function openConversation(link, then) {
    if (link.dataset && openId() === link.closest("[data-conversation-id]")?.dataset.conversationId) {
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
    htmx.ajax("POST", `/c/${item.dataset.conversationId}/delete`, { swap: "none", target: item })
      .then(() => (next ?? document.getElementById("search-input"))?.focus());
  }

  function undo(button) {
    // The list reloads after an Undo: focus follows the conversation that came back.
    pending = { conversationId: button.dataset.conversationId, until: Date.now() + 3000 };
    button.click();
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
      toggleSidebar();
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
        undo(button);
      }
    } else if (key === "Escape" && target.closest?.(".rename-form")) {
      event.preventDefault();
      event.stopPropagation();
      closeRename(target.closest(".rename-form"));
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
      if (link) openConversation(link, openRename);
      else openRename();
    } else if (key === "Delete" && target.matches?.(".conversation-link")) {
      const item = target.closest(".conversation-item");
      if (document.getElementById("conversation-list")?.dataset.view !== "trash") {
        event.preventDefault();
        trash(item);
      }
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest(".rename-btn")) openRename();
    else if (event.target.closest(".sidebar-toggle")) toggleSidebar();
    // A click on Undo (Ctrl+Z comes through undo(), whose own click lands here too).
    else if (event.isTrusted && event.target.closest(".undo-btn")) {
      pending = { conversationId: event.target.closest(".undo-btn").dataset.conversationId, until: Date.now() + 3000 };
    }
  });

  // After a rename is saved the heading is re-rendered: put focus back where it was asked for.
  document.addEventListener("htmx:after:request", (event) => {
    const form = event.detail.ctx?.sourceElement;
    if (form?.matches?.(".rename-form") && event.detail.ctx.response?.status === 200) {
      // The sidebar's link survives the swap (only its title is replaced): focus returns there.
      (itemLink(openId()) ?? document.getElementById("composer-input"))?.focus();
    }
  });

  // --- focus ---------------------------------------------------------------------------
  // Opening a conversation from the list or a search hit *by keyboard* keeps focus there, so
  // ↑/↓, F2 and Delete go on working; a click (or a new chat) lets htmx focus the composer
  // (its autofocus), as a page load would.
  let byKeyboard = false;
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

  // Where focus is, said in terms that survive a re-render: swaps replace elements (the list
  // reloads after Undo/restore/unarchive, the header's buttons are swapped out of band when a
  // conversation is archived or trashed, back/forward re-renders the body), and a removed
  // element drops focus on <body>. Then focus goes to the same thing in the new markup.
  let last = null;
  let pending = null; // {conversationId, until}: focus that conversation's link once it appears
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

  // Toasts with an Undo stay 10 s, others a moment; a newer toast replaces an older one.
  // Armed from a MutationObserver: a toast answering a button that the same response
  // removed (the header's Archive) sends htmx's after:swap to a detached node.
  let toastTimer;
  function armToast() {
    const toast = document.querySelector("#toast.visible[data-timeout]:not([data-armed])");
    if (!toast) return;
    toast.dataset.armed = "1";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.remove("visible"), Number(toast.dataset.timeout));
  }

  new MutationObserver(() => {
    keepFocus();
    armToast();
  }).observe(document.body, { childList: true, subtree: true });

  document.addEventListener("htmx:after:swap", () => {
    applySidebarState();
    // Keep the sidebar's "current" marker on the conversation the pane shows.
    const id = openId();
    document.querySelectorAll(".conversation-item").forEach((item) => {
      const current = item.dataset.conversationId === id;
      item.classList.toggle("current", current);
      const link = item.querySelector(".conversation-link");
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    highlightTarget();
  });

  // A permalink (#m-<id>) opened by htmx: scroll to the message and mark it.
  let highlighted = "";
  function highlightTarget() {
    const hash = window.location.hash;
    if (!hash.startsWith("#m-") || hash === highlighted) return;
    const anchor = document.getElementById(hash.slice(1));
    const article = anchor?.closest("article.message");
    if (!article) {
      // A bare /c/<id>#m-<mid> to a message older than the window the page opened with:
      // ask the server for the window around it (?m=), keeping the fragment.
      const url = new URL(window.location.href);
      if (/^#m-\d+$/.test(hash) && document.getElementById("thread") && !url.searchParams.has("m")) {
        url.searchParams.set("m", hash.slice(3));
        window.location.replace(url);
      }
      return;
    }
    highlighted = hash;
    article.classList.add("highlight");
    article.scrollIntoView({ block: "center" });
  }
  window.addEventListener("popstate", () => (highlighted = ""));
  // A full page load of a permalink, or a fragment typed or followed on the same page.
  window.addEventListener("hashchange", highlightTarget);
  highlightTarget();
  document.addEventListener("htmx:after:history:push", () => (highlighted = ""));
})();
