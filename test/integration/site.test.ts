/**
 * The local gateway serves the drop page as CloudFront serves it from S3:
 * the page, its service worker and assets with their content types and a
 * revalidating ETag, and nothing else from the disk, whatever the path says.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { apiRoutes } from '../../contract/routes';
import { type RunningGateway, startGateway } from '../../local/event-sources/api-gateway';

const siteDir = join(import.meta.dirname, '..', '..', 'site');
let gateway: RunningGateway;
let invocations = 0;

beforeAll(async () => {
  const recorder = async () => {
    invocations++;
    return { statusCode: 200, body: '{}' };
  };
  gateway = await startGateway({
    routes: apiRoutes,
    handlers: new Map(apiRoutes.map((route) => [route.handler, recorder])),
    adminKey: 'site-test-admin-key',
  });
});

afterAll(() => gateway.stop());

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with the path exactly as written: fetch would resolve its dot segments before sending. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ hostname, port, path, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

test('GET / answers the drop page as HTML with a revalidating ETag', async () => {
  const page = await get('/');

  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(page.headers['cache-control']).toBe('no-cache');
  expect(page.headers.etag).toMatch(/^".+"$/);
  expect(page.headers['x-content-type-options']).toBe('nosniff');
  expect(page.body).toBe(readFileSync(join(siteDir, 'index.html'), 'utf8'));
});

test('every asset the page links is served with its content type', async () => {
  const page = await get('/');
  const linked = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
  expect(linked).toEqual(expect.arrayContaining(['/assets/drop.css', '/assets/drop.js']));

  for (const path of linked) {
    const asset = await get(path);
    expect([path, asset.status]).toEqual([path, 200]);
    expect(asset.headers['content-type']).toBe(
      path.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
    );
    expect(asset.body).toBe(readFileSync(join(siteDir, path), 'utf8'));
  }
});

test('the modules the page script imports are served too', async () => {
  const script = await get('/assets/drop.js');
  const imported = [...script.body.matchAll(/from '\.\/([^']+)'/g)].map((match) => `/assets/${match[1]}`);
  expect(imported.length).toBeGreaterThan(0);

  for (const path of imported) expect([path, (await get(path)).status]).toEqual([path, 200]);
});

test('serves the service worker from the root, as JavaScript, so it may control the whole page', async () => {
  const worker = await get('/sw.js');

  expect(worker.status).toBe(200);
  expect(worker.headers['content-type']).toBe('text/javascript; charset=utf-8');
  expect(worker.headers['cache-control']).toBe('no-cache');
  expect(worker.body).toBe(readFileSync(join(siteDir, 'sw.js'), 'utf8'));
});

test('answers 304 with no body to a matching If-None-Match, weak or listed', async () => {
  const { headers } = await get('/assets/drop.js');
  const etag = String(headers.etag);

  for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`]) {
    const again = await get('/assets/drop.js', { 'if-none-match': ifNoneMatch });
    expect([ifNoneMatch, again.status, again.body]).toEqual([ifNoneMatch, 304, '']);
    expect(again.headers.etag).toBe(etag);
  }
  expect((await get('/assets/drop.js', { 'if-none-match': '"stale"' })).status).toBe(200);
});

test('HEAD answers the headers without the body', async () => {
  const head = await get('/', {}, 'HEAD');

  expect(head.status).toBe(200);
  expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  expect(head.body).toBe('');
});

test.each([
  '/assets/../package.json',
  '/assets/%2e%2e/package.json',
  '/assets/..%2fpackage.json',
  '/assets/%2e%2e%2fpackage.json',
  '/assets/..\\package.json',
  '/assets/.hidden',
  '/assets/',
  '/assets/nope.js',
  '/assets/drop.js/',
  '/assets/sub/drop.js',
  '/index.html/..',
  '/sw.js/../package.json',
  '/../package.json',
  '/package.json',
  '/site/index.html',
])('serves nothing from the disk for %s: the API answers 404', async (path) => {
  const before = invocations;

  const answer = await get(path);

  expect(answer.status).toBe(404);
  expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
  expect(invocations).toBe(before);
});

test('a write to the page is not the site’s: the API refuses it', async () => {
  const answer = await get('/', {}, 'POST');

  expect(answer.status).toBe(404);
  expect(answer.headers['content-type']).toBe('application/json');
});
