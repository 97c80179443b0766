/**
 * The drop page's service worker: keeps the page shell and its assets so the
 * page opens without a network (it then shows the last state it knew, from
 * the page's own memory). It answers nothing else: API answers go to the
 * network untouched, so none outlives the edge's one-second TTL here. Nor
 * does it keep `/assets/config.json` (the deployment's AWS WAF integration
 * URL, read fresh by ./assets/waf.js on every load: offline the page has none).
 *
 * Network first, cache as the fallback: online, every load revalidates with
 * the server (a 304 when unchanged), so a deploy is never hidden behind an
 * old copy and the cache needs no version to bump.
 */
const CACHE = 'dropline-shell';
const SHELL = [
  '/',
  '/assets/drop.css',
  '/assets/drop.js',
  '/assets/api.js',
  '/assets/memory.js',
  '/assets/messages.js',
  '/assets/poll.js',
  '/assets/waf.js',
  '/assets/waiting-room.js',
];
/** Deployment settings, not shell: never kept. */
const CONFIG = '/assets/config.json';

self.addEventListener('install', (event) => {
  // Everything a checkout needs is fetched now, while the network is there.
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

/** The cache key of a shell request, or undefined when the request is not the shell's. */
function shellKey(request) {
  if (request.method !== 'GET') return undefined;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return undefined;
  // The page is one document whatever drop its query names.
  if (request.mode === 'navigate' && (url.pathname === '/' || url.pathname === '/index.html')) return '/';
  if (url.pathname.startsWith('/assets/') && url.pathname !== CONFIG) return url.pathname;
  return undefined;
}

self.addEventListener('fetch', (event) => {
  const key = shellKey(event.request);
  if (!key) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)));
        }
        return response;
      })
      .catch(async () => {
        const cached = await caches.match(key);
        if (cached) return cached;
        throw new TypeError(`offline, and ${key} was never cached`);
      }),
  );
});
