// The dashboard's charts (Apache ECharts, served by the desk): the three fund rules of 三(二) as gauges
// (planned and actual against the threshold) and the KPIs' share of their targets, drawn from the JSON the
// page carries (#dashboard-data). The tables on the page hold the same figures without JavaScript.
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || !window.echarts) { return; }
  var data = JSON.parse(node.textContent);
  var zh = document.documentElement.lang === "zh-CN";
  // The desk's own CJK font (served from /fonts): an intranet PC may have none that ECharts would find.
  var text = { fontFamily: getComputedStyle(document.body).fontFamily };

  data.rules.forEach(function (r) {
    var el = document.getElementById("gauge-" + r.rule);
    if (!el) { return; }
    var threshold = parseFloat(r.threshold);
    var max = Math.max(threshold * 2, parseFloat(r.actual || "0"), parseFloat(r.planned || "0")) || 1;
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      textStyle: text,
      title: { text: r.title, textStyle: text, subtext: r.clause + (zh ? " 阈值 " : " threshold ") + r.threshold, left: "center" },
      series: [{
        type: "gauge", min: 0, max: Number(max.toFixed(2)), splitNumber: 4, center: ["50%", "62%"], radius: "68%",
        axisLine: { lineStyle: { width: 12, color: [[threshold / max, "#c0392b"], [1, "#27ae60"]] } },
        pointer: { width: 5 }, title: { fontSize: 12 },
        detail: { fontSize: 13, formatter: function (v) { return v.toFixed(3); } },
        data: [
          { value: parseFloat(r.planned || "0"), name: zh ? "计划" : "planned",
            title: { offsetCenter: ["-35%", "62%"] }, detail: { offsetCenter: ["-35%", "84%"] } },
          { value: parseFloat(r.actual || "0"), name: zh ? "实际" : "actual",
            title: { offsetCenter: ["35%", "62%"] }, detail: { offsetCenter: ["35%", "84%"] } }
        ]
      }]
    });
  });

  var kpiEl = document.getElementById("kpi-chart");
  if (kpiEl && data.kpis.length) {
    var names = [], shares = [];
    data.kpis.forEach(function (k) {
      var t = k.targets[0];
      if (t && t.share !== null) { names.push(k.name); shares.push(parseFloat(t.share)); }
    });
    var chart = echarts.init(kpiEl, null, { renderer: "svg" });
    chart.setOption({
      textStyle: text,
      title: { textStyle: text, text: zh ? "绩效指标完成率（%）" : "KPIs: share of target reached (%)", left: "center" },
      grid: { left: 220, right: 40 },
      xAxis: { type: "value", max: function (v) { return Math.max(100, v.max); } },
      yAxis: { type: "category", data: names, inverse: true },
      series: [{ type: "bar", data: shares, label: { show: true, position: "right" },
                 markLine: { data: [{ xAxis: 100 }], symbol: "none" } }]
    });
  }
})();
