/**
 * The drop page on the local gateway, as CloudFront serves it from S3 when
 * deployed: `GET /` (the page), `/sw.js` (its service worker, which must sit
 * at the root to control the whole page) and `/assets/*`. Everything else is
 * the API's. Files are read from `site/` only: a path that is not a plain
 * file name under it (dot segments, encoded separators, hidden files) is not
 * the site's, and falls through to the API's 404.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

export const SITE_DIR = join(import.meta.dirname, '..', 'site');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** A file name the site may hold: no separators, no dot segments, no hidden files. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

/** The site's file for a request path, relative to the site directory; undefined when the path is not the site's. */
export function sitePath(pathname: string): string | undefined {
  if (pathname === '/' || pathname === '/index.html') return 'index.html';
  if (pathname === '/sw.js') return 'sw.js';
  const [, room, name, ...rest] = pathname.split('/');
  if (room !== 'assets' || name === undefined || rest.length > 0) return undefined;
  if (!FILE_NAME.test(name) || name.includes('..') || !(extname(name) in CONTENT_TYPES)) return undefined;
  return `assets/${name}`;
}

/**
 * Answers a GET or HEAD for one of the site's files and returns true; returns
 * false, having written nothing, when the request is not the site's. Every
 * answer revalidates (`no-cache`) against a content ETag: the shell is small,
 * and a stale page must never talk to a newer API.
 */
export async function answerSite(request: IncomingMessage, response: ServerResponse, dir = SITE_DIR): Promise<boolean> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const relative = sitePath((request.url ?? '/').split('?')[0] ?? '/');
  if (!relative) return false;
  const file = join(dir, relative);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return false;
  const body = await readFile(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  request.resume();
  if (matchesEtag(request.headers['if-none-match'], etag)) {
    response.writeHead(304, headers);
    response.end();
    return true;
  }
  response.writeHead(200, { ...headers, 'content-length': String(body.length) });
  response.end(request.method === 'HEAD' ? undefined : body);
  return true;
}

/** `If-None-Match` by weak comparison (RFC 9110, 13.1.2): a list, `W/` prefixes, or `*`. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}
