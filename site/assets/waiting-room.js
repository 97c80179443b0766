/**
 * The waiting room (`GET /drops/{sku}/queue?customerId=`, answered by the edge): the first answer gives a
 * signed ticket, kept in the drop's memory and sent back (`x-dropline-ticket`) on every poll, so a reload
 * keeps the shopper's place; asking without it would be arriving again. Once the queue admits them, its
 * answer carries an admission token the reservation sends (`x-dropline-admission`). A drop without a
 * waiting room answers `admitted: true` at once; a stack without the route answers 404 — either way the
 * shopper goes straight through.
 *
 * Deployed, the edge may ask a client Bot Control finds suspicious to solve a CAPTCHA before it issues a
 * ticket (405 with `x-amzn-waf-action: captcha`, only on a request without a ticket): the room then shows
 * the CAPTCHA step (./waf.js), waits for the shopper, and asks again.
 *
 * A shopper let in whose turn then passed (every unit held for a window of open drop, `turnPassed`) is
 * queued again, at the back, and told so.
 *
 * `watchWaitingRoom` resolves once the shopper may reserve.
 */
import { call } from './api.js';
import { askForCaptcha, hideCaptcha, isCaptcha } from './waf.js';

/** How soon to ask again when the answer does not say (`pollSeconds`, 1–10 s: the edge's cadence). */
export const POLL_MS = 2000;

export function pollMs(state) {
  const seconds = state?.pollSeconds;
  return Number.isFinite(seconds) && seconds >= 1 && seconds <= 10 ? seconds * 1000 : POLL_MS;
}

export async function watchWaitingRoom(sku, { customerId, memory, show, hide, signal, settled = () => false }) {
  const path = `/drops/${encodeURIComponent(sku)}/queue?customerId=${encodeURIComponent(customerId)}`;
  let refused = false;
  for (;;) {
    const ticket = memory.load().ticket;
    const answer = await call('GET', path, { signal, headers: ticket ? { 'x-dropline-ticket': ticket } : {} });
    if (isCaptcha(answer)) {
      await askForCaptcha(path, { signal, unsolved: refused });
      refused = true;
      continue;
    }
    refused = false;
    hideCaptcha();
    // A ticket the room no longer takes (its key retired): queue again.
    if (answer.status === 403 && String(answer.code).startsWith('TICKET_')) {
      memory.save({ ticket: undefined });
      continue;
    }
    const unsettled = answer.status === 0 || answer.status === 429 || answer.status >= 500;
    const state = queueState(answer);
    // Let in a while ago and refused since (every unit held), the turn went on to the next in line: units
    // that come back go to them. Asking without the ticket queues the shopper again, at the back.
    // A shopper who already holds or bought a unit has used their turn: nothing to queue again for.
    if (state?.turnPassed && settled()) {
      hide();
      return;
    }
    if (state?.turnPassed) {
      memory.save({ ticket: undefined, admission: undefined });
      show(state);
      await new Promise((resolve) => setTimeout(resolve, pollMs(state)));
      continue;
    }
    if (state?.ticket) memory.save({ ticket: state.ticket });
    if (state?.admission) memory.save({ admission: state.admission });
    if (!unsettled && (!state || state.admitted || state.state === 'SOLD_OUT')) {
      hide();
      return;
    }
    if (state) show(state);
    await new Promise((resolve) => setTimeout(resolve, pollMs(state)));
  }
}

/** The queue's answer when it is one; anything else means no waiting room here. */
function queueState(answer) {
  if (answer.status !== 200) return undefined;
  const { state, position, ahead, etaSeconds, admitted, ticket, admission, turnPassed, pollSeconds } =
    answer.body ?? {};
  if (typeof admitted !== 'boolean') return undefined;
  return {
    state,
    position,
    ahead,
    etaSeconds,
    admitted,
    ticket,
    admission,
    turnPassed: turnPassed === true,
    pollSeconds,
  };
}
