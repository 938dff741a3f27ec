// The model picker: Ctrl+Shift+M (or the composer's model button) opens it; typing filters
// (the server renders the list); ↑/↓ move, Enter picks, Esc closes. The pick fills the
// composer's hidden `model` field for the next message only.
(() => {
  "use strict";

  const dialog = () => document.getElementById("model-picker");
  const options = () => [...(dialog()?.querySelectorAll("#model-list [role=option]") ?? [])];
  const search = () => document.getElementById("model-search");

  function active() {
    const id = search()?.getAttribute("aria-activedescendant");
    return id ? document.getElementById(id) : null;
  }

  function activate(option) {
    for (const o of options()) o.classList.toggle("active", o === option);
    if (option) {
      search().setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      search()?.removeAttribute("aria-activedescendant");
    }
  }

  function open() {
    const d = dialog();
    if (!d) return;
    if (!d.open) d.showModal();
    search().focus();
    search().select();
    const list = document.getElementById("model-list");
    if (list?.hasAttribute("aria-busy")) list.dispatchEvent(new CustomEvent("model-picker-open"));
    activateChosen();
  }

  // The option of the model chosen so far (the conversation default when none), else the first.
  function activateChosen() {
    const chosen = document.getElementById("model-override")?.value ?? "";
    activate(options().find((o) => o.dataset.modelId === chosen) ?? options()[0] ?? null);
  }

  function close() {
    const d = dialog();
    if (d?.open) d.close();
    document.getElementById("composer-input")?.focus();
  }

  function setChoice(modelId, name) {
    const field = document.getElementById("model-override");
    const button = document.getElementById("model-picker-button");
    if (!field || !button) return;
    field.value = modelId;
    const label = button.querySelector(".model-picker-label");
    label.textContent = modelId ? name : button.dataset.defaultLabel;
    button.classList.toggle("overridden", Boolean(modelId));
    button.title = modelId
      ? `This message goes to ${name} (${modelId}). Ctrl+Shift+M to change.`
      : "Choose the model for this message (Ctrl+Shift+M)";
  }

  function pick(option) {
    if (!option) return;
    setChoice(option.dataset.modelId, option.dataset.modelName || option.dataset.modelId);
    close();
  }

  document.addEventListener("keydown", (event) => {
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && event.shiftKey && event.key.toLowerCase() === "m") {
      event.preventDefault();
      open();
      return;
    }
    if (event.target !== search()) return;
    const list = options();
    const index = list.indexOf(active());
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      activate(list[Math.min(list.length - 1, Math.max(0, index + step))] ?? null);
    } else if (event.key === "Home" && ctrl) {
      event.preventDefault();
      activate(list[0] ?? null);
    } else if (event.key === "End" && ctrl) {
      event.preventDefault();
      activate(list[list.length - 1] ?? null);
    } else if (event.key === "Enter") {
      event.preventDefault();
      pick(active());
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("#model-picker-button")) {
      open();
    } else if (event.target.closest(".model-picker-close")) {
      close();
    } else {
      const option = event.target.closest("#model-list [role=option]");
      if (option) pick(option);
    }
  });

  // The dialog's own Esc closes it; focus goes back to the message box.
  document.addEventListener("close", (event) => {
    if (event.target === dialog()) document.getElementById("composer-input")?.focus();
  }, true);

  // A new list arrived (the first load, or search results): keep the active option if it is
  // still there, else the chosen one, else the first.
  document.addEventListener("htmx:after:swap", () => {
    if (dialog()?.open && !options().includes(active())) activateChosen();
  });

  // The override is for one message: the response to a send brings the picker back on the
  // default (models/_picker.html, out of band).
})();
