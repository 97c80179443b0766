/**
 * The rehearsal's HTML report: one self-contained file (no network, no
 * libraries) whose inline script draws the charts from the embedded data.
 */
export interface ReportData {
  readonly title: string;
  readonly summary: Record<string, unknown>;
  readonly checks: ReadonlyArray<{ promise: string; passed: boolean; detail: string }>;
  readonly routes: ReadonlyArray<{ route: string; p50: number; p95: number; p99: number; p999: number; count: number }>;
  readonly statusMix: Record<string, number>;
  readonly timeline: ReadonlyArray<{
    second: number;
    ok: number;
    refused: number;
    errors5xx: number;
    p50: number;
    p99: number;
  }>;
  readonly stock: ReadonlyArray<{ second: number; available: number; held: number; sold: number }>;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );

/** JSON that can sit inside a <script> element without ending it. */
const embeddable = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

export function renderReport(data: ReportData): string {
  const passed = data.checks.every((check) => check.passed);
  const rows = (cells: string[][]) =>
    cells.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('');
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
  .pass { color: #1f8f4e; font-weight: 600; } .fail { color: #c0392b; font-weight: 600; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .5rem 1.5rem; }
  .figure { font-size: 1.3rem; font-weight: 600; } .label { color: #5b6678; font-size: .8rem; }
  svg.chart { width: 100%; height: 260px; background: #fafbfd; border: 1px solid #e3e7ee; border-radius: .4rem; }
  .legend span { margin-right: 1rem; font-size: .85rem; } .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p><span class="verdict">${passed ? 'Every promise held' : 'A promise broke'}</span></p>
<div class="grid">${Object.entries(data.summary)
    .map(
      ([label, value]) =>
        `<div><div class="figure">${escapeHtml(String(value))}</div><div class="label">${escapeHtml(label)}</div></div>`,
    )
    .join('')}</div>
<h2>Promises</h2>
<table><tr><th>promise</th><th></th><th>detail</th></tr>${data.checks
    .map(
      (check) =>
        `<tr><td>${escapeHtml(check.promise)}</td><td class="${check.passed ? 'pass' : 'fail'}">${check.passed ? 'held' : 'BROKEN'}</td><td>${escapeHtml(check.detail)}</td></tr>`,
    )
    .join('')}</table>
<h2>Throughput (answers per second)</h2><div class="legend" id="legend-throughput"></div><svg class="chart" id="chart-throughput"></svg>
<h2>Latency over time (ms)</h2><div class="legend" id="legend-latency"></div><svg class="chart" id="chart-latency"></svg>
<h2>Stock over time (units)</h2><div class="legend" id="legend-stock"></div><svg class="chart" id="chart-stock"></svg>
<h2>Latency by route (ms, HDR histograms)</h2>
<table><tr><th>route</th><th>answers</th><th>p50</th><th>p95</th><th>p99</th><th>p99.9</th></tr>${rows(
    data.routes.map((route) => [
      route.route,
      String(route.count),
      String(route.p50),
      String(route.p95),
      String(route.p99),
      String(route.p999),
    ]),
  )}</table>
<h2>Status mix</h2>
<table><tr><th>route and status</th><th>answers</th></tr>${rows(Object.entries(data.statusMix).map(([key, n]) => [key, String(n)]))}</table>
<script type="application/json" id="data">${embeddable({ timeline: data.timeline, stock: data.stock })}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById('data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var drawn = 0;
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    parent.appendChild(node);
    return node;
  }
  function chart(id, rows, series) {
    var svg = document.getElementById('chart-' + id);
    var legend = document.getElementById('legend-' + id);
    var width = svg.clientWidth || 1000, height = svg.clientHeight || 260, pad = 40;
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    var xs = rows.map(function (row) { return row.second; });
    var maxX = Math.max.apply(null, xs.concat([1]));
    var maxY = 1;
    series.forEach(function (s) { rows.forEach(function (row) { maxY = Math.max(maxY, row[s.key]); }); });
    var x = function (v) { return pad + (v / maxX) * (width - pad * 1.5); };
    var y = function (v) { return height - pad + -(v / maxY) * (height - pad * 1.6); };
    el('line', { x1: pad, y1: height - pad, x2: width - pad / 2, y2: height - pad, stroke: '#9aa5b5' }, svg);
    el('line', { x1: pad, y1: height - pad, x2: pad, y2: pad / 2, stroke: '#9aa5b5' }, svg);
    [0, 0.5, 1].forEach(function (f) {
      var label = el('text', { x: 4, y: y(maxY * f) + 4, 'font-size': 11, fill: '#5b6678' }, svg);
      label.textContent = String(Math.round(maxY * f));
    });
    var end = el('text', { x: width - pad, y: height - pad + 16, 'font-size': 11, fill: '#5b6678' }, svg);
    end.textContent = maxX.toFixed(0) + ' s';
    series.forEach(function (s) {
      if (rows.length === 0) return;
      var points = rows.map(function (row) { return x(row.second).toFixed(1) + ',' + y(row[s.key]).toFixed(1); }).join(' ');
      el('polyline', { points: points, fill: 'none', stroke: s.color, 'stroke-width': 2, 'data-series': s.key }, svg);
      legend.insertAdjacentHTML('beforeend', '<span><i style="background:' + s.color + '"></i>' + s.label + '</span>');
      drawn++;
    });
  }
  chart('throughput', data.timeline, [
    { key: 'ok', label: '2xx/3xx', color: '#1f8f4e' },
    { key: 'refused', label: '4xx (sold out, limits, throttled)', color: '#d68910' },
    { key: 'errors5xx', label: '5xx', color: '#c0392b' }
  ]);
  chart('latency', data.timeline, [
    { key: 'p50', label: 'p50', color: '#2e86c1' },
    { key: 'p99', label: 'p99', color: '#8e44ad' }
  ]);
  chart('stock', data.stock, [
    { key: 'available', label: 'available', color: '#2e86c1' },
    { key: 'held', label: 'held', color: '#d68910' },
    { key: 'sold', label: 'sold', color: '#1f8f4e' }
  ]);
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
</script>
</body>
</html>
`;
}
