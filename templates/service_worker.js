{% load static %}// The portal's service worker (served at /sw.js by pcp_portal/service_worker.py, scope "/").
//
// It keeps the session pages (each holds its attendance register) the user opened, and the
// assets they need, so that a register opens without a connection. Pages: network first, the kept
// copy only when the network fails. Assets: from the cache first when their name is hashed
// (they never change), network first otherwise. It never answers anything but a GET of those:
// POSTs, the API, exports and every other page go to the network untouched.
//
// The kept pages are one user's: they are deleted when a log-in or log-out form is sent, and when
// a session page comes back as a log-in page (the session ended). Marks waiting in the register's
// queue (mark-queue.js) are sent from here by Background Sync where the browser has it.
"use strict";
importScripts("{% static 'js/mark-queue.js' %}");

const ASSETS_CACHE = "pcp-assets-v1";
const PAGES_CACHE = "pcp-pages-v1";
const ASSETS = [
  "{% static 'css/portal.css' %}",
  "{% static 'js/portal.js' %}",
  "{% static 'js/mark-queue.js' %}",
  "{% static 'js/offline.js' %}",
  "{% static 'js/register.js' %}",
  "{% static 'favicon.svg' %}",
];
const STATIC_PREFIX = "{% get_static_prefix %}";
const SESSION_PAGE = /^\/sessions\/[0-9]+\/$/;
const LOGIN_OR_LOGOUT = /^\/accounts\/(login|logout)\//;
const HASHED = /\.[0-9a-f]{12}\.[a-z0-9]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(ASSETS_CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([ASSETS_CACHE, PAGES_CACHE]);
    for (const name of await caches.keys()) if (!keep.has(name)) await caches.delete(name);
    await self.clients.claim();
  })());
});

function forgetPages() {
  return caches.delete(PAGES_CACHE);
}

async function sessionPage(request) {
  try {
    const response = await fetch(request);
    const url = new URL(response.url);
    if (response.ok && !response.redirected && SESSION_PAGE.test(url.pathname)) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(request.url, response.clone());
    } else if (response.redirected && LOGIN_OR_LOGOUT.test(url.pathname)) {
      await forgetPages(); // logged out by the server: the kept pages are no longer to be shown
    }
    return response;
  } catch (error) {
    const kept = await caches.match(request.url, { cacheName: PAGES_CACHE });
    if (kept) return kept;
    throw error;
  }
}

async function asset(request) {
  const cache = await caches.open(ASSETS_CACHE);
  if (HASHED.test(new URL(request.url).pathname)) {
    const kept = await cache.match(request);
    if (kept) return kept;
  }
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // Not answered here, only watched: whoever logs in or out, the pages kept so far go.
    if (LOGIN_OR_LOGOUT.test(url.pathname)) event.waitUntil(forgetPages());
    return;
  }
  if (request.mode === "navigate" && SESSION_PAGE.test(url.pathname) && !url.search) {
    event.respondWith(sessionPage(request));
  } else if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(asset(request));
  }
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "forget-pages") event.waitUntil(forgetPages());
});

// Background Sync: the browser wakes the worker when it is online again. Failing (still offline)
// makes the browser try again later.
self.addEventListener("sync", (event) => {
  if (event.tag !== "pcp-marks") return;
  event.waitUntil((async () => {
    const queue = self.PCPMarkQueue;
    const user = await queue.getMeta("user");
    const csrf = await queue.getMeta("csrf");
    const outcome = await queue.flush(user, csrf);
    if (outcome === "offline" || outcome === "retry") throw new Error("marks not sent yet: " + outcome);
  })());
});
