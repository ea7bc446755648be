// The attendance register: each row is saved on its own as soon as it changes, so nothing is
// lost when the connection drops between rows. A row that could not be sent is marked
// "not saved" and retried; a row someone else changed meanwhile is refused by the server
// (409) and shows the newer value. Each change carries an Idempotency-Key, reused when it is
// resent, so a save whose reply was lost is not taken for a conflict. Without JavaScript the
// form posts every row at once. Each outcome is announced once, in one live region, with the
// official's name and the status ("SOK Dara: Late. Saved"); "Mark all present" is announced as one
// summary when its rows have been sent, not row by row.
(() => {
  "use strict";
  const form = document.getElementById("register-form");
  if (!form) return;

  const STATUS_KEYS = { KeyP: "present", KeyL: "late", KeyE: "excused", KeyA: "absent",
    Digit1: "present", Digit2: "late", Digit3: "excused", Digit4: "absent" };
  const msg = (name) => form.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || "";
  const rowUrl = (id) => form.dataset.rowUrl.replace(/\/0\/$/, "/" + id + "/");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const rows = Array.from(form.querySelectorAll("tr.register-row"));
  const state = new Map(); // enrollment id -> {inflight, again, unsaved, retryDelay, timer, key, keyFor}
  const announcer = document.getElementById("register-announcer");
  let batch = null; // "Mark all present": {rows: Set of rows still to answer, count}
  const saveButton = document.getElementById("register-save");
  if (saveButton) saveButton.hidden = true;

  const idOf = (row) => row.dataset.enrollment;
  const checked = (row) => row.querySelector("input[type=radio]:checked");
  const noteInput = (row) => row.querySelector("input.row-note");
  const versionInput = (row) => row.querySelector("input.row-version");

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // randomUUID needs a secure context; getRandomValues does not (a portal served over plain
    // HTTP on the office network).
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function rowState(row) {
    let s = state.get(idOf(row));
    if (!s) { s = { inflight: false, again: false, unsaved: false, retryDelay: 2000, timer: null }; state.set(idOf(row), s); }
    return s;
  }

  function announce(text) {
    if (!announcer) return;
    // Emptied first, so the same words twice in a row are still read.
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function statusName(row) {
    const radio = checked(row);
    const label = radio && row.querySelector(`label[for="${radio.id}"] .choice-full`);
    return label ? label.textContent.trim() : "";
  }

  function setMessage(row, text, kind) {
    const box = row.querySelector(".row-message");
    box.textContent = text ? " " + text : "";
    row.classList.remove("row-saving", "row-unsaved", "row-stale", "row-saved", "row-error");
    if (kind) row.classList.add("row-" + kind);
    if (kind === "saving") return;
    if (batch && batch.rows.has(row)) {
      batch.rows.delete(row);
      if (batch.rows.size === 0) {
        const unsaved = rows.filter((r) => batch.all.has(r) && rowState(r).unsaved).length;
        const template = unsaved ? msg("allPresentUnsaved") : msg("allPresent");
        announce(template.replace("{n}", batch.all.size).replace("{m}", unsaved));
        batch = null;
      }
      return;
    }
    announce(`${row.dataset.name}: ${statusName(row)}. ${text}`);
  }

  function updateCounts() {
    const counts = { present: 0, late: 0, excused: 0, absent: 0, "": 0 };
    let unsaved = 0;
    for (const row of rows) {
      const radio = checked(row);
      counts[radio ? radio.value : ""] += 1;
      if (rowState(row).unsaved) unsaved += 1;
      for (const status of ["present", "late", "excused", "absent"]) {
        row.classList.toggle("status-" + status, !!radio && radio.value === status);
      }
    }
    for (const [status, n] of Object.entries(counts)) {
      const el = document.querySelector(`#register-counts [data-count="${status}"]`);
      if (el) el.textContent = n.toLocaleString(document.documentElement.lang);
    }
    const unsavedBox = document.querySelector("#register-counts .count-unsaved");
    unsavedBox.hidden = unsaved === 0;
    unsavedBox.querySelector("b").textContent = unsaved;
  }

  function applyServerRow(row, data) {
    versionInput(row).value = data.version;
    const radio = row.querySelector(`input[type=radio][value="${data.status}"]`);
    if (radio) radio.checked = true;
    noteInput(row).value = data.note;
    row.classList.toggle("has-note", !!data.note);
    row.querySelector(`input[name^="orig-status-"]`).value = data.status;
    row.querySelector(`input[name^="orig-note-"]`).value = data.note;
    row.querySelector(".row-who").textContent = `${data.recorded_by || "—"}, ${data.recorded_at}`;
  }

  function scheduleRetry(row) {
    const s = rowState(row);
    clearTimeout(s.timer);
    s.timer = setTimeout(() => save(row), s.retryDelay);
    s.retryDelay = Math.min(s.retryDelay * 2, 30000);
  }

  async function save(row) {
    const radio = checked(row);
    if (!radio) return;
    const s = rowState(row);
    if (s.inflight) { s.again = true; return; }
    s.inflight = true; s.again = false; s.unsaved = true;
    clearTimeout(s.timer);
    setMessage(row, msg("saving"), "saving");
    updateCounts();
    const body = new URLSearchParams({
      status: radio.value, note: noteInput(row).value, version: versionInput(row).value,
    }).toString();
    // One key per change, kept for its retries: if a reply is lost, the server recognises the
    // resend and answers as it did the first time instead of seeing someone else's change.
    if (s.keyFor !== body) { s.key = newKey(); s.keyFor = body; }
    let response = null;
    let data = null;
    try {
      response = await fetch(rowUrl(idOf(row)), {
        method: "POST", body, credentials: "same-origin",
        headers: {
          "X-CSRFToken": csrf, "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": s.key,
        },
      });
      data = await response.json();
    } catch (_error) {
      response = null;
    }
    s.inflight = false;
    if (response === null || response.status >= 500 || data === null || (response.status === 409 && data.idempotency)) {
      setMessage(row, msg("offline"), "unsaved");
      scheduleRetry(row);
    } else if (response.ok) {
      s.unsaved = false; s.retryDelay = 2000;
      applyServerRow(row, data.row);
      setMessage(row, msg("saved"), "saved");
      if (s.again) save(row);
    } else if (response.status === 409) {
      s.unsaved = false; s.again = false;
      applyServerRow(row, data.row);
      setMessage(row, data.message, "stale");
    } else {
      s.unsaved = false; s.again = false;
      setMessage(row, `${msg("error")}: ${data.message || response.status}`, "error");
    }
    updateCounts();
  }

  function focusRow(row) {
    if (!row) return;
    (checked(row) || row.querySelector("input[type=radio]")).focus();
  }

  form.addEventListener("change", (event) => {
    const row = event.target.closest("tr.register-row");
    if (!row) return;
    if (event.target.type === "radio" || event.target.classList.contains("row-note")) save(row);
  });

  form.addEventListener("keydown", (event) => {
    const row = event.target.closest("tr.register-row");
    if (!row || event.altKey || event.ctrlKey || event.metaKey) return;
    const index = rows.indexOf(row);
    if (event.target.classList.contains("row-note")) {
      if (event.key === "Enter") { event.preventDefault(); save(row); focusRow(rows[index + 1]); }
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      focusRow(rows[index + (event.key === "ArrowDown" ? 1 : -1)]);
      return;
    }
    const status = STATUS_KEYS[event.code];
    if (!status) return;
    event.preventDefault();
    const radio = row.querySelector(`input[type=radio][value="${status}"]`);
    radio.checked = true;
    save(row);
    focusRow(rows[index + 1]);
    if (index === rows.length - 1) radio.focus();
  });

  const markAll = document.getElementById("mark-all-present");
  if (markAll) {
    markAll.addEventListener("click", (event) => {
      event.preventDefault();
      const marked = rows.filter((row) => !checked(row));
      if (marked.length) batch = { rows: new Set(marked), all: new Set(marked) };
      for (const row of marked) {
        row.querySelector('input[type=radio][value="present"]').checked = true;
        save(row);
      }
      updateCounts();
    });
  }

  // On a phone the note and the last change of a row open under it on demand: a button over the
  // official's name (shown by the stylesheet on narrow screens only), named like the note's label.
  for (const row of rows) {
    const cell = row.querySelector("td.col-note");
    const label = cell && cell.querySelector("label");
    if (!label) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "note-toggle";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", cell.id);
    const pencil = document.createElement("span");
    pencil.setAttribute("aria-hidden", "true");
    pencil.textContent = "✎";
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = label.textContent;
    button.append(pencil, name);
    button.addEventListener("click", () => {
      const open = !row.classList.contains("note-open");
      row.classList.toggle("note-open", open);
      button.setAttribute("aria-expanded", String(open));
      if (open) noteInput(row).focus();
    });
    row.querySelector("th").append(button);
  }

  form.addEventListener("submit", (event) => {
    // With the script on every row saves itself; only the no-script fallback posts the form.
    event.preventDefault();
    for (const row of rows) if (rowState(row).unsaved) save(row);
  });

  window.addEventListener("online", () => {
    for (const row of rows) if (rowState(row).unsaved) save(row);
  });
  window.addEventListener("beforeunload", (event) => {
    if (rows.some((row) => rowState(row).unsaved)) { event.preventDefault(); event.returnValue = msg("leave"); }
  });
  updateCounts();
  // Every control wired: the moment a phone can mark the register (benchmarks/register_phone.py).
  document.documentElement.dataset.register = "ready";
  if (window.performance && performance.mark) performance.mark("register-ready");
})();
