// The register's outbox: every attendance mark is written here (IndexedDB) before it is sent, so a
// mark made without a connection survives a reload, a closed tab and a browser restart. Used by
// the pages (register.js shows it, offline.js sends it on load and on "online", and guards
// log-out) and by the service worker (Background Sync), hence plain functions on `self`.
//
// A mark: {key (a UUID, sent as Idempotency-Key), user, session, enrollment, status, note,
// version (the row's version the user saw), made (ms), url (where it is posted), page, title,
// name, state: "queued" | "conflict" | "refused", message, code, theirs (the newer row)}.
//
// Marks are sent one at a time in the order made, by one sender at a time across tabs and the
// worker (a Web Lock), so the server applies them in that order; the key makes a resend whose
// reply was lost count once. A mark that succeeds passes its new version to the later marks of
// the same row (they were made on top of it). A conflict holds the later marks of its row until
// the user chooses; a refusal (withdrawn, cancelled, no editor role) stops only that mark.
(() => {
  "use strict";
  const DB_NAME = "pcp-register";
  const CHANNEL = "pcp-marks";
  let dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = () => {
          request.result.createObjectStore("marks", { keyPath: "key" });
          request.result.createObjectStore("meta", { keyPath: "name" });
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return dbPromise;
  }

  async function tx(store, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(store, mode);
      let result;
      Promise.resolve(work(transaction.objectStore(store), (value) => { result = value; }))
        .catch(reject);
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }

  const request = (req) => new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

  const byMade = (a, b) => (a.made - b.made) || (a.seq - b.seq) || (a.key === b.key ? 0 : a.key < b.key ? -1 : 1);

  async function all(user) {
    const marks = await tx("marks", "readonly", (store, set) => request(store.getAll()).then(set));
    return marks.filter((mark) => user === undefined || mark.user === user).sort(byMade);
  }
  const put = (mark) => tx("marks", "readwrite", (store) => { store.put(mark); });
  const remove = (keys) => tx("marks", "readwrite", (store) => { for (const key of keys) store.delete(key); });
  const getMeta = (name) => tx("meta", "readonly", (store, set) =>
    request(store.get(name)).then((row) => set(row ? row.value : undefined)));
  const setMeta = (name, value) => tx("meta", "readwrite", (store) => { store.put({ name, value }); });

  function newKey() {
    if (self.crypto && crypto.randomUUID) return crypto.randomUUID();
    // randomUUID needs a secure context; getRandomValues does not (a portal served over plain
    // HTTP on the office network).
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  let seq = 0;
  async function add(fields) {
    const mark = Object.assign({ key: newKey(), made: Date.now(), seq: seq++, state: "queued" }, fields);
    await put(mark);
    announce({ type: "queued", mark });
    return mark;
  }

  // Outcomes go to this page (an event on `events`) and to every other tab (a BroadcastChannel).
  // A second channel object hears the first one of its own page too: each message names its
  // sender, so a page or the worker takes only the others' news from the channel.
  const events = new EventTarget();
  const sender = newKey();
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;
  function announce(detail) {
    events.dispatchEvent(new CustomEvent("change", { detail }));
    if (channel) channel.postMessage(Object.assign({ sender }, detail));
  }
  if (channel) {
    new BroadcastChannel(CHANNEL).onmessage = (event) => {
      if (event.data.sender !== sender) events.dispatchEvent(new CustomEvent("change", { detail: event.data }));
    };
  }

  async function sendOne(mark, csrf) {
    const body = new URLSearchParams({ status: mark.status, note: mark.note || "", version: String(mark.version) });
    let response;
    let data = null;
    try {
      response = await fetch(mark.url, {
        method: "POST", body: body.toString(), credentials: "same-origin", cache: "no-store",
        headers: {
          "X-CSRFToken": csrf, "Accept": "application/json",
          "Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": mark.key,
        },
      });
    } catch (_error) {
      return { outcome: "offline" };
    }
    // Anything but our JSON (a log-in page, a proxy's error, a CSRF refusal with an old token):
    // nothing was decided about the mark; keep it and try again later.
    if ((response.headers.get("Content-Type") || "").includes("application/json")) {
      try { data = await response.json(); } catch (_error) { data = null; }
    }
    if (data === null || response.status >= 500 || (response.status === 409 && data.idempotency)) {
      return { outcome: "retry", status: response.status };
    }
    if (response.status === 401) return { outcome: "logged_out", message: data.message };
    if (response.ok) return { outcome: "saved", row: data.row };
    if (response.status === 409 && data.stale) return { outcome: "conflict", row: data.row, message: data.message };
    return { outcome: "refused", code: data.code || String(response.status), message: data.message || "" };
  }

  async function sendAll(user, csrf) {
    const marks = await all(user);
    const held = new Set(); // rows with an earlier mark waiting for the user's choice
    const rowOf = (mark) => `${mark.session}:${mark.enrollment}`;
    for (const mark of marks) {
      if (mark.state === "conflict") held.add(rowOf(mark));
      if (mark.state !== "queued" || held.has(rowOf(mark))) continue;
      announce({ type: "sending", mark });
      const result = await sendOne(mark, csrf);
      if (result.outcome === "offline" || result.outcome === "retry" || result.outcome === "logged_out") {
        // Stop here, so that later marks are not applied before this one.
        announce({ type: result.outcome, mark, message: result.message || "" });
        return result.outcome;
      }
      if (result.outcome === "saved") {
        await remove([mark.key]);
        for (const m of marks) {
          if (rowOf(m) !== rowOf(mark) || byMade(m, mark) <= 0) continue;
          m.version = result.row.version;
          await put(m);
        }
      } else if (result.outcome === "conflict") {
        Object.assign(mark, { state: "conflict", theirs: result.row, message: result.message });
        await put(mark);
        held.add(rowOf(mark));
      } else {
        Object.assign(mark, { state: "refused", code: result.code, message: result.message });
        await put(mark);
      }
      announce(Object.assign({ type: result.outcome, mark }, result));
    }
    return "done";
  }

  // One flush at a time: another request while one runs makes it run once more at its end.
  let running = null;
  let again = false;
  async function flush(user, csrf) {
    if (!user || !csrf) return "done";
    if (running) { again = true; return running; }
    const once = () => (self.navigator && navigator.locks
      ? navigator.locks.request("pcp-register-send", () => sendAll(user, csrf))
      : sendAll(user, csrf));
    running = (async () => {
      let outcome;
      do { again = false; outcome = await once(); } while (again && outcome === "done");
      return outcome;
    })();
    try { return await running; } finally { running = null; }
  }

  // The user's choice on a conflict: send theirs version with a new key (the old key's answer was
  // the conflict), or drop this mark and the later ones of the row.
  async function keepMine(key) {
    const mark = (await all()).find((m) => m.key === key);
    if (!mark || mark.state !== "conflict") return;
    Object.assign(mark, { key: newKey(), state: "queued", version: mark.theirs.version, message: "" });
    await tx("marks", "readwrite", (store) => { store.delete(key); store.put(mark); });
    announce({ type: "queued", mark });
  }
  async function dropRow(key) {
    const marks = await all();
    const mark = marks.find((m) => m.key === key);
    if (!mark) return;
    const doomed = marks.filter((m) => m.session === mark.session && m.enrollment === mark.enrollment
      && byMade(m, mark) >= 0);
    await remove(doomed.map((m) => m.key));
    announce({ type: "dropped", mark });
  }
  async function discardAll(user) {
    await remove((await all(user)).map((m) => m.key));
    announce({ type: "dropped" });
  }

  self.PCPMarkQueue = { add, all, put, remove, flush, keepMine, dropRow, discardAll, getMeta, setMeta, events, newKey };
})();
