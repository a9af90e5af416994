// The offline cache of the web app (a template: the build writes it out as /sw.js with the
// list of the built files and a version in place of the two markers below).
//
// - install: cache every file of this build (index.html, JS, CSS, wasm, worker);
// - activate: drop the caches of earlier builds, take over open pages;
// - fetch: the API (/v1/*) and anything not ours is never touched — it goes to the network as
//   if there were no service worker; page loads try the network first and fall back to the
//   cached app (so a reload works offline), and only an HTML answer becomes the cached app;
//   the built files come from the cache.

const VERSION = "__KVITS_VERSION__";
const FILES = __KVITS_FILES__;
const CACHE = `kvits-app-${VERSION}`;
const INDEX = "/index.html";

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(FILES.map((f) => new Request(f, { cache: "reload" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("kvits-app-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

function isPage(response) {
  const type = response.headers.get("content-type") ?? "";
  return type.split(";")[0].trim().toLowerCase() === "text/html";
}

function isApi(url) {
  return url.pathname.startsWith("/v1/") || url.pathname === "/v1" || url.pathname === "/healthz";
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isApi(url)) return;

  if (request.mode === "navigate") {
    event.respondWith(
      (async () => {
        try {
          const response = await fetch(request);
          // Only a page is the app's shell: a file opened directly (an image, /sw.js, a JSON
          // answer) must not replace it, or the app would not start offline.
          if (response.ok && isPage(response)) {
            const cache = await caches.open(CACHE);
            await cache.put(INDEX, response.clone());
          }
          return response;
        } catch (e) {
          const cached = await caches.match(INDEX, { cacheName: CACHE });
          if (cached) return cached;
          throw e;
        }
      })(),
    );
    return;
  }

  event.respondWith(
    (async () => {
      const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
      if (cached) return cached;
      return fetch(request);
    })(),
  );
});
