// Rooms: marks the bubbles the person looking wrote (`.mine`: their side, their Edit button).
// The server renders a bubble once for every member's tab, with its author in data-author,
// and <body data-me> says who this tab's person is; bubbles arrive by page load, htmx
// responses and the live channel alike, so new ones are marked as they enter the page.
(() => {
  const me = document.body.dataset.me || "";
  const mark = (root) => {
    if (root.matches?.("article.message[data-author]")) root.classList.toggle("mine", root.dataset.author === me);
    root.querySelectorAll?.("article.message[data-author]").forEach((bubble) => {
      bubble.classList.toggle("mine", bubble.dataset.author === me);
    });
  };
  mark(document.body);
  new MutationObserver((changes) => {
    for (const change of changes) change.addedNodes.forEach((node) => { if (node.nodeType === 1) mark(node); });
  }).observe(document.body, { childList: true, subtree: true });
})();
