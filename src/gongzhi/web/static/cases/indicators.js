// The indicators chart, drawn from the page's own table (the table carries the figures, so
// the page reads the same without JavaScript).
(function () {
  "use strict";
  function draw() {
    var table = document.getElementById("indicator-table");
    var target = document.getElementById("indicator-chart");
    if (!table || !target || typeof window.echarts === "undefined") return;
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th[data-indicator]"));
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var groups = [];
    var series = heads.map(function (th) {
      return { name: th.textContent.trim(), type: "bar", data: [] };
    });
    rows.forEach(function (tr) {
      var head = tr.querySelector("th");
      var cells = tr.querySelectorAll("td[data-rate]");
      if (!head || cells.length !== series.length) return;
      groups.push(head.textContent.trim());
      cells.forEach(function (td, i) {
        var rate = td.getAttribute("data-rate");
        series[i].data.push(rate === "" ? null : Math.round(parseFloat(rate) * 1000) / 10);
      });
    });
    if (!groups.length) return;
    target.style.height = Math.max(320, groups.length * 28 + 120) + "px";
    var chart = window.echarts.init(target);
    chart.setOption({
      // Drawn on the canvas: the HTML tooltip writes inline style attributes, which the
      // Content-Security-Policy (no inline styles) refuses.
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        valueFormatter: function (v) { return v == null ? "—" : v + "%"; }
      },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 48, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: groups, inverse: true },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
