// Progressive enhancements only: every page works the same with this file blocked.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Changing the sort re-runs the search at once instead of waiting for a button press.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  }

  // "/" jumps to the search box, as on most search sites, unless the reader is typing somewhere.
  const box = document.getElementById("q");
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && box && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // "Back to results" returns to the exact results page (filters, page, scroll) when we came from it.
  const back = document.querySelector("a[data-back]");
  if (back && document.referrer) {
    const from = new URL(document.referrer);
    if (from.origin === window.location.origin && from.pathname === "/" && window.history.length > 1) {
      back.href = from.href;
      back.addEventListener("click", (event) => {
        event.preventDefault();
        window.history.back();
      });
    }
  }
});
