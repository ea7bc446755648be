// The attendance register: each change of a row is a mark, written first to the browser's queue
// (mark-queue.js, IndexedDB) and then sent, so nothing is lost when the connection drops, the tab
// is closed or the phone restarts the browser. The sticky counts say how many marks wait and
// since when. A mark someone else's change overtook (409) is shown beside theirs for the user to
// choose; a mark the server refuses for good (withdrawn, cancelled session, no editor role) says
// why on its row. Without JavaScript the form posts every row at once. Each outcome is announced
// once, in one live region, with the official's name and the status ("SOK Dara: Late. Saved");
// "Mark all present" is announced as one summary when its rows have been sent, not row by row.
(() => {
  "use strict";
  const section = document.getElementById("register");
  const queue = window.PCPMarkQueue;
  const offline = window.PCPOffline;
  if (!section || !queue || !offline) return;
  const form = document.getElementById("register-form");
  const sessionId = section.dataset.session;
  const user = offline.user;

  const STATUS_KEYS = { KeyP: "present", KeyL: "late", KeyE: "excused", KeyA: "absent",
    Digit1: "present", Digit2: "late", Digit3: "excused", Digit4: "absent" };
  const msg = (name) => {
    const key = "msg" + name.charAt(0).toUpperCase() + name.slice(1);
    return section.dataset[key] || (form && form.dataset[key]) || "";
  };
  const lang = document.documentElement.lang;
  const clock = (ms) => new Date(ms).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  const rows = Array.from(section.querySelectorAll("tr.register-row"));
  const rowById = new Map(rows.map((row) => [row.dataset.enrollment, row]));
  const announcer = document.getElementById("register-announcer");
  let batch = null; // "Mark all present": {rows: Set of rows still to answer, all}
  let marks = []; // this user's marks of this session, as last read from the queue
  let sending = new Set(); // keys of marks on their way
  let queueState = ""; // offline | logged_out | ""
  let otherSessions = [];
  const saveButton = document.getElementById("register-save");
  if (saveButton) saveButton.hidden = true;

  const idOf = (row) => row.dataset.enrollment;
  const checked = (row) => row.querySelector("input[type=radio]:checked");
  const noteInput = (row) => row.querySelector("input.row-note");
  const versionInput = (row) => row.querySelector("input.row-version");

  function announce(text) {
    if (!announcer) return;
    // Emptied first, so the same words twice in a row are still read.
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function labelOf(row, status) {
    const label = row.querySelector(`input[value="${status}"] + label .choice-full`);
    return label ? label.textContent.trim() : status;
  }

  function statusName(row) {
    const radio = checked(row);
    return radio ? labelOf(row, radio.value) : "";
  }

  function setMessage(row, text, kind, quiet) {
    const box = row.querySelector(".row-message");
    box.textContent = text ? " " + text : "";
    row.classList.remove("row-saving", "row-unsaved", "row-stale", "row-saved", "row-error");
    if (kind) row.classList.add("row-" + kind);
    if (quiet || kind === "saving") return;
    if (batch && batch.rows.has(row)) {
      if (kind === "unsaved") return; // the summary waits until the batch is sent
      batch.rows.delete(row);
      if (batch.rows.size === 0) {
        announce(msg("allPresent").replace("{n}", batch.all.size));
        batch = null;
      }
      return;
    }
    announce(`${row.dataset.name}: ${statusName(row)}. ${text}`);
  }

  function updateCounts() {
    const counts = { present: 0, late: 0, excused: 0, absent: 0, "": 0 };
    for (const row of rows) {
      const radio = checked(row);
      const status = radio ? radio.value : (row.dataset.status || "");
      counts[status] += 1;
      for (const value of ["present", "late", "excused", "absent"]) {
        row.classList.toggle("status-" + value, status === value);
      }
    }
    for (const [status, n] of Object.entries(counts)) {
      const el = section.querySelector(`#register-counts [data-count="${status}"]`);
      if (el) el.textContent = n.toLocaleString(lang);
    }
    const waiting = marks.filter((m) => m.state !== "refused");
    const unsavedBox = section.querySelector("#register-counts .count-unsaved");
    unsavedBox.hidden = waiting.length === 0;
    unsavedBox.querySelector("b").textContent = waiting.length;
    const since = unsavedBox.querySelector(".queue-since");
    since.textContent = waiting.length ? msg("since").replace("{time}", clock(waiting[0].made)) : "";
    const state = section.querySelector("#register-queue-state");
    const parts = [];
    if (waiting.length && queueState === "offline") parts.push(msg("queueOffline"));
    if (waiting.length && queueState === "logged_out") parts.push(msg("queueLoggedOut"));
    const choices = marks.filter((m) => m.state === "conflict").length;
    if (choices) parts.push(msg("queueChoices").replace("{n}", choices));
    const others = otherSessions.reduce((n, s) => n + s.count, 0);
    if (others) parts.push(msg("queueOthers").replace("{n}", others));
    state.textContent = parts.join(" ");
    state.hidden = parts.length === 0;
  }

  function applyServerRow(row, data) {
    const version = versionInput(row);
    if (version) version.value = data.version;
    const radio = row.querySelector(`input[type=radio][value="${data.status}"]`);
    if (radio) radio.checked = true;
    row.dataset.status = data.status;
    const note = noteInput(row);
    if (note) note.value = data.note;
    row.classList.toggle("has-note", !!data.note);
    const origStatus = row.querySelector(`input[name^="orig-status-"]`);
    if (origStatus) origStatus.value = data.status;
    const origNote = row.querySelector(`input[name^="orig-note-"]`);
    if (origNote) origNote.value = data.note;
    row.querySelector(".row-who").textContent = `${data.recorded_by || "—"}, ${data.recorded_at}`;
  }

  // The detail line under a row: a conflict side by side with its choice, or why a mark was refused.
  function detailOf(row, create) {
    let detail = row.nextElementSibling;
    if (detail && detail.classList.contains("queue-detail")) return detail;
    if (!create) return null;
    detail = document.createElement("tr");
    detail.className = "queue-detail";
    const cell = document.createElement("td");
    cell.colSpan = 6;
    detail.append(cell);
    row.after(detail);
    return detail;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function button(text, className, onClick) {
    const b = element("button", "button " + className, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function side(title, status, note, who) {
    const box = element("div", "conflict-side");
    box.append(element("strong", "", title), element("span", "conflict-status", status));
    if (note) box.append(element("span", "conflict-note", note));
    box.append(element("span", "conflict-who", who));
    return box;
  }

  function showConflict(row, mark) {
    const cell = detailOf(row, true).firstElementChild;
    cell.replaceChildren();
    const theirs = mark.theirs;
    const pair = element("div", "conflict-pair");
    pair.append(
      side(msg("yours"), mark.statusLabel || labelOf(row, mark.status), mark.note,
        msg("yoursWho").replace("{time}", clock(mark.made))),
      side(msg("theirs"), theirs.status_label, theirs.note,
        `${theirs.recorded_by || "—"}, ${theirs.recorded_at}`),
    );
    const actions = element("div", "conflict-actions");
    actions.append(
      button(msg("keepMine"), "primary keep-mine", async () => {
        await queue.keepMine(mark.key);
        offline.send();
      }),
      button(msg("keepTheirs"), "secondary keep-theirs", async () => {
        await queue.dropRow(mark.key);
      }),
    );
    cell.append(element("p", "conflict-title", msg("conflictTitle").replace("{name}", row.dataset.name)), pair, actions);
  }

  function showRefusal(row, mark) {
    const cell = detailOf(row, true).firstElementChild;
    cell.replaceChildren();
    const reason = element("p", "refused-reason", msg("refused")
      .replace("{status}", mark.statusLabel || mark.status).replace("{reason}", mark.message));
    cell.append(reason, button(msg("dismiss"), "secondary dismiss-refused", async () => {
      await queue.dropRow(mark.key);
    }));
  }

  // Shows the queue on the rows: the latest waiting mark of a row is what its buttons show.
  async function refresh() {
    const mine = await queue.all(user);
    marks = mine.filter((m) => String(m.session) === sessionId);
    const others = new Map();
    for (const m of mine) {
      if (String(m.session) === sessionId || m.state === "refused") continue;
      const entry = others.get(m.session) || { title: m.title, page: m.page, count: 0 };
      entry.count += 1;
      others.set(m.session, entry);
    }
    otherSessions = Array.from(others.values());
    for (const row of rows) {
      const own = marks.filter((m) => String(m.enrollment) === idOf(row));
      const conflict = own.find((m) => m.state === "conflict");
      const refused = own.filter((m) => m.state === "refused").pop();
      const waiting = own.filter((m) => m.state === "queued");
      const detail = detailOf(row, false);
      if (conflict) {
        applyServerRow(row, conflict.theirs);
        setMessage(row, conflict.message, "stale", true);
        showConflict(row, conflict);
        continue;
      }
      if (waiting.length) {
        const latest = waiting[waiting.length - 1];
        const radio = row.querySelector(`input[type=radio][value="${latest.status}"]`);
        if (radio) radio.checked = true;
        const note = noteInput(row);
        if (note && document.activeElement !== note) note.value = latest.note;
        const inflight = waiting.some((m) => sending.has(m.key));
        if (!row.classList.contains(inflight ? "row-saving" : "row-unsaved")) {
          setMessage(row, inflight ? msg("saving") : msg("offline"), inflight ? "saving" : "unsaved", true);
        }
      }
      if (refused) {
        setMessage(row, refused.message, "error", true);
        showRefusal(row, refused);
      } else if (detail) {
        detail.remove();
        if (!waiting.length && (row.classList.contains("row-stale") || row.classList.contains("row-error"))) {
          setMessage(row, "", "", true);
        }
      }
    }
    updateCounts();
  }

  let refreshing = null;
  let refreshAgain = false;
  function scheduleRefresh() {
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = refresh().finally(() => {
      refreshing = null;
      if (refreshAgain) { refreshAgain = false; scheduleRefresh(); }
    });
    return refreshing;
  }

  queue.events.addEventListener("change", (event) => {
    const detail = event.detail || {};
    const mark = detail.mark;
    const row = mark && String(mark.session) === sessionId ? rowById.get(String(mark.enrollment)) : null;
    if (detail.type === "sending" && mark) sending.add(mark.key);
    if (mark && detail.type !== "sending") sending.delete(mark.key);
    if (detail.type === "offline" || detail.type === "retry") queueState = "offline";
    else if (detail.type === "logged_out") queueState = "logged_out";
    else if (detail.type === "saved" || detail.type === "sending") queueState = "";
    if (row) {
      if (detail.type === "sending") setMessage(row, msg("saving"), "saving");
      else if (detail.type === "offline" || detail.type === "retry" || detail.type === "logged_out") {
        setMessage(row, detail.type === "logged_out" ? msg("queueLoggedOut") : msg("offline"), "unsaved");
        if (batch) {
          announce(msg("allPresentUnsaved").replace("{n}", batch.all.size).replace("{m}", batch.rows.size));
          batch = null;
        }
      } else if (detail.type === "saved") {
        applyServerRow(row, detail.row);
        setMessage(row, msg("saved"), "saved");
      } else if (detail.type === "conflict") {
        applyServerRow(row, detail.row);
        setMessage(row, detail.message, "stale");
      } else if (detail.type === "refused") {
        setMessage(row, detail.message, "error");
      }
    }
    scheduleRefresh();
  });

  // A change of a row: a mark in the queue first, then sent. Marking a row again settles any
  // earlier conflict or refusal of it (the user has chosen again).
  async function mark(row) {
    const radio = checked(row);
    if (!radio || !form) return;
    for (const earlier of marks) {
      if (String(earlier.enrollment) === idOf(row) && earlier.state !== "queued") await queue.dropRow(earlier.key);
    }
    await queue.add({
      user, session: Number(sessionId), enrollment: Number(idOf(row)),
      status: radio.value, statusLabel: labelOf(row, radio.value), note: noteInput(row).value,
      version: Number(versionInput(row).value || 0),
      url: form.dataset.rowUrl.replace(/\/0\/$/, "/" + idOf(row) + "/"),
      page: location.pathname, title: section.dataset.title, name: row.dataset.name,
    });
    setMessage(row, msg("offline"), "unsaved", true);
    offline.send();
  }

  function focusRow(row) {
    if (!row) return;
    (checked(row) || row.querySelector("input[type=radio]")).focus();
  }

  if (form) {
    form.addEventListener("change", (event) => {
      const row = event.target.closest("tr.register-row");
      if (!row) return;
      if (event.target.type === "radio" || event.target.classList.contains("row-note")) mark(row);
    });

    form.addEventListener("keydown", (event) => {
      const row = event.target.closest("tr.register-row");
      if (!row || event.altKey || event.ctrlKey || event.metaKey) return;
      const index = rows.indexOf(row);
      if (event.target.classList.contains("row-note")) {
        if (event.key === "Enter") {
          event.preventDefault();
          event.target.blur(); // the change event makes the mark, once
          focusRow(rows[index + 1]);
        }
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
      mark(row);
      focusRow(rows[index + 1]);
      if (index === rows.length - 1) radio.focus();
    });

    const markAll = document.getElementById("mark-all-present");
    if (markAll) {
      markAll.addEventListener("click", async (event) => {
        event.preventDefault();
        const marked = rows.filter((row) => !checked(row));
        if (marked.length) batch = { rows: new Set(marked), all: new Set(marked) };
        for (const row of marked) {
          row.querySelector('input[type=radio][value="present"]').checked = true;
          await mark(row);
        }
        updateCounts();
      });
    }

    form.addEventListener("submit", (event) => {
      // With the script on every row saves itself; only the no-script fallback posts the form.
      event.preventDefault();
      offline.send();
    });
  }

  // On a phone the note and the last change of a row open under it on demand: a button over the
  // official's name (shown by the stylesheet on narrow screens only), named like the note's label.
  for (const row of rows) {
    const cell = row.querySelector("td.col-note");
    const label = cell && cell.querySelector("label");
    if (!label) continue;
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "note-toggle";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", cell.id);
    const pencil = document.createElement("span");
    pencil.setAttribute("aria-hidden", "true");
    pencil.textContent = "✎";
    const name = document.createElement("span");
    name.className = "visually-hidden";
    name.textContent = label.textContent;
    toggle.append(pencil, name);
    toggle.addEventListener("click", () => {
      const open = !row.classList.contains("note-open");
      row.classList.toggle("note-open", open);
      toggle.setAttribute("aria-expanded", String(open));
      if (open) noteInput(row).focus();
    });
    row.querySelector("th").append(toggle);
  }

  // The marks are safe in the queue, but they are not on the server yet: say so before leaving.
  window.addEventListener("beforeunload", (event) => {
    if (marks.some((m) => m.state !== "refused")) { event.preventDefault(); event.returnValue = msg("leave"); }
  });
  scheduleRefresh().then(() => {
    // Every control wired: the moment a phone can mark the register (benchmarks/register_phone.py).
    document.documentElement.dataset.register = "ready";
    if (window.performance && performance.mark) performance.mark("register-ready");
  });
})();
