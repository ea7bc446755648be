// Self check-in, staff side. On the check-in screen: ask the server for the current code every
// few seconds (it is the same code for a whole rotation window, so the QR changes exactly when the
// code does) and show the number of arrivals. On the register: ask for every row's mark and redraw
// the rows someone else changed since (an official checking in on their phone, another staff
// member), and the check-in panel; a row being edited or saved here is left alone. No reload, no
// library.
(() => {
  "use strict";
  const POLL_MS = 3000;

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  function every(ms, task) {
    let running = false;
    const tick = async () => {
      if (running || document.hidden) return;
      running = true;
      try { await task(); } catch (error) { /* offline for a moment: the next tick tries again */ }
      running = false;
    };
    window.setInterval(tick, ms);
  }

  // --- the screen for the projector ---
  const screen = document.querySelector(".check-in-screen[data-poll-url]");
  if (screen) {
    every(POLL_MS, async () => {
      const data = await getJSON(screen.dataset.pollUrl);
      const figure = document.getElementById("check-in-qr");
      if (!figure || !data.url) { if (data.refusal || !figure) window.location.reload(); return; }
      if (figure.dataset.checkInUrl !== data.url) {
        figure.dataset.checkInUrl = data.url;
        figure.querySelector(".check-in-qr-image").innerHTML = data.svg;
        const link = document.getElementById("check-in-short-url");
        link.href = data.url;
        link.textContent = data.short_url;
      }
      figure.dataset.expiresIn = data.expires_in;
      document.getElementById("check-in-count").textContent = data.arrivals;
    });
    return;
  }

  // --- the register ---
  const register = document.querySelector("#register[data-live-url]");
  if (!register) return;
  const STATUSES = ["present", "late", "excused", "absent"];

  function redrawRow(row, data) {
    // Only a mark newer than the one shown is drawn: a poll sent before this page's own save and
    // answered after it would otherwise put the older mark back. A mark removed elsewhere (an
    // undone check-in) shows at the next reload.
    if (!data || data.stamp <= parseFloat(row.dataset.stamp || "0")) return false;
    if (row.matches(".row-saving, .row-unsaved")) return false;
    const note = row.querySelector("input.row-note");
    if (note && note === document.activeElement) return false;
    row.dataset.stamp = data.stamp;
    const version = row.querySelector("input.row-version");
    if (version) {
      if (String(data.version) === version.value) return false;
      version.value = data.version;
      row.querySelectorAll("input[type=radio]").forEach((radio) => { radio.checked = radio.value === data.status; });
      if (note) note.value = data.note;
      const origStatus = row.querySelector('input[name^="orig-status-"]');
      const origNote = row.querySelector('input[name^="orig-note-"]');
      if (origStatus) origStatus.value = data.status;
      if (origNote) origNote.value = data.note;
    } else {
      // A reader's register: the status is text.
      const cell = row.querySelector(".col-status");
      cell.textContent = "";
      const span = document.createElement("span");
      span.className = "status-label choice-" + data.status;
      span.textContent = data.status_label;
      cell.appendChild(span);
    }
    STATUSES.forEach((status) => row.classList.toggle("status-" + status, data.status === status));
    const who = row.querySelector(".row-who");
    if (who) who.textContent = `${data.recorded_by || "—"}, ${data.recorded_at}`;
    return true;
  }

  function recount() {
    const counts = { present: 0, late: 0, excused: 0, absent: 0, "": 0 };
    register.querySelectorAll("tr.register-row").forEach((row) => {
      const radio = row.querySelector("input[type=radio]:checked");
      const status = radio ? radio.value : STATUSES.find((s) => row.classList.contains("status-" + s)) || "";
      counts[status] += 1;
    });
    for (const [status, n] of Object.entries(counts)) {
      const el = register.querySelector(`#register-counts [data-count="${status}"]`);
      if (el) el.textContent = n.toLocaleString(document.documentElement.lang);
    }
  }

  every(POLL_MS, async () => {
    const data = await getJSON(register.dataset.liveUrl);
    let changed = false;
    register.querySelectorAll("tr.register-row").forEach((row) => {
      if (redrawRow(row, data.rows[row.dataset.enrollment] || null)) changed = true;
    });
    if (changed) recount();
    const panel = document.getElementById("check-in");
    if (panel && data.panel && !panel.contains(document.activeElement)) {
      const fresh = document.createRange().createContextualFragment(data.panel).firstElementChild;
      if (fresh && fresh.innerHTML !== panel.innerHTML) panel.replaceWith(fresh);
    }
  });
})();
