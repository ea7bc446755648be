// Exports a worker is writing: each one's progress bar follows it without reloading, reading its
// progress.json every second and a half (as the imports' page does). When one is ready (or has
// failed) the page reloads once to show its download link (or why it failed). The page can be
// left and opened again: it asks the server, which knows where each job is.
(() => {
  "use strict";
  const jobs = Array.from(document.querySelectorAll(".export-job[data-url]"));
  if (!jobs.length) return;

  const show = (job, state) => {
    const badge = job.querySelector(".badge");
    if (badge) {
      badge.textContent = state.state_label;
      badge.className = "badge export-" + state.state;
    }
    const rows = job.querySelector(".progress-rows");
    if (rows) rows.textContent = state.rows_label || "";
    const estimate = job.querySelector(".progress-estimate");
    if (estimate) estimate.textContent = state.estimate || "";
    const bar = job.querySelector("progress");
    if (!bar) return;
    if (state.percent === null) {
      bar.removeAttribute("value"); // indeterminate: still counting, or waiting for a worker
    } else {
      bar.value = state.percent;
      bar.textContent = state.percent + "%";
    }
  };

  const poll = async () => {
    for (const job of jobs) {
      try {
        const response = await fetch(job.dataset.url, {
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
          show(job, state);
        }
      } catch (error) {
        // A dropped connection: ask again at the next tick.
      }
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1000);
})();
