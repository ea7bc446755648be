// On every page of a logged-in user: installs the service worker (/sw.js), sends the register's
// waiting marks (mark-queue.js) on load, when the connection returns and then and again after a
// failure, and guards log-out: the queue is cleared only once it is sent or the user discards it,
// and the pages the worker kept for this user are deleted.
(() => {
  "use strict";
  const queue = window.PCPMarkQueue;
  const user = document.body.dataset.user;
  if (!queue || !user || !window.indexedDB) return;
  const tokenInput = document.querySelector("form.logout-form input[name=csrfmiddlewaretoken]");
  const csrf = tokenInput ? tokenInput.value : "";
  let retryDelay = 2000;
  let retryTimer = null;

  async function send() {
    clearTimeout(retryTimer);
    const outcome = await queue.flush(user, csrf);
    unsent = outcome === "offline" || outcome === "retry";
    if (unsent) {
      retryTimer = setTimeout(send, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    } else {
      retryDelay = 2000;
    }
    return outcome;
  }

  // While a page is open it sends the marks itself; when it goes away with marks unsent, the
  // worker takes over through Background Sync where the browser has it (sent even with every
  // page closed), otherwise the next page load sends them.
  let unsent = false;
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "hidden" || !unsent || !navigator.serviceWorker) return;
    navigator.serviceWorker.ready
      .then((registration) => registration.sync && registration.sync.register("pcp-marks"))
      .catch(() => {});
  });

  window.PCPOffline = { user, send };
  window.addEventListener("online", () => { retryDelay = 2000; send(); });

  if (navigator.serviceWorker) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }
  // For the worker's Background Sync, which has no page to read them from.
  Promise.all([queue.setMeta("user", user), queue.setMeta("csrf", csrf)]).then(send, () => {});

  async function forgetPages() {
    if (!window.caches) return;
    for (const name of await caches.keys()) if (name.startsWith("pcp-pages")) await caches.delete(name);
  }

  const logout = document.querySelector("form.logout-form");
  if (!logout) return;
  let confirmed = false;
  const dialog = document.getElementById("logout-dialog");

  // Called once nothing waits (refused marks may remain: they will never be sent) or the user
  // chose to discard what waits.
  async function leave() {
    confirmed = true;
    await queue.discardAll(user);
    await queue.setMeta("user", "");
    await forgetPages();
    logout.submit();
  }

  logout.addEventListener("submit", async (event) => {
    if (confirmed) return;
    event.preventDefault();
    let waiting = [];
    try {
      waiting = (await queue.all(user)).filter((m) => m.state !== "refused");
    } catch (_error) {
      waiting = [];
    }
    if (!waiting.length || !dialog) { leave(); return; }
    const lang = document.documentElement.lang;
    const since = new Date(waiting[0].made).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    dialog.querySelector(".logout-waiting").textContent = dialog.dataset.msgWaiting
      .replace("{n}", waiting.length).replace("{time}", since);
    dialog.showModal();
  });
  if (dialog) {
    dialog.querySelector(".logout-discard").addEventListener("click", () => { dialog.close(); leave(); });
    dialog.querySelector(".logout-stay").addEventListener("click", () => { dialog.close(); send(); });
  }
})();
