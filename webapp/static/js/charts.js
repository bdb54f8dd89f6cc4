/* Results charts with Apache ECharts.
 *
 * Each chart is an element with data-chart="ranking|radar|trend|heatmap" and data-source naming a
 * <script type="application/json"> block whose object holds that chart's numbers and translated labels
 * (built by webapp/domain/results/dashboards.py). Charts draw on canvas and follow their container's size.
 * Tooltips render on the canvas too (renderMode "richText"), so no inline HTML styles meet the CSP.
 */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384",
    "#0dcaf0", "#6c757d", "#ffc107", "#8bc34a", "#6610f2", "#795548", "#212529"];

  function narrow(el) {
    return el.clientWidth < 576;
  }

  function legendSelection(names, keep) {
    var selected = {};
    names.forEach(function (name, i) { selected[name] = keep(name, i); });
    return selected;
  }

  var builders = {
    ranking: function (data, el) {
      var labels = data.cities.map(function (city, i) { return data.ranks[i] + ". " + city; });
      return {
        grid: { left: 8, right: 56, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
        xAxis: { type: "value", name: data.totalLabel, scale: true, splitNumber: narrow(el) ? 3 : 5 },
        yAxis: { type: "category", data: labels, inverse: true, axisLabel: { fontSize: narrow(el) ? 10 : 12 } },
        series: [{
          type: "bar",
          name: data.totalLabel,
          data: data.totals,
          label: { show: true, position: "right", formatter: function (p) { return p.value.toFixed(2); } },
          itemStyle: { color: "#0d6efd" }
        }]
      };
    },

    radar: function (data, el) {
      var names = data.series.map(function (s) { return s.name; });
      var few = names.length <= 3;
      return {
        color: PALETTE,
        legend: {
          type: "scroll", bottom: 0, data: names,
          selected: legendSelection(names, function (name, i) { return few || i < 3; })
        },
        tooltip: { trigger: "item", renderMode: "richText" },
        radar: {
          indicator: data.indicators,
          radius: narrow(el) ? "55%" : "65%",
          center: ["50%", "46%"],
          axisName: { fontSize: narrow(el) ? 10 : 12, color: "#495057" }
        },
        series: [{
          type: "radar",
          data: data.series.map(function (s) { return { name: s.name, value: s.values }; }),
          areaStyle: { opacity: 0.08 }
        }]
      };
    },

    trend: function (data, el) {
      var names = data.series.map(function (s) { return s.name; });
      return {
        color: PALETTE,
        legend: { type: "scroll", bottom: 0, data: names },
        tooltip: { trigger: "axis", renderMode: "richText" },
        grid: { left: 8, right: 16, top: 16, bottom: 40, containLabel: true },
        xAxis: { type: "category", data: data.columns, axisLabel: { interval: 0, fontSize: narrow(el) ? 10 : 12 } },
        yAxis: { type: "value", scale: true },
        series: data.series.map(function (s) {
          return { type: "line", name: s.name, data: s.values, connectNulls: false, symbolSize: 6 };
        })
      };
    },

    heatmap: function (data, el) {
      var max = 0;
      data.values.forEach(function (v) { if (v[2] > max) { max = v[2]; } });
      var small = narrow(el);
      return {
        tooltip: {
          renderMode: "richText",
          formatter: function (p) {
            return data.cities[p.value[1]] + "\n" + data.keyPointNames[p.value[0]] + "\n" +
              data.label + ": " + p.value[2].toFixed(2);
          }
        },
        grid: { left: 8, right: 16, top: 8, bottom: small ? 96 : 72, containLabel: true },
        xAxis: { type: "category", data: data.keyPoints, splitArea: { show: true },
          axisLabel: { interval: 0, fontSize: small ? 8 : 10 } },
        yAxis: { type: "category", data: data.cities, inverse: true, splitArea: { show: true } },
        visualMap: {
          min: 0, max: max || 1, calculable: true, orient: "horizontal", left: "center", bottom: 0,
          text: [data.label, ""], inRange: { color: ["#f8f9fa", "#ffc107", "#dc3545"] }
        },
        dataZoom: small ? [{ type: "slider", xAxisIndex: 0, start: 0, end: 40, bottom: 40, height: 16 }] : [],
        series: [{ type: "heatmap", name: data.label, data: data.values, emphasis: { itemStyle: { borderColor: "#212529", borderWidth: 1 } } }]
      };
    }
  };

  function readSource(id, cache) {
    if (!(id in cache)) {
      var block = document.getElementById(id);
      cache[id] = block ? JSON.parse(block.textContent) : null;
    }
    return cache[id];
  }

  function draw() {
    if (typeof window.echarts === "undefined") { return; }
    var sources = {};
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var kind = el.getAttribute("data-chart");
      var source = readSource(el.getAttribute("data-source"), sources);
      var build = builders[kind];
      if (!source || !source[kind] || !build) { return; }
      var chart = window.echarts.init(el, null, {
        renderer: "canvas",
        locale: el.getAttribute("data-locale") === "EN" ? "EN" : "ZH"
      });
      chart.setOption(build(source[kind], el));
      charts.push({ chart: chart, el: el, kind: kind, data: source[kind], narrow: narrow(el) });
    });
    var pending = null;
    function resize() {
      if (pending) { return; }
      pending = window.requestAnimationFrame(function () {
        pending = null;
        charts.forEach(function (c) {
          c.chart.resize();
          if (narrow(c.el) === c.narrow) { return; }
          // Crossing the phone width: new fonts and zoom, keeping the cities the user picked in the legend.
          c.narrow = narrow(c.el);
          var option = builders[c.kind](c.data, c.el);
          if (option.legend) { delete option.legend.selected; }
          c.chart.setOption(option, { replaceMerge: ["dataZoom"] });
        });
      });
    }
    window.addEventListener("resize", resize);
    if (typeof window.ResizeObserver === "function") {
      var observer = new window.ResizeObserver(resize);
      charts.forEach(function (c) { observer.observe(c.el); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
