/* Results charts with Apache ECharts.
 *
 * Each chart is an element with data-chart="ranking|radar|trend|heatmap|years" and data-source naming a
 * <script type="application/json"> block whose object holds that chart's numbers and translated labels
 * (built by webapp/domain/results/dashboards.py). Charts draw on canvas and follow their container's size.
 * Tooltips render on the canvas too (renderMode "richText"), so no inline HTML styles meet the CSP.
 *
 * Value axes start where the data says (`axis.min`: zero for bars; a line chart's start is in its axis
 * name). A bar, point or cell whose data names a URL opens it when clicked (the city's results page);
 * the tables beside the charts hold the same links for the keyboard.
 */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384",
    "#0dcaf0", "#6c757d", "#ffc107", "#8bc34a", "#6610f2", "#795548", "#212529"];

  function narrow(el) {
    return el.clientWidth < 576;
  }

  function go(url) {
    if (url) { window.location.assign(url); }
  }

  function legendSelection(names, keep) {
    var selected = {};
    names.forEach(function (name, i) { selected[name] = keep(name, i); });
    return selected;
  }

  var builders = {
    ranking: function (data, el) {
      var changes = data.changes || [];
      var labels = data.cities.map(function (city, i) {
        return data.ranks[i] + ". " + city + (changes[i] ? " " + changes[i] : "");
      });
      var urls = data.urls || [];
      return {
        grid: { left: 8, right: 56, top: 24, bottom: 8, containLabel: true },
        tooltip: {
          trigger: "item", renderMode: "richText",
          formatter: function (p) {
            return labels[p.dataIndex] + "\n" + data.totalLabel + ": " + p.value.toFixed(2) +
              (data.statusTitles ? "\n" + data.statusLabel + ": " + data.statusTitles[p.dataIndex] : "");
          }
        },
        // bars start at zero: their lengths compare
        xAxis: { type: "value", min: data.axis.min, name: data.axis.name, splitNumber: narrow(el) ? 3 : 5 },
        yAxis: { type: "category", data: labels, inverse: true, axisLabel: { fontSize: narrow(el) ? 10 : 12 } },
        series: [{
          type: "bar",
          name: data.totalLabel,
          data: data.totals.map(function (value, i) {
            return {
              value: value,
              itemStyle: { color: data.colors ? data.colors[i] : "#0d6efd" },
              cursor: urls[i] ? "pointer" : "default"
            };
          }),
          label: { show: true, position: "right", formatter: function (p) { return p.value.toFixed(2); } }
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
        grid: { left: 8, right: 16, top: 40, bottom: 40, containLabel: true },
        xAxis: { type: "category", data: data.columns, axisLabel: { interval: 0, fontSize: narrow(el) ? 10 : 12 } },
        // the start is in the axis name when it is not zero
        yAxis: { type: "value", min: data.axis.min, name: data.axis.name, nameTextStyle: { align: "left" } },
        series: data.series.map(function (s) {
          return { type: "line", name: s.name, data: s.values, connectNulls: false, symbolSize: 8 };
        })
      };
    },

    years: function (data, el) {
      var names = data.series.map(function (s) { return s.name; });
      return {
        color: PALETTE,
        legend: { type: "scroll", bottom: 0, data: names },
        tooltip: {
          trigger: "item", renderMode: "richText",
          formatter: function (p) {
            var rank = data.series[p.seriesIndex].ranks[p.dataIndex];
            return p.seriesName + " · " + data.columns[p.dataIndex] + "\n" + data.axis.name + ": " +
              (p.value === null ? "—" : p.value.toFixed(2)) + "\n" + data.rankLabel + ": " + (rank === null ? "—" : rank);
          }
        },
        grid: { left: 8, right: 16, top: 40, bottom: 40, containLabel: true },
        xAxis: { type: "category", data: data.columns, axisLabel: { fontSize: narrow(el) ? 10 : 12 } },
        yAxis: { type: "value", min: data.axis.min, name: data.axis.name, nameTextStyle: { align: "left" } },
        series: data.series.map(function (s) {
          return { type: "line", name: s.name, data: s.values, connectNulls: false, symbolSize: 8 };
        })
      };
    },

    // Key points down (by name), cities across; value [city index, key point index, points lost].
    heatmap: function (data, el) {
      var max = 0;
      data.values.forEach(function (v) { if (v[2] > max) { max = v[2]; } });
      var small = narrow(el);
      var many = data.cities.length > 6;
      return {
        tooltip: {
          renderMode: "richText",
          formatter: function (p) {
            return data.cities[p.value[0]] + "\n" + data.keyPointNames[p.value[1]] + "\n" +
              data.label + ": " + p.value[2].toFixed(2);
          }
        },
        grid: { left: 8, right: 16, top: 8, bottom: small || many ? 110 : 72, containLabel: true },
        xAxis: { type: "category", data: data.cities, splitArea: { show: true },
          axisLabel: { interval: 0, rotate: small || many ? 45 : 0, fontSize: small ? 9 : 11 } },
        yAxis: { type: "category", data: data.keyPoints, inverse: true, splitArea: { show: true },
          axisLabel: { interval: 0, fontSize: small ? 9 : 11, width: small ? 96 : 220, overflow: "truncate" } },
        visualMap: {
          min: 0, max: max || 1, calculable: true, orient: "horizontal", left: "center", bottom: 0,
          text: [data.label, ""], inRange: { color: ["#f8f9fa", "#ffc107", "#dc3545"] }
        },
        dataZoom: small && many ? [{ type: "slider", xAxisIndex: 0, start: 0, end: 40, bottom: 56, height: 16 }] : [],
        series: [{ type: "heatmap", name: data.label, data: data.values, emphasis: { itemStyle: { borderColor: "#212529", borderWidth: 1 } } }]
      };
    }
  };

  // The page a click opens, from the clicked item's event parameters (null: nothing to open).
  var targets = {
    ranking: function (data, p) { return (data.urls || [])[p.dataIndex] || null; },
    radar: function (data, p) { var s = data.series[p.dataIndex]; return (s && s.url) || null; },
    trend: function (data, p) { var s = data.series[p.seriesIndex]; return (s && s.urls && s.urls[p.dataIndex]) || null; },
    years: function (data, p) { return (data.urls || [])[p.dataIndex] || null; },
    heatmap: function (data, p) { return (data.urls || [])[p.value[0]] || null; }
  };

  // A heat map gets a row of height for each key point, so every name can be read.
  function fitHeight(kind, data, el) {
    if (kind === "heatmap" && data.keyPoints.length > 12) {
      el.style.height = (data.keyPoints.length * 22 + 160) + "px";
    }
  }

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
      fitHeight(kind, source[kind], el);
      var chart = window.echarts.init(el, null, {
        renderer: "canvas",
        locale: el.getAttribute("data-locale") === "EN" ? "EN" : "ZH"
      });
      chart.setOption(build(source[kind], el));
      chart.on("click", function (params) { go(targets[kind](source[kind], params)); });
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
