// Files for the next message: the attach button (Ctrl+Shift+U), a drop on the conversation,
// an image pasted into the message box. Each file becomes a chip (the markup is the page's
// <template id="chip-uploading">) with a real progress bar from the upload's progress
// events (htmx 4 sends with fetch, which reports none, so this one request is an
// XMLHttpRequest); the server's answer is the chip's next stage (files/_chip.html), which
// htmx then polls until the file is read. Remove and Cancel work at every stage; a failure
// shows on its chip, and the typed message is never touched.
(() => {
  "use strict";

  const tray = () => document.getElementById("attachments");

  function csrfHeaders() {
    const headers = JSON.parse(document.body.getAttribute("hx-headers:inherited") || "{}");
    return {"X-CSRF-Token": headers["X-CSRF-Token"] || ""};
  }

  function sizeText(size) {
    if (size < 1024) return `${size} bytes`;
    const units = ["KB", "MB", "GB"];
    let value = size, unit = -1;
    do { value /= 1024; unit += 1; } while (value >= 1024 && unit < units.length - 1);
    return `${value.toFixed(1).replace(/\.0$/, "")} ${units[unit]}`;
  }

  function failed(chip, message) {
    // The chip names the file already.
    const name = chip.querySelector(".chip-name").textContent;
    if (message.startsWith(`${name}: `)) message = message.slice(name.length + 2);
    chip.classList.remove("chip-uploading");
    chip.classList.add("chip-error");
    chip.dataset.status = "error";
    chip.querySelector(".chip-progress")?.remove();
    const stage = chip.querySelector(".chip-stage");
    stage.classList.add("chip-error-text");
    stage.setAttribute("role", "alert");
    stage.textContent = message;
    stage.title = message;
    const remove = chip.querySelector(".chip-remove");
    remove.title = "Remove";
    remove.querySelector(".visually-hidden").textContent = "Remove";
    estimate();
  }

  function upload(file) {
    const list = tray();
    if (!list) return;
    const chip = document.getElementById("chip-uploading").content.firstElementChild.cloneNode(true);
    chip.querySelector(".chip-name").textContent = file.name;
    chip.querySelector(".chip-name").title = file.name;
    chip.querySelector(".chip-meta").textContent = sizeText(file.size);
    list.append(chip);
    if (list.children.length > Number(list.dataset.maxFiles)) {
      failed(chip, `At most ${list.dataset.maxFiles} files per message.`);
      return;
    }
    if (file.size > Number(list.dataset.maxSize)) {
      failed(chip, `Larger than the ${sizeText(Number(list.dataset.maxSize))} limit per file.`);
      return;
    }
    const request = new XMLHttpRequest();
    chip.upload = request;
    const bar = chip.querySelector(".chip-progress");
    const stage = chip.querySelector(".chip-stage");
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      stage.textContent = `Uploading… ${percent}%`;
    });
    request.addEventListener("load", () => {
      chip.upload = null;
      if (request.status >= 200 && request.status < 300) {
        const holder = document.createElement("template");
        holder.innerHTML = request.responseText.trim();
        const next = holder.content.firstElementChild;
        if (!next) { chip.remove(); return; }
        chip.replaceWith(next);
        htmx.process(next);
        estimate();
      } else {
        let message = `The upload failed (HTTP ${request.status}).`;
        try { message = JSON.parse(request.responseText).error || message; } catch (_) { /* not JSON */ }
        failed(chip, message);
      }
    });
    request.addEventListener("error", () => {
      chip.upload = null;
      failed(chip, "Could not reach the server; remove this file and attach it again.");
    });
    request.open("POST", list.dataset.uploadUrl);
    request.setRequestHeader("HX-Request", "true");
    for (const [name, value] of Object.entries(csrfHeaders())) request.setRequestHeader(name, value);
    const body = new FormData();
    body.append("file", file, file.name);
    request.send(body);
  }

  function attach(files) {
    for (const file of files) upload(file);
  }

  // The token estimate before sending: the message (~4 characters a token) and its files.
  function estimate() {
    const out = document.getElementById("attachments-estimate");
    const list = tray();
    if (!out || !list) return;
    const chips = [...list.querySelectorAll(".chip")].filter((chip) => chip.dataset.status !== "error");
    if (!chips.length) { out.textContent = ""; return; }
    const input = document.getElementById("composer-input");
    const text = Math.ceil((input?.value.length || 0) / 4);
    const files = chips.reduce((sum, chip) => sum + Number(chip.dataset.tokens || 0), 0);
    const busy = chips.some((chip) => chip.dataset.status === "uploading" || chip.dataset.status === "extracting");
    out.textContent = `≈ ${(text + files).toLocaleString()} tokens with ${chips.length === 1 ? "1 file" : `${chips.length} files`}` +
      (busy ? " (still reading)" : "");
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("#attach-btn")) {
      document.getElementById("attach-input").click();
      return;
    }
    const remove = event.target.closest(".chip-remove");
    if (!remove) return;
    const chip = remove.closest(".chip");
    if (chip.upload) chip.upload.abort();  // still uploading: nothing reaches storage
    const url = remove.dataset.removeUrl;
    // Focus stays in the tray (the next chip) or goes back to the attach button.
    const next = chip.nextElementSibling?.querySelector(".chip-remove") ||
      chip.previousElementSibling?.querySelector(".chip-remove") || document.getElementById("attach-btn");
    chip.remove();
    next?.focus();
    estimate();
    if (url) fetch(url, {method: "DELETE", headers: {...csrfHeaders(), "HX-Request": "true"}});
  });

  document.addEventListener("change", (event) => {
    if (event.target.id !== "attach-input") return;
    attach(event.target.files);
    event.target.value = "";
  });

  document.addEventListener("paste", (event) => {
    if (event.target.id !== "composer-input") return;
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;  // text: pasted as usual
    event.preventDefault();
    attach(files);
  });

  // Drop anywhere on the conversation.
  const dropZone = (target) => target.closest?.("#main");
  document.addEventListener("dragover", (event) => {
    if (!dropZone(event.target) || !event.dataTransfer?.types.includes("Files")) return;
    event.preventDefault();
    document.getElementById("main").classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.target.id === "main" || !dropZone(event.relatedTarget || document.body)) {
      document.getElementById("main")?.classList.remove("dropping");
    }
  });
  document.addEventListener("drop", (event) => {
    if (!dropZone(event.target) || !event.dataTransfer?.files.length) return;
    event.preventDefault();
    document.getElementById("main").classList.remove("dropping");
    attach(event.dataTransfer.files);
  });

  document.addEventListener("keydown", (event) => {
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && event.shiftKey && event.key.toLowerCase() === "u") {
      event.preventDefault();
      document.getElementById("attach-input")?.click();
    }
  });

  // The thread keeps room for the composer however tall its files make it (the composer is
  // fixed over the page): its height is a CSS variable the thread's padding follows, and a
  // page at its end stays at its end as the composer grows.
  function followComposer() {
    const composer = document.getElementById("composer");
    if (!composer || composer.dataset.followed) return;
    composer.dataset.followed = "true";
    const apply = () => {
      // Measured before the padding changes: a page read at its end stays at its end.
      const atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
      document.documentElement.style.setProperty("--composer-height", `${composer.offsetHeight}px`);
      if (atEnd) window.scrollTo({top: document.body.scrollHeight});
    };
    apply();
    new ResizeObserver(apply).observe(composer);
  }
  followComposer();
  document.addEventListener("htmx:after:settle", followComposer);

  document.addEventListener("input", (event) => {
    if (event.target.id === "composer-input") estimate();
  });
  document.addEventListener("htmx:after:swap", estimate);
  document.addEventListener("htmx:after:settle", estimate);
})();
