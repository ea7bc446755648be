// An import a worker is previewing or applying: the progress bar follows it without reloading,
// reading the batch's progress.json every second and a half. When the worker is done (the
// preview is ready, the import applied or failed) the page reloads once to show the outcome.
// The page can be left, reloaded, or opened again after logging in: it asks the server, which
// knows where the job is, so it always comes back to the same job.
(() => {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box) return;
  const bar = box.querySelector("progress");
  const badge = document.getElementById("import-status");
  const set = (selector, text) => {
    const element = box.querySelector(selector);
    if (element) element.textContent = text || "";
  };

  const show = (state) => {
    if (badge) {
      badge.textContent = state.status_label;
      badge.className = "badge import-" + state.status;
    }
    set(".progress-phase", state.phase_label);
    set(".progress-rows", state.rows_label);
    set(".progress-estimate", state.estimate);
    if (state.percent === null) {
      bar.removeAttribute("value"); // indeterminate: the file is still being read
    } else {
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
    }
  };

  const poll = async () => {
    try {
      const response = await fetch(box.dataset.url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.ok && (response.headers.get("Content-Type") || "").includes("json")) {
        const state = await response.json();
        if (!state.working) {
          window.location.reload();
          return;
        }
        show(state);
      }
    } catch (error) {
      // A dropped connection: ask again at the next tick.
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1000);
})();
