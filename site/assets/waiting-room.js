/**
 * The waiting room's hook. The queue endpoint (`GET /drops/{sku}/queue`,
 * `{state, position, ahead, etaSeconds, admitted}`) comes with the edge
 * admission work; until a stack serves it, the endpoint answers 404 (or,
 * behind CloudFront, whatever the site bucket answers for a missing key) and
 * this hook renders nothing and lets the shopper straight through.
 *
 * `watchWaitingRoom` resolves once the shopper may reserve: at once when
 * there is no waiting room, or when the queue admits them.
 */
import { call } from './api.js';

const POLL_MS = 2000;

export async function watchWaitingRoom(sku, { show, hide, signal }) {
  for (;;) {
    const answer = await call('GET', `/drops/${encodeURIComponent(sku)}/queue`, { signal });
    const unsettled = answer.status === 0 || answer.status === 429 || answer.status >= 500;
    const state = queueState(answer);
    if (!unsettled && (!state || state.admitted)) {
      hide();
      return;
    }
    if (state) show(state);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The queue's answer when it is one; anything else means no waiting room here. */
function queueState(answer) {
  if (answer.status !== 200) return undefined;
  const { state, position, ahead, etaSeconds, admitted } = answer.body ?? {};
  if (typeof admitted !== 'boolean') return undefined;
  return { state, position, ahead, etaSeconds, admitted };
}
