/**
 * The one-question poll after each outcome (held, sold out, paid, declined,
 * let go): a rating in one tap, reasons and a comment if the shopper wants.
 * It never stands in the purchase's way: it sits below it, sends in the
 * background, and a failure to send is not the shopper's problem.
 */
import { call, lastLatencyMs, untilSettled } from './api.js';

const QUESTIONS = Object.freeze({
  HELD: 'How was getting your hold?',
  SOLD_OUT: 'It sold out. How was the drop for you?',
  PAID: 'How was checking out?',
  DECLINED: 'How was it, apart from the payment?',
  LEFT: 'You let it go. How was the drop?',
});

const $ = (id) => document.getElementById(id);

/**
 * `askAbout(outcome)` shows the poll for an outcome the shopper has not yet
 * answered about on this drop. `context()` gives what the page knew then.
 */
export function feedbackPoll({ sku, customerId, memory, context }) {
  let outcome;
  let rating;

  async function send() {
    if (!outcome || !rating) return;
    const reasons = [...document.querySelectorAll('#poll input[name="reason"]:checked')].map((box) => box.value);
    // The API takes plain text only: markup characters are dropped rather than the comment refused.
    const comment = $('poll-comment').value.replace(/[<>]/g, '').trim().slice(0, 500);
    const { seenAvailable } = context();
    const latencyMs = lastLatencyMs();
    const answered = outcome;
    memory.save({ polled: { ...(memory.load().polled ?? {}), [answered]: true } });
    const answer = await untilSettled(
      () =>
        call('POST', `/products/${encodeURIComponent(sku)}/feedback`, {
          body: {
            customerId,
            outcome: answered,
            rating,
            ...(reasons.length > 0 ? { reasons } : {}),
            ...(comment ? { comment } : {}),
            ...(Number.isInteger(seenAvailable) ? { seenAvailable } : {}),
            ...(Number.isInteger(latencyMs) ? { latencyMs } : {}),
          },
        }),
      { maxAttempts: 3 },
    );
    $('poll-thanks').textContent = answer.status < 300 ? 'Thank you.' : 'It did not send, and that is fine.';
    $('poll-thanks').hidden = false;
  }

  function choose(value) {
    rating = value;
    for (const button of document.querySelectorAll('#poll [data-rating]')) {
      button.setAttribute('aria-pressed', String(Number(button.dataset.rating) === value));
    }
    $('poll-send').disabled = false;
    send();
  }

  for (const button of document.querySelectorAll('#poll [data-rating]')) {
    button.addEventListener('click', () => choose(Number(button.dataset.rating)));
  }
  $('poll-send').addEventListener('click', send);

  return {
    askAbout(next) {
      if (!Object.hasOwn(QUESTIONS, next) || memory.load().polled?.[next]) return;
      outcome = next;
      rating = undefined;
      $('poll-title').textContent = QUESTIONS[next];
      for (const button of document.querySelectorAll('#poll [data-rating]')) {
        button.setAttribute('aria-pressed', 'false');
      }
      for (const box of document.querySelectorAll('#poll input[name="reason"]')) box.checked = false;
      $('poll-comment').value = '';
      $('poll-send').disabled = true;
      $('poll-thanks').hidden = true;
      $('poll').hidden = false;
    },
  };
}
