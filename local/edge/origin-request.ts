/**
 * What CloudFront sends the origin of a cache behaviour: the viewer's headers, query strings and cookies
 * that the behaviour's origin request policy names, plus those its cache policy keys on, and nothing else
 * of the viewer's ("HeadersConfig" of AWS::CloudFront::OriginRequestPolicy, CloudFormation Template
 * Reference: `none` includes no viewer header, "even when this field is set to none, any headers that are
 * listed in a CachePolicy are included in origin requests"; `whitelist` "only the HTTP headers that are
 * listed"; `allViewer` all of them; `allExcept` all but those listed; the same for query strings and
 * cookies). A behaviour without either policy forwards none of them.
 *
 * CloudFront's own headers stay: the body's framing (`content-length`, `transfer-encoding`), `host` (the
 * origin's; locally the gateway's own), and `x-forwarded-for`, which CloudFront adds with the viewer's
 * address ("Client IP addresses", Request and response behavior for custom origins, CloudFront Developer
 * Guide). Headers that CloudFront adds from its own knowledge (`CloudFront-Viewer-Country`, …) are not
 * made up locally.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Selection =
  | { readonly behavior: 'none' }
  | { readonly behavior: 'all' }
  | { readonly behavior: 'only'; readonly names: readonly string[] }
  | { readonly behavior: 'allExcept'; readonly names: readonly string[] };

export interface OriginRequestPolicy {
  readonly name: string;
  readonly headers: Selection;
  readonly queryStrings: Selection;
  readonly cookies: Selection;
}

/** What the cache policy keys on: forwarded as well, whatever the origin request policy says. */
export interface CacheKeyParts {
  readonly headers: readonly string[];
  readonly queryStrings: 'none' | 'all' | readonly string[];
  readonly cookies: 'none' | 'all' | readonly string[];
}

const NONE: Selection = { behavior: 'none' };

/** AWS's managed origin request policies a template may name by id (the ones whose effect is all of the viewer's). */
export const MANAGED_ORIGIN_REQUEST_POLICIES: Readonly<Record<string, OriginRequestPolicy>> = {
  // Managed-AllViewer.
  '216adef6-5c7f-47e4-b989-5492eafa07d3': {
    name: 'Managed-AllViewer',
    headers: { behavior: 'all' },
    queryStrings: { behavior: 'all' },
    cookies: { behavior: 'all' },
  },
  // Managed-AllViewerExceptHostHeader.
  'b689b0a8-53d0-40ab-baf2-68738e2966ac': {
    name: 'Managed-AllViewerExceptHostHeader',
    headers: { behavior: 'allExcept', names: ['host'] },
    queryStrings: { behavior: 'all' },
    cookies: { behavior: 'all' },
  },
};

/** Kept whatever the policies say: how the body is framed, where the request goes, who sent it. */
const CLOUDFRONT_KEEPS = new Set(['content-length', 'transfer-encoding', 'host']);

const keyed = (parts: CacheKeyParts['queryStrings']): Selection =>
  parts === 'none' ? NONE : parts === 'all' ? { behavior: 'all' } : { behavior: 'only', names: parts };

/** Header names match whatever their case; query string and cookie names as written. */
function selected(name: string, anyCase: boolean, ...selections: Selection[]): boolean {
  const same = (candidate: string) => (anyCase ? candidate.toLowerCase() === name.toLowerCase() : candidate === name);
  return selections.some((selection) => {
    switch (selection.behavior) {
      case 'none':
        return false;
      case 'all':
        return true;
      case 'only':
        return selection.names.some(same);
      case 'allExcept':
        return !selection.names.some(same);
    }
    return false;
  });
}

/** The origin's view of a viewer request: its URL (path and the forwarded query strings) and headers. */
export function toOrigin(
  url: string,
  headers: IncomingHttpHeaders,
  viewerAddress: string,
  policy: OriginRequestPolicy | undefined,
  cacheKey: CacheKeyParts | undefined,
): { url: string; headers: IncomingHttpHeaders } {
  const origin = policy ?? { name: 'none', headers: NONE, queryStrings: NONE, cookies: NONE };
  const key: CacheKeyParts = cacheKey ?? { headers: [], queryStrings: 'none', cookies: 'none' };
  const keyHeaders: Selection = { behavior: 'only', names: key.headers };

  const forwarded: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'cookie' || value === undefined) continue;
    if (CLOUDFRONT_KEEPS.has(name) || selected(name, true, origin.headers, keyHeaders)) forwarded[name] = value;
  }
  const cookie = headers.cookie;
  if (cookie !== undefined) {
    const kept = cookie
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part !== '' && selected(part.split('=')[0] ?? '', false, origin.cookies, keyed(key.cookies)));
    if (kept.length > 0) forwarded.cookie = kept.join('; ');
  }
  const viewer = typeof headers['x-forwarded-for'] === 'string' ? `${headers['x-forwarded-for']}, ` : '';
  forwarded['x-forwarded-for'] = `${viewer}${viewerAddress}`;

  const [path, query] = [url.split('?')[0] ?? '/', url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''];
  const pairs = query
    .split('&')
    .filter((pair) => pair !== '' && selected(decodeName(pair), false, origin.queryStrings, keyed(key.queryStrings)));
  return { url: pairs.length > 0 ? `${path}?${pairs.join('&')}` : path, headers: forwarded };
}

function decodeName(pair: string): string {
  const name = pair.split('=')[0] ?? '';
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
