"""The service worker at /sw.js: keeps the register pages a user opened, and their assets, so a
register opens without a connection (templates/service_worker.js says how it caches).

Served by Django at the site's root rather than under /static/: a worker controls only the
pages under the folder it is served from, and the register pages are not under /static/. It is a
template so that it names the assets by their hashed, cache-busting names; a new deploy changes
those names and so the worker's bytes, which is how a browser learns to install the new one.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def service_worker(request):
    response = render(request, "service_worker.js", content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    # The browser checks for a new worker on each navigation; it must ask the server every time,
    # or a fixed worker would only reach phones after a day of an old one.
    response["Cache-Control"] = "no-cache"
    return response
