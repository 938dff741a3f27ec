// What only this browser tab knows: which tab it is, and its time zone.
(() => {
  "use strict";

  // Every htmx request's headers are rendered on <body> (hx-headers, web/security.py), with
  // this tab's id left blank: one rendered page can be shown in two tabs (Duplicate tab, a
  // restore from the cache), so only the tab can tell itself apart. It is filled in on each
  // request, not written into the attribute: a back/forward restore copies the server's
  // <body> attributes back, blank again. The live events channel uses it not to send a tab
  // the change its own response already made.
  const TAB = crypto.randomUUID?.() ?? String(Math.random()).slice(2);
  document.addEventListener("htmx:config:request", (event) => {
    const headers = event.detail.ctx.request.headers;
    if ("X-Tab-Id" in headers) headers["X-Tab-Id"] = TAB;
  });

  // The sidebar groups conversations by the person's calendar days (Today, Yesterday...):
  // the server learns the time zone from this cookie, on every request after the first.
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    // IANA names ("America/Los_Angeles") need no escaping; the server reads the raw value.
    if (/^[\w+\-/]+$/.test(zone)) document.cookie = `tz=${zone}; path=/; max-age=31536000; SameSite=Lax`;
  } catch { /* no Intl time zone: the server uses UTC */ }
})();
