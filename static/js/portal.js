// Small progressive enhancements shared by every page. No inline scripts: the CSP forbids them.

// The one poller of the background jobs' pages (imports.js, exports.js): asks `url` for the job's
// state as JSON and hands each answer to `onState`; stops once `isDone(state)` says so, after
// calling `onDone(state)`. The first question comes soon (a small job is often done within a
// second), then ever less often, up to `maxDelay`: a long job costs few requests. A hidden tab asks
// nothing and asks again at once when shown. A failed fetch (a weak connection, a server
// restarting) is not an end: it waits longer and asks again.
window.PCP = window.PCP || {};
window.PCP.poll = (url, { onState, isDone, onDone, firstDelay = 400, maxDelay = 3000 }) => {
  let delay = firstDelay;
  let timer = null;
  let stopped = false;
  let asking = false;
  const later = (wait) => {
    window.clearTimeout(timer);
    timer = document.hidden ? null : window.setTimeout(ask, wait);
  };
  const ask = async () => {
    timer = null;
    if (stopped || asking) return;
    if (document.hidden) return; // visibilitychange asks again
    asking = true;
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.ok && (response.headers.get("Content-Type") || "").includes("json")) {
        const state = await response.json();
        if (isDone(state)) {
          stopped = true;
          if (onDone) onDone(state);
          return;
        }
        onState(state);
      }
    } catch (error) {
      // A dropped connection: ask again, a little later.
    } finally {
      asking = false;
    }
    if (stopped) return;
    delay = Math.min(maxDelay, Math.round(delay * 1.5));
    later(delay);
  };
  document.addEventListener("visibilitychange", () => {
    if (stopped) return;
    if (document.hidden) {
      window.clearTimeout(timer);
      timer = null;
    } else if (!timer && !asking) {
      ask();
    }
  });
  later(delay);
  return { stop: () => { stopped = true; window.clearTimeout(timer); } };
};

document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.classList.add("js");
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // Search results: the arrow keys move between the result links, as in a list box.
  for (const list of document.querySelectorAll("[data-arrow-nav]")) {
    list.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
      const links = [...list.querySelectorAll("a")];
      const index = links.indexOf(document.activeElement);
      const next = event.key === "ArrowDown" ? index + 1 : index - 1;
      if (index >= 0 && next >= 0 && next < links.length) {
        event.preventDefault();
        links[next].focus();
      }
    });
  }
  // From the search field, ArrowDown enters the results.
  const field = document.getElementById("search-page-q");
  const firstResult = document.querySelector("[data-arrow-nav] a");
  if (field && firstResult) {
    field.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        firstResult.focus();
      }
    });
  }
  // "Copy address": the field stays selectable for browsers without the clipboard API.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = button.dataset.copied;
      } catch {
        document.execCommand("copy");
      }
    });
  }
});
