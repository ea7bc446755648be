// Exports a worker is writing: each one's progress bar follows it without reloading, through the
// shared poller (PCP.poll in portal.js), as the imports' page does. When one is ready (or has
// failed) the page reloads once to show its download link (or why it failed). The page can be
// left and opened again: it asks the server, which knows where each job is.
(() => {
  "use strict";
  const jobs = Array.from(document.querySelectorAll(".export-job[data-url]"));
  if (!jobs.length || !window.PCP) return;

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

  // One poller a job; the first to finish reloads the page (which then follows those still going).
  const pollers = [];
  for (const job of jobs) {
    pollers.push(
      window.PCP.poll(job.dataset.url, {
        onState: (state) => show(job, state),
        isDone: (state) => !state.working,
        onDone: () => {
          for (const poller of pollers) poller.stop();
          window.location.reload();
        },
      }),
    );
  }
})();
