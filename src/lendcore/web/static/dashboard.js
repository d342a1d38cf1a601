// The portfolio dashboard's charts: the figures come from the page's JSON block (#dashboard-data),
// rendered by the server from lendcore.queries.portfolio; the tables beside them show the same numbers.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var yuan = function (fen) { return fen / 100; };
  function bar(id, labels, values, label) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: label, data: values, backgroundColor: "#0b57d0" }] },
      options: { animation: false, responsive: true, plugins: { legend: { display: false } } }
    });
  }
  bar("chart-products", data.products.map(function (p) { return p.product_code; }),
      data.products.map(function (p) { return yuan(p.principal_outstanding); }), data.labels.principal);
  bar("chart-dpd", data.buckets.map(function (b) { return b.bucket; }),
      data.buckets.map(function (b) { return yuan(b.principal_outstanding); }), data.labels.principal);
  var canvas = document.getElementById("chart-approvals");
  if (canvas) {
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.approvals.map(function (m) { return m.month; }),
        datasets: [
          { label: data.labels.decisions, data: data.approvals.map(function (m) { return m.decisions; }), borderColor: "#5b6470" },
          { label: data.labels.approved, data: data.approvals.map(function (m) { return m.approved; }), borderColor: "#146c2e" }
        ]
      },
      options: { animation: false, responsive: true }
    });
  }
})();
