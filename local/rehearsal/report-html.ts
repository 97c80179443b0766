/**
 * The rehearsal's HTML report: one self-contained file (no network, no
 * libraries) whose inline script draws the charts from the embedded data.
 * It reads top down as a newcomer asks: what was run, did every promise
 * hold, what happened when, and why shoppers were refused.
 */
import { FEEDBACK_REASONS } from '../../contract/requests';
import type { Refusal } from './recorder';
import type { Goal, RoomSample } from './room';

/** What the run was asked to do: the knobs of `dropline rehearse`. */
export interface RunSettings {
  readonly stock: number;
  readonly shoppers: number;
  readonly bots: number;
  readonly durationSeconds: number;
  readonly seed: number;
  readonly holdSeconds: number;
  readonly shards: number;
  readonly maxPerCustomer: number;
  /** Whether shoppers signed in (the test issuer standing in for the shop's provider). */
  readonly identity?: boolean;
}

export interface ReportData {
  readonly title: string;
  readonly settings: RunSettings;
  readonly summary: Record<string, string | number>;
  readonly checks: ReadonlyArray<{ promise: string; passed: boolean; detail: string }>;
  /**
   * Seconds since the first arrival: the first time no unit was available, the last answer of the spike,
   * the sell-out for good (nothing available or held), and the operator's pause and resume.
   */
  readonly markers: {
    readonly soldOutAtSecond: number | null;
    readonly spikeEndedAtSecond: number;
    readonly soldOutForGoodAtSecond?: number | null;
    readonly pausedAtSecond?: number | null;
    readonly resumedAtSecond?: number | null;
  };
  /** The waiting room a second at a time (empty without one). */
  readonly room?: readonly RoomSample[];
  /** Issue 14's admission goals, met or missed (empty without a waiting room). */
  readonly goals?: readonly Goal[];
  /** Units supplied: the stock chart's scale. */
  readonly supply: number;
  readonly errorCodes: ReadonlyArray<{ status: number; code: string; count: number }>;
  readonly routes: ReadonlyArray<{ route: string; p50: number; p95: number; p99: number; p999: number; count: number }>;
  readonly statusMix: Record<string, number>;
  readonly timeline: ReadonlyArray<
    { second: number; ok: number; refused: number; errors5xx: number; p50: number; p99: number } & Record<
      Refusal,
      number
    >
  >;
  readonly stock: ReadonlyArray<{ second: number; available: number; held: number; sold: number }>;
  /** The shoppers' answers to the page's poll, as the admin feedback route counts them. */
  readonly feedback?: ShopperFeedback | undefined;
}

/** The one number format of the report (and of its charts' axes): grouped thousands, at most one decimal. */
const NUMBER_FORMAT = { maximumFractionDigits: 1 } as const;
const formatNumber = (value: number) => new Intl.NumberFormat('en-US', NUMBER_FORMAT).format(value);
/** Numbers inside a label ("127 / 300") get the same format as standalone ones. */
const formatText = (value: string | number) =>
  typeof value === 'number' ? formatNumber(value) : value.replace(/\d+(\.\d+)?/g, (n) => formatNumber(Number(n)));

const MEANING: Readonly<Record<string, string>> = {
  SOLD_OUT: 'no unit left for this attempt',
  LIMIT_EXCEEDED: 'past the per-customer limit (mostly bots)',
  THROTTLED: 'past the gateway’s concurrency; retried after Retry-After',
  BUSY: 'the store stayed contended; retried after Retry-After',
  INVALID_STATE: 'checkout of a hold already released or expired',
  RESERVATION_EXPIRED: 'checkout after the hold expired',
  PAYMENT_DECLINED: 'a declined card (tok_decline)',
  DROP_PAUSED: 'the operator paused the drop; retried after Retry-After',
  DROP_NOT_STARTED: 'an attempt before the drop’s start',
  ADMISSION_REQUIRED: 'no admission from the waiting room (bots storming past it)',
};

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );

/** JSON that can sit inside a <script> element without ending it. */
const embeddable = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const rows = (cells: string[][]) =>
  cells.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('');

function whatHappened(data: ReportData): string {
  const { settings, markers, timeline } = data;
  const total = (key: Refusal) => timeline.reduce((sum, bucket) => sum + bucket[key], 0);
  const soldOut =
    markers.soldOutAtSecond === null
      ? 'Stock never ran out.'
      : `No unit was left ${formatNumber(markers.soldOutAtSecond)} s after the first arrival (holds that expired or were released came back later).`;
  return (
    `${formatNumber(settings.shoppers)} shoppers and ${formatNumber(settings.bots)} bots arrived over ` +
    `${formatNumber(settings.durationSeconds)} s for ${formatNumber(settings.stock)} units. ${soldOut} ` +
    `The spike's last answer came at ${formatNumber(markers.spikeEndedAtSecond)} s. ` +
    `Refused: ${formatNumber(total('soldOut'))} sold out, ${formatNumber(total('limit'))} over the limit, ` +
    `${formatNumber(total('throttled'))} throttled, ${formatNumber(total('busy'))} busy, ` +
    (total('paused') > 0 ? `${formatNumber(total('paused'))} paused by the operator, ` : '') +
    `${formatNumber(total('otherRefused'))} other.`
  );
}

/** The rehearsal's shoppers' answers to the poll: how many were sent, how many the route counted, per outcome. */
export interface ShopperFeedback {
  readonly sent: number;
  readonly counted: number;
  readonly outcomes: Readonly<
    Record<
      string,
      { readonly answers: number; readonly averageRating: number | null; readonly reasons: Record<string, number> }
    >
  >;
}

function feedbackSection(feedback: ShopperFeedback | undefined): string {
  if (!feedback) return '';
  const rows = Object.entries(feedback.outcomes)
    .map(
      ([outcome, counts]) =>
        `<tr><td>${escapeHtml(outcome)}</td><td class="n">${escapeHtml(formatNumber(counts.answers))}</td><td class="n">${
          counts.averageRating === null ? '0' : escapeHtml(counts.averageRating.toFixed(1))
        }</td>${FEEDBACK_REASONS.map((reason) => `<td class="n">${escapeHtml(formatNumber(counts.reasons[reason] ?? 0))}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<h2>What the shoppers said</h2>
<p class="note">After their outcome, some shoppers answered the page's one-question poll from what they lived through:
one star off for an answer over 1 s and another over 3 s, two for an error, one for not getting the item, one for a
page that showed stock that was gone. ${escapeHtml(formatNumber(feedback.sent))} answers sent,
${escapeHtml(formatNumber(feedback.counted))} counted by <code>GET /admin/products/{sku}/feedback</code>.</p>
<table id="feedback"><tr><th>outcome</th><th class="n">answers</th><th class="n">mean rating</th>${FEEDBACK_REASONS.map(
    (reason) => `<th class="n">${escapeHtml(reason.toLowerCase().replace('_', ' '))}</th>`,
  ).join('')}</tr>${rows}</table>
`;
}

function waitingRoomSection(data: ReportData): string {
  const goals = data.goals ?? [];
  if ((data.room ?? []).length === 0 && goals.length === 0) return '';
  return `<h2>Admission goals (issue 14)</h2>
<p class="note">Goals, not promises: a missed goal is reported here and does not fail the rehearsal.</p>
<table id="goals"><tr><th>goal</th><th>verdict</th><th>detail</th></tr>${goals
    .map(
      (goal) =>
        `<tr><td>${escapeHtml(goal.goal)}</td><td class="${goal.met ? 'pass' : 'fail'}">${goal.met ? 'met' : 'MISSED'}</td><td>${escapeHtml(goal.detail)}</td></tr>`,
    )
    .join('')}</table>
<h2>Waiting room: queue length</h2><div class="legend" id="legend-queue"></div><svg class="chart" id="chart-queue"></svg>
<h2>Waiting room: admissions per second</h2><div class="legend" id="legend-admissions"></div><svg class="chart" id="chart-admissions"></svg>
<h2>Waiting room: the admission boundary (arrival second admitted up to)</h2><div class="legend" id="legend-boundary"></div><svg class="chart" id="chart-boundary"></svg>
<p class="note">Sampled each second. The boundary is the edge's KeyValueStore value (<code>room:&lt;sku&gt;</code>) and, as the
shoppers saw it, the latest ticket let in; the gap below <b>now</b> is how long the back of the queue has waited.
Tickets taken before the start are ranked over the minute before it: the boundary shows as 0 until it passes them.
The shaded band is the operator's pause; <b>sold out for good</b> marks the last stock sample with a unit left.</p>
`;
}

export function renderReport(data: ReportData): string {
  const passed = data.checks.every((check) => check.passed);
  const broken = data.checks.filter((check) => !check.passed).map((check) => check.promise);
  const { settings } = data;
  const settingRows: string[][] = [
    ['stock', `${formatNumber(settings.stock)} units`],
    ['shoppers', formatNumber(settings.shoppers)],
    ['bots', formatNumber(settings.bots)],
    ['duration', `${formatNumber(settings.durationSeconds)} s of ramp, spike and decay`],
    ['seed', String(settings.seed)],
    ['hold', `${formatNumber(settings.holdSeconds)} s`],
    ['shards', formatNumber(settings.shards)],
    ['per customer', `at most ${formatNumber(settings.maxPerCustomer)} units`],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(data.title)}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1040px; color: #1d2430; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  .verdict { display: inline-block; padding: .3rem .8rem; border-radius: .4rem; font-weight: 600; color: #fff; background: ${passed ? '#1f8f4e' : '#c0392b'}; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #e3e7ee; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .pass { color: #1f8f4e; font-weight: 600; } .fail { color: #c0392b; font-weight: 600; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: .5rem 1.5rem; }
  .figure { font-size: 1.3rem; font-weight: 600; font-variant-numeric: tabular-nums; } .label { color: #5b6678; font-size: .8rem; }
  .note { color: #5b6678; }
  svg.chart { width: 100%; height: 280px; background: #fafbfd; border: 1px solid #e3e7ee; border-radius: .4rem; }
  .legend span { margin-right: 1rem; font-size: .85rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p><span class="verdict">${passed ? 'Every promise kept' : `A promise broke: ${escapeHtml(broken.join(', '))}`}</span></p>
<p id="what-happened">${escapeHtml(whatHappened(data))}</p>

<h2>Run settings</h2>
<table id="settings">${rows(settingRows)}</table>
<p class="note">The same seed gives the same shoppers, arriving at the same moments and making the same choices
(quantity, walking away, releasing, a declined card, a double click). The outcome still varies with timing — which
attempt finds the last units, which checkout a throttle delays past its hold — so two runs of one seed sell different
counts. The promises below must hold in every run.</p>

<h2>Figures</h2>
<div class="grid">${Object.entries(data.summary)
    .map(
      ([label, value]) =>
        `<div><div class="figure">${escapeHtml(formatText(value))}</div><div class="label">${escapeHtml(label)}</div></div>`,
    )
    .join('')}</div>

<h2>Promises</h2>
<table><tr><th>promise</th><th>verdict</th><th>detail</th></tr>${data.checks
    .map(
      (check) =>
        `<tr><td>${escapeHtml(check.promise)}</td><td class="${check.passed ? 'pass' : 'fail'}">${check.passed ? 'kept' : 'BROKEN'}</td><td>${escapeHtml(check.detail)}</td></tr>`,
    )
    .join('')}</table>

${waitingRoomSection(data)}
<h2>Answers per second, by meaning</h2><div class="legend" id="legend-throughput"></div><svg class="chart" id="chart-throughput"></svg>
<h2>Latency over time (ms)</h2><div class="legend" id="legend-latency"></div><svg class="chart" id="chart-latency"></svg>
<h2>Stock over time (units, out of ${escapeHtml(formatNumber(data.supply))} supplied)</h2><div class="legend" id="legend-stock"></div><svg class="chart" id="chart-stock"></svg>
<p class="note">Dashed lines: <b>sold out</b>, the first moment no unit was available; <b>spike ends</b>, the last answer
to an arrival. After it the rehearsal waits for holds to expire, orders to be fulfilled and channels to catch up.</p>
${feedbackSection(data.feedback)}
<h2>Refusals and errors by code</h2>
<table id="error-codes"><tr><th>status</th><th>code</th><th>what it means here</th><th class="n">answers</th></tr>${data.errorCodes
    .map(
      (row) =>
        `<tr><td>${row.status}</td><td>${escapeHtml(row.code)}</td><td>${escapeHtml(MEANING[row.code] ?? '')}</td><td class="n">${escapeHtml(formatNumber(row.count))}</td></tr>`,
    )
    .join('')}</table>

<h2>Latency by route (ms, HDR histograms)</h2>
<table><tr><th>route</th><th class="n">answers</th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">p99.9</th></tr>${data.routes
    .map(
      (route) =>
        `<tr><td>${escapeHtml(route.route)}</td>${[route.count, route.p50, route.p95, route.p99, route.p999]
          .map((value) => `<td class="n">${escapeHtml(formatNumber(value))}</td>`)
          .join('')}</tr>`,
    )
    .join('')}</table>
<h2>Status mix</h2>
<table><tr><th>route and status</th><th class="n">answers</th></tr>${Object.entries(data.statusMix)
    .map(([key, n]) => `<tr><td>${escapeHtml(key)}</td><td class="n">${escapeHtml(formatNumber(n))}</td></tr>`)
    .join('')}</table>
<script type="application/json" id="data">${embeddable({
    timeline: data.timeline,
    stock: data.stock,
    room: (data.room ?? []).map((sample) => ({
      ...sample,
      now: sample.second,
      boundaryShown: sample.boundarySecond === null ? null : Math.max(0, sample.boundarySecond),
      admittedShown: sample.admittedUpToSecond === null ? null : Math.max(0, sample.admittedUpToSecond),
    })),
    markers: data.markers,
    supply: data.supply,
    numberFormat: NUMBER_FORMAT,
  })}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  var format = new Intl.NumberFormat('en-US', data.numberFormat).format;
  var NS = 'http://www.w3.org/2000/svg';
  var drawn = 0;
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    parent.appendChild(node);
    return node;
  }
  function text(content, attrs, parent) {
    var node = el('text', Object.assign({ 'font-size': 11, fill: '#5b6678' }, attrs), parent);
    node.textContent = content;
    return node;
  }
  // One time axis for every chart: from 0 to the last stock sample, so markers line up across charts.
  var lastSecond = Math.max.apply(null, [1, data.markers.spikeEndedAtSecond]
    .concat(data.stock.map(function (row) { return row.second; }))
    .concat(data.timeline.map(function (row) { return row.second + 1; }))
    .concat(data.room.map(function (row) { return row.second; })));
  function chart(id, rows, series, maxY) {
    var svg = document.getElementById('chart-' + id);
    var legend = document.getElementById('legend-' + id);
    var width = svg.clientWidth || 1000, height = svg.clientHeight || 280, left = 52, right = 16, top = 24, bottom = 34;
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    if (maxY === undefined) {
      var highest = 1;
      series.forEach(function (s) { rows.forEach(function (row) { if (typeof row[s.key] === 'number') highest = Math.max(highest, row[s.key]); }); });
      // A round scale of four whole steps (1, 2, 2.5, 3, 4, 5 or 7.5 × 10^k), so every tick reads as a plain number.
      var magnitude = Math.pow(10, Math.floor(Math.log10(Math.max(1, highest / 4))));
      var quarter = [1, 2, 2.5, 3, 4, 5, 7.5, 10]
        .map(function (f) { return f * magnitude; })
        .filter(function (candidate) { return Number.isInteger(candidate); })
        .find(function (candidate) { return candidate * 4 >= highest; });
      maxY = quarter * 4;
    }
    var x = function (v) { return left + (v / lastSecond) * (width - left - right); };
    var y = function (v) { return height - bottom - (v / maxY) * (height - bottom - top); };
    el('line', { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: '#9aa5b5' }, svg);
    el('line', { x1: left, y1: y(0), x2: left, y2: top, stroke: '#9aa5b5' }, svg);
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      el('line', { x1: left - 4, y1: y(maxY * f), x2: width - right, y2: y(maxY * f), stroke: '#eef1f5' }, svg);
      text(format(maxY * f), { x: left - 8, y: y(maxY * f) + 4, 'text-anchor': 'end', class: 'y-tick' }, svg);
    });
    var step = [1, 2, 5, 10, 15, 30, 60, 120, 300].find(function (s) { return lastSecond / s <= 12; }) || 600;
    for (var t = 0; t <= lastSecond + 1e-9; t += step) {
      el('line', { x1: x(t), y1: y(0), x2: x(t), y2: y(0) + 4, stroke: '#9aa5b5' }, svg);
      text(format(t) + ' s', { x: x(t), y: y(0) + 16, 'text-anchor': 'middle', class: 'x-tick' }, svg);
    }
    if (typeof data.markers.pausedAtSecond === 'number') {
      var resumed = typeof data.markers.resumedAtSecond === 'number' ? data.markers.resumedAtSecond : lastSecond;
      el('rect', { x: x(data.markers.pausedAtSecond), y: top, width: Math.max(1, x(resumed) - x(data.markers.pausedAtSecond)),
        height: y(0) - top, fill: '#f5cba7', 'fill-opacity': 0.45, class: 'pause-window' }, svg);
      text('paused', { x: x(data.markers.pausedAtSecond) + 4, y: top + 12, fill: '#a04000', class: 'marker-label' }, svg);
    }
    var marks = [{ at: data.markers.soldOutAtSecond, label: 'sold out', color: '#c0392b' },
                 { at: data.markers.spikeEndedAtSecond, label: 'spike ends', color: '#1d2430' },
                 { at: data.markers.soldOutForGoodAtSecond, label: 'sold out for good', color: '#7b241c' }];
    marks.forEach(function (m, index) {
      if (m.at === null || m.at === undefined) return;
      el('line', { x1: x(m.at), y1: y(0), x2: x(m.at), y2: top - 8, stroke: m.color, 'stroke-dasharray': '4 3', class: 'marker' }, svg);
      text(m.label + ' ' + format(m.at) + ' s', { x: x(m.at) + 4, y: top - 10 + index * 12, fill: m.color, class: 'marker-label' }, svg);
    });
    series.forEach(function (s) {
      // A sample without a value (null) is a gap: the line breaks there.
      var known = rows.filter(function (row) { return typeof row[s.key] === 'number'; });
      if (known.length === 0) return;
      var points = known.map(function (row) { return x(row.second).toFixed(1) + ',' + y(row[s.key]).toFixed(1); }).join(' ');
      el('polyline', { points: points, fill: 'none', stroke: s.color, 'stroke-width': 2, 'data-series': s.key }, svg);
      legend.insertAdjacentHTML('beforeend', '<span><i style="background:' + s.color + '"></i>' + s.label + '</span>');
      drawn++;
    });
  }
  chart('throughput', data.timeline, [
    { key: 'ok', label: 'answered 2xx/3xx', color: '#1f8f4e' },
    { key: 'soldOut', label: 'sold out (409)', color: '#7f8c8d' },
    { key: 'limit', label: 'over the limit (429)', color: '#8e44ad' },
    { key: 'throttled', label: 'throttled (429)', color: '#d68910' },
    { key: 'busy', label: 'busy (429)', color: '#a04000' }
  ].concat(typeof data.markers.pausedAtSecond === 'number'
    ? [{ key: 'paused', label: 'paused (503 DROP_PAUSED)', color: '#f39c12' }] : [], [
    { key: 'otherRefused', label: 'other 4xx', color: '#2e86c1' },
    { key: 'errors5xx', label: '5xx', color: '#c0392b' }
  ]));
  chart('latency', data.timeline, [
    { key: 'p50', label: 'p50', color: '#2e86c1' },
    { key: 'p99', label: 'p99', color: '#8e44ad' }
  ]);
  chart('stock', data.stock, [
    { key: 'available', label: 'units available', color: '#2e86c1' },
    { key: 'held', label: 'units held', color: '#d68910' },
    { key: 'sold', label: 'units sold', color: '#1f8f4e' }
  ], data.supply);
  if (data.room.length > 0) {
    chart('queue', data.room, [
      { key: 'waiting', label: 'shoppers waiting', color: '#2e86c1' },
      { key: 'botTicketsWaiting', label: 'bots’ farmed tickets waiting', color: '#8e44ad' }
    ]);
    chart('admissions', data.room, [
      { key: 'admittedPerSecond', label: 'admissions per second (shoppers and bots)', color: '#1f8f4e' }
    ]);
    chart('boundary', data.room, [
      { key: 'now', label: 'now', color: '#9aa5b5' },
      { key: 'boundaryShown', label: 'boundary (edge store)', color: '#d68910' },
      { key: 'admittedShown', label: 'latest ticket let in', color: '#1f8f4e' }
    ], lastSecond);
  }
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
</script>
</body>
</html>
`;
}
