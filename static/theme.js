// The colour scheme switch (templates/appearance/_theme.html): applied at once, saved in the
// background. Without this script the form posts and the page comes back in the new scheme.
(() => {
  "use strict";

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches?.(".theme-switch")) return;
    event.preventDefault();
    const theme = event.submitter?.value ?? "system";
    const root = document.documentElement;
    if (theme === "system") delete root.dataset.theme;
    else root.dataset.theme = theme;
    document.querySelector('meta[name="color-scheme"]')
      ?.setAttribute("content", theme === "system" ? "light dark" : theme);
    for (const button of document.querySelectorAll(".theme-switch button")) {
      button.setAttribute("aria-pressed", String(button.value === theme));
    }
    const body = new FormData(form);
    body.set("theme", theme);
    try {
      const response = await fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (err) {
      // Shown now, but the next page would come back in the old scheme: say so.
      const alert = document.createElement("p");
      alert.className = "alert";
      alert.textContent = `The colour scheme was not saved (${err.message}). `;
      const dismiss = alert.appendChild(document.createElement("button"));
      Object.assign(dismiss, { type: "button", className: "dismiss-btn", title: "Dismiss", textContent: "×" });
      document.getElementById("alerts")?.append(alert);
    }
  });
})();
