/**
 * The drop page. Availability is polled about once a second through the
 * edge's one-second cache, revalidated by ETag (`cache: 'no-cache'` makes the
 * browser send If-None-Match, so an unchanged answer is a bodiless 304), and
 * only while the page is visible. One Idempotency-Key per Reserve click,
 * reused by every retry of that click, even across a reload: a retry or a
 * double click never holds twice.
 */
import { attemptKey, call, untilSettled } from './api.js';
import { dropMemory, customerId as rememberedCustomer, signedIn } from './memory.js';
import { messageFor } from './messages.js';
import { feedbackPoll } from './poll.js';
import { keepWafTokenFresh } from './waf.js';
import { watchWaitingRoom } from './waiting-room.js';

/** Edge TTL (1 s), one poll served stale while the edge refreshes, a poll every 0.8–1 s: within 3 s (docs/capacity.md). */
const POLL_MS = 800;
const POLL_JITTER_MS = 200;
/** Before the drop opens only an operator's edit changes the answer: poll slowly until shortly before it. */
const EARLY_POLL_MS = 10_000;
const EARLY_WINDOW_MS = 15_000;
const ORDER_POLL_MS = 1000;
const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const MAX_QUANTITY_CHOICES = 10;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const sku = params.get('sku') ?? '';

const page = {
  product: undefined,
  missing: false,
  offlineSince: undefined,
  skewMs: 0,
  admitted: false,
  reserving: false,
  paying: false,
  reservation: undefined,
  order: undefined,
};

// ---------------------------------------------------------------- speaking

let announced = '';
function announce(text) {
  // The same sentence twice is still news (a second decline): clear, then set on the next frame.
  const region = $('announce');
  region.textContent = '';
  announced = text;
  requestAnimationFrame(() => {
    region.textContent = announced;
  });
}

function say(text, tone = 'info') {
  const message = $('message');
  message.textContent = text;
  message.dataset.tone = tone;
  message.hidden = false;
  announce(text);
}

function quiet() {
  $('message').hidden = true;
}

const sayError = (code, override) => say(override ?? messageFor(code), 'error');

// ---------------------------------------------------------------- formatting

const now = () => Date.now() + page.skewMs;

function money(cents, currency) {
  try {
    return new Intl.NumberFormat(document.documentElement.lang, { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** `1 d 02:03:04`, `02:03:04`, `3:04`: what a countdown shows. */
function duration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (days > 0) return `${days} d ${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  if (hours > 0) return `${hours}:${pad(minutes)}:${pad(seconds)}`;
  return `${minutes}:${pad(seconds)}`;
}

/** The words a screen reader says for a countdown: "2 minutes 5 seconds". */
function spokenDuration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const parts = [];
  if (minutes > 0) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`);
  if (seconds > 0 || minutes === 0) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`);
  return parts.join(' ');
}

const clock = (ms) => new Date(ms).toLocaleTimeString(document.documentElement.lang);
const currency = () => page.reservation?.currency ?? params.get('currency') ?? 'USD';

// ---------------------------------------------------------------- memory

const customerId = rememberedCustomer();
const memory = dropMemory(sku);
/** The poll after each outcome; inert until the page has a drop to ask about. */
let poll = { askAbout() {} };

function keepReservation(reservation) {
  page.reservation = reservation && {
    reservationId: reservation.reservationId,
    quantity: reservation.quantity,
    expiresAt: reservation.expiresAt,
    unitPriceCents: reservation.unitPriceCents,
    currency: reservation.currency,
  };
  memory.save({ reservation: page.reservation });
}

function keepOrder(order) {
  page.order = order;
  memory.save({ order });
}

// ---------------------------------------------------------------- drawing

function started() {
  const startsAt = Date.parse(page.product?.dropStartsAt ?? '');
  return !Number.isFinite(startsAt) || startsAt <= now();
}

function draw() {
  const { product, reservation, order } = page;
  $('drop').setAttribute('aria-busy', String(!product && !page.missing && !page.offlineSince));
  $('product').hidden = !product && !page.missing;
  if (page.missing) {
    $('name').textContent = `There is no drop called ${sku} here.`;
    for (const id of ['price', 'available', 'available-unit']) $(id).textContent = '';
  }
  if (product) {
    $('name').textContent = product.name;
    document.title = `${product.name} · Drop`;
    $('price').textContent = money(product.priceCents, currency());
    $('available').textContent = String(product.available);
    $('available-unit').textContent = 'left';
    $('sold-out').hidden = !product.soldOut;
    $('stock').hidden = product.soldOut;
    $('starts').hidden = started() || product.soldOut;
    drawStartCountdown();
  }
  const canShop = Boolean(product) && !product.soldOut && !reservation && page.admitted;
  $('reserve-form').hidden = !canShop;
  $('reserve').disabled = !canShop || page.reserving || !started() || Boolean(page.offlineSince);
  $('reserve').textContent = page.reserving ? 'Reserving…' : 'Reserve';
  drawQuantities();

  $('hold').hidden = !reservation;
  if (reservation) {
    $('hold-quantity').textContent = `${reservation.quantity} × ${product?.name ?? sku}`;
    $('pay-amount').textContent = money(reservation.unitPriceCents * reservation.quantity, currency());
    $('pay').disabled = page.paying;
    $('release').disabled = page.paying;
    drawHoldCountdown();
  }

  $('order').hidden = !order;
  if (order) {
    $('order-id').textContent = order.orderId;
    const reached = ['CONFIRMED', 'PLACED', 'FULFILLED'].indexOf(order.status);
    for (const step of $('order-steps').children) {
      const index = ['CONFIRMED', 'PLACED', 'FULFILLED'].indexOf(step.dataset.step);
      if (index <= reached) step.dataset.done = '';
      else delete step.dataset.done;
      if (index === reached) step.setAttribute('aria-current', 'step');
      else step.removeAttribute('aria-current');
    }
    $('order-status').textContent = orderSentence(order.status);
  }

  $('network').hidden = !page.offlineSince;
  if (page.offlineSince) {
    const seenAt = memory.load().productSeenAt;
    $('network').textContent = seenAt
      ? `You are offline. This is the last known state, from ${clock(seenAt)}.`
      : 'You are offline. Nothing is known about this drop yet.';
  }
}

function drawQuantities() {
  const select = $('quantity');
  const most = Math.min(page.product?.maxPerCustomer ?? 1, MAX_QUANTITY_CHOICES);
  if (select.options.length === most) return;
  const chosen = Number(select.value) || 1;
  select.replaceChildren(
    ...Array.from({ length: most }, (_, index) => new Option(String(index + 1), String(index + 1))),
  );
  select.value = String(Math.min(chosen, most));
}

function drawStartCountdown() {
  if (!page.product?.dropStartsAt || started()) return;
  const startsIn = Date.parse(page.product.dropStartsAt) - now();
  $('starts-in').dateTime = page.product.dropStartsAt;
  $('starts-in').textContent = duration(startsIn);
}

function drawHoldCountdown() {
  const left = Date.parse(page.reservation.expiresAt) - now();
  $('hold-left').dateTime = page.reservation.expiresAt;
  $('hold-left').textContent = duration(left);
}

function orderSentence(status) {
  if (status === 'FULFILLED') return 'Fulfilled: your order is on its way.';
  if (status === 'PLACED') return 'Placed: the warehouse is picking it.';
  return 'Paid: placing your order…';
}

// ---------------------------------------------------------------- availability

let pollTimer;
async function pollProduct() {
  clearTimeout(pollTimer);
  const answer = await call('GET', `/products/${encodeURIComponent(sku)}`, { cache: 'no-cache' });
  if (answer.status === 200) {
    const wasOffline = Boolean(page.offlineSince);
    const before = page.product;
    page.product = answer.body;
    page.missing = false;
    page.offlineSince = undefined;
    learnSkew(answer.headers);
    memory.save({ product: answer.body, productSeenAt: Date.now() });
    if (wasOffline) announce('Back online.');
    if (before && !before.soldOut && answer.body.soldOut) {
      announce('Sold out.');
      if (!page.reservation && !page.order) poll.askAbout('SOLD_OUT');
    }
  } else if (answer.status === 404) {
    page.product = undefined;
    page.missing = true;
  } else if (answer.status === 0) {
    page.offlineSince ??= Date.now();
  }
  draw();
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  if (document.hidden || page.missing) return;
  pollTimer = setTimeout(pollProduct, pollDelay());
}

function pollDelay() {
  const startsIn = Date.parse(page.product?.dropStartsAt ?? '') - now();
  if (startsIn > EARLY_WINDOW_MS)
    return Math.min(EARLY_POLL_MS, startsIn - EARLY_WINDOW_MS) * (0.8 + Math.random() * 0.2);
  return POLL_MS + Math.random() * POLL_JITTER_MS;
}

/** The shop's clock, from the answer's Date (and Age, when an edge cache kept it): countdowns follow it. */
function learnSkew(headers) {
  const date = Date.parse(headers.get('date') ?? '');
  if (!Number.isFinite(date)) return;
  const age = Number(headers.get('age') ?? 0) || 0;
  const skew = date + age * 1000 - Date.now();
  // The header has whole seconds: a smaller difference is its rounding, not a wrong clock.
  page.skewMs = Math.abs(skew) > 2000 ? skew : 0;
}

// ---------------------------------------------------------------- reserving

function reserveBody(quantity) {
  return { customerId, quantity };
}

async function reserve(quantity) {
  if (page.reserving || page.reservation) return;
  page.reserving = true;
  draw();
  // A click that never got an answer (lost connection, reload) is resumed, not repeated.
  // Its admission is kept with it: a retry must show one for this drop and customer too, and the queue may
  // since have dropped the page's own (when told a turn passed).
  const remembered = memory.load().pending;
  const attempt =
    remembered?.quantity === quantity
      ? remembered
      : { key: attemptKey(), quantity, admission: memory.load().admission ?? null };
  memory.save({ pending: attempt });
  try {
    await sendReservation(attempt);
  } finally {
    page.reserving = false;
    draw();
  }
}

function admissionOf(attempt) {
  return memory.load().admission ?? attempt.admission;
}

async function sendReservation(attempt) {
  quiet();
  const answer = await untilSettled(
    () =>
      call('POST', `/products/${encodeURIComponent(sku)}/reservations`, {
        body: reserveBody(attempt.quantity),
        headers: {
          'Idempotency-Key': attempt.key,
          // The waiting room's admission (./waiting-room.js): the current one, else the one the attempt was
          // first sent with (a turn passed since: the edge passes its retry on, marked, for the origin to
          // replay its hold).
          ...(admissionOf(attempt) ? { 'x-dropline-admission': admissionOf(attempt) } : {}),
          // The shop's sign-in, when the stack verifies identity (./memory.js).
          ...(signedIn() ? { authorization: `Bearer ${signedIn().token}` } : {}),
        },
      }),
    { onRetry: (retry) => say(messageFor(retry.code)) },
  );
  if (answer.status === 201) {
    memory.save({ pending: undefined });
    keepReservation(answer.body);
    quiet();
    draw();
    $('hold-title').focus();
    const left = Date.parse(answer.body.expiresAt) - now();
    announce(`Held ${answer.body.quantity}. Pay within ${spokenDuration(left)}.`);
    poll.askAbout('HELD');
    return;
  }
  if (answer.status === 0 || answer.status >= 500 || answer.code === 'THROTTLED' || answer.code === 'BUSY') {
    say(`${messageFor(answer.code)} Press Reserve to keep trying: you will not be held twice.`, 'error');
    return;
  }
  memory.save({ pending: undefined });
  if (answer.code === 'SOLD_OUT') poll.askAbout('SOLD_OUT');
  if (answer.code === 'SOLD_OUT' && (page.product?.available ?? 0) > 0 && page.product.available < attempt.quantity) {
    sayError(answer.code, `Only ${page.product.available} left: choose fewer.`);
  } else {
    sayError(answer.code);
  }
  pollProduct();
}

// ---------------------------------------------------------------- the hold

async function checkout(paymentToken) {
  if (page.paying || !page.reservation) return;
  page.paying = true;
  draw();
  quiet();
  const { reservationId } = page.reservation;
  try {
    const answer = await untilSettled(
      () => call('POST', `/reservations/${encodeURIComponent(reservationId)}/checkout`, { body: { paymentToken } }),
      { onRetry: (retry) => say(messageFor(retry.code)) },
    );
    if (answer.status === 201) {
      keepReservation(undefined);
      keepOrder({ orderId: answer.body.orderId, status: 'CONFIRMED' });
      say('Paid. Your order is placed.');
      draw();
      $('order-title').focus();
      trackOrder();
      poll.askAbout('PAID');
      return;
    }
    sayError(answer.code);
    if (answer.code === 'PAYMENT_DECLINED') {
      $('token').select();
      poll.askAbout('DECLINED');
    }
    if (answer.code === 'RESERVATION_EXPIRED' || answer.code === 'NOT_FOUND') keepReservation(undefined);
    if (answer.code === 'INVALID_STATE') await syncReservation();
  } finally {
    page.paying = false;
    draw();
  }
}

async function release() {
  if (page.paying || !page.reservation) return;
  page.paying = true;
  draw();
  const { reservationId } = page.reservation;
  try {
    const answer = await untilSettled(() => call('DELETE', `/reservations/${encodeURIComponent(reservationId)}`));
    if (answer.status === 200) {
      keepReservation(undefined);
      say(answer.body.status === 'EXPIRED' ? messageFor('RESERVATION_EXPIRED') : 'Let go: it is back on sale.');
      if (answer.body.status !== 'EXPIRED') poll.askAbout('LEFT');
      pollProduct();
    } else if (answer.code === 'INVALID_STATE') {
      await syncReservation();
    } else {
      sayError(answer.code);
    }
  } finally {
    page.paying = false;
    draw();
  }
}

/** The remembered hold, as the shop knows it now: after a reload, or when an answer says it moved on. */
async function syncReservation() {
  if (!page.reservation) return;
  const answer = await call('GET', `/reservations/${encodeURIComponent(page.reservation.reservationId)}`);
  if (answer.status === 0) return;
  const { status, orderId } = answer.body ?? {};
  if (answer.status === 200 && status === 'HELD') {
    keepReservation(answer.body);
  } else if (answer.status === 200 && status === 'CONFIRMED' && orderId) {
    keepReservation(undefined);
    keepOrder({ orderId, status: 'CONFIRMED' });
    trackOrder();
  } else if (answer.status === 200 || answer.status === 404) {
    keepReservation(undefined);
    if (status === 'EXPIRED') say(messageFor('RESERVATION_EXPIRED'));
  }
  draw();
}

let expiryWarned = new Set();
function watchHold() {
  if (!page.reservation) {
    expiryWarned = new Set();
    return;
  }
  const left = Date.parse(page.reservation.expiresAt) - now();
  for (const mark of [60_000, 10_000]) {
    if (left <= mark && left > 0 && !expiryWarned.has(mark)) {
      expiryWarned.add(mark);
      announce(`${spokenDuration(left)} left to pay.`);
    }
  }
  if (left <= 0 && !page.paying) {
    keepReservation(undefined);
    sayError('RESERVATION_EXPIRED');
    pollProduct();
  }
}

// ---------------------------------------------------------------- the order

let tracking = false;
async function trackOrder() {
  if (tracking) return;
  tracking = true;
  try {
    while (page.order && page.order.status !== 'FULFILLED') {
      const answer = await call('GET', `/orders/${encodeURIComponent(page.order.orderId)}`);
      if (answer.status === 200 && answer.body.status !== page.order.status) {
        keepOrder({ orderId: page.order.orderId, status: answer.body.status });
        quiet();
        draw();
        announce(orderSentence(answer.body.status));
      }
      if (page.order.status === 'FULFILLED') break;
      if (answer.status === 0 && !navigator.onLine) {
        await new Promise((resolve) => addEventListener('online', resolve, { once: true }));
      } else {
        await new Promise((resolve) => setTimeout(resolve, answer.status === 0 ? 3 * ORDER_POLL_MS : ORDER_POLL_MS));
      }
    }
  } finally {
    tracking = false;
  }
}

// ---------------------------------------------------------------- start

function wire() {
  $('reserve-form').addEventListener('submit', (event) => {
    event.preventDefault();
    reserve(Number($('quantity').value) || 1);
  });
  $('checkout').addEventListener('submit', (event) => {
    event.preventDefault();
    checkout($('token').value.trim());
  });
  $('release').addEventListener('click', release);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) pollProduct();
  });
  addEventListener('online', pollProduct);
  addEventListener('offline', () => {
    page.offlineSince ??= Date.now();
    draw();
  });
  let wasStarted = started();
  setInterval(() => {
    if (!wasStarted && started() && page.product) announce('The drop is open.');
    wasStarted = started();
    watchHold();
    draw();
  }, 250);
}

/** The shell, kept by a service worker so the page opens without a network (site/sw.js). */
function keepShell() {
  navigator.serviceWorker?.register('/sw.js').catch(() => {
    // No service worker (an old browser, a private mode): the page works, it only does not open offline.
  });
}

async function start() {
  keepShell();
  if (!SKU_PATTERN.test(sku)) {
    $('pick').hidden = false;
    $('drop').setAttribute('aria-busy', 'false');
    if (sku) sayError('NOT_FOUND', 'That is not a product code. Codes are letters, digits, - and _.');
    return;
  }
  poll = feedbackPoll({ sku, customerId, memory, context: () => ({ seenAvailable: page.product?.available }) });
  // Deployed, the edge's token stays fresh however long the shopper waits for the drop (./waf.js).
  keepWafTokenFresh();
  const remembered = memory.load();
  page.product = remembered.product;
  page.reservation = remembered.reservation;
  page.order = remembered.order;
  wire();
  draw();
  await pollProduct();
  if (page.reservation) await syncReservation();
  if (page.order) trackOrder();
  // A click whose answer was lost is resumed before the queue, with the key and admission it was sent with:
  // it may hold a unit, which the origin replays. Queued first, a shopper whose turn had passed would wait
  // while every unit was held, their own among them, until their own hold lapsed.
  const lost = memory.load().pending;
  if (lost && !page.reservation) await reserve(lost.quantity);
  await watchWaitingRoom(sku, {
    customerId,
    memory,
    settled: () => Boolean(page.reservation || page.order),
    show(state) {
      if (state.turnPassed) say(messageFor('TURN_PASSED'));
      $('waiting').hidden = false;
      $('waiting-position').textContent = String(state.position ?? '–');
      $('waiting-ahead').textContent = String(state.ahead ?? '–');
      $('waiting-eta').textContent = Number.isFinite(state.etaSeconds) ? duration(state.etaSeconds * 1000) : '–';
    },
    hide() {
      $('waiting').hidden = true;
    },
  });
  page.admitted = true;
  draw();
  const pending = memory.load().pending;
  if (pending && !page.reservation) reserve(pending.quantity);
}

start();
