// Run webapp/static/js/charts.js against a stand-in page and a stand-in ECharts: read the chart data
// (the JSON the dashboards page hands its charts) on stdin, and print as JSON, per chart kind, the option
// charts.js gave ECharts and the page it opens when the first item is clicked
// (for tests/webapp/test_scorecards.py, which checks the axes and the drill-down).
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const data = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
let opened = null;

function element(kind) {
  return {
    clientWidth: 900,
    style: {},
    getAttribute: (name) => ({ 'data-chart': kind, 'data-source': 'dashboard-data', 'data-locale': 'ZH' })[name],
  };
}

const elements = Object.keys(data).map(element);
const echarts = {
  init(el) {
    const kind = el.getAttribute('data-chart');
    const handlers = {};
    out[kind] = { option: null, opens: null, height: null };
    return {
      setOption(option) { out[kind].option = option; },
      on(event, handler) { handlers[event] = handler; },
      resize() {},
      click(params) {
        opened = null;
        handlers.click(params);
        out[kind].opens = opened;
      },
      _kind: kind,
      _el: el,
    };
  },
};

// Record each chart so a click can be simulated once charts.js has drawn them.
const charts = [];
const init = echarts.init;
echarts.init = (el, theme, opts) => { const c = init(el, theme, opts); charts.push(c); return c; };

const context = {
  window: {
    echarts,
    location: { assign(url) { opened = url; } },
    addEventListener() {},
    requestAnimationFrame() {},
  },
  document: {
    readyState: 'complete',
    querySelectorAll: () => elements,
    getElementById: (id) => (id === 'dashboard-data' ? { textContent: JSON.stringify(data) } : null),
    addEventListener() {},
  },
  JSON,
};
vm.createContext(context);
vm.runInContext(readFileSync(new URL('../../webapp/static/js/charts.js', import.meta.url), 'utf8'), context);

// The first item of each chart, as ECharts describes a click on it.
const first = {
  ranking: { dataIndex: 0, seriesIndex: 0 },
  radar: { dataIndex: 0, seriesIndex: 0 },
  trend: { dataIndex: 0, seriesIndex: 0 },
  years: { dataIndex: 0, seriesIndex: 0 },
  heatmap: { dataIndex: 0, seriesIndex: 0, value: [0, 0, 0] },
};
for (const chart of charts) {
  chart.click(first[chart._kind]);
  out[chart._kind].height = chart._el.style.height || null;
}
process.stdout.write(JSON.stringify(out, (key, value) => (typeof value === 'function' ? undefined : value)));
