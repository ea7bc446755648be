// An import a worker is previewing or applying: the progress bar follows it without reloading,
// through the shared poller (PCP.poll in portal.js). When the worker is done (the preview is
// ready, the import applied or failed) the page reloads once to show the outcome. The page can be
// left, reloaded, or opened again after logging in: it asks the server, which knows where the job
// is, so it always comes back to the same job.
(() => {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || !window.PCP) return;
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

  window.PCP.poll(box.dataset.url, {
    onState: show,
    isDone: (state) => !state.working,
    onDone: () => window.location.reload(),
  });
})();
