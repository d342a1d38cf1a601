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
  var percent = function (rate) { return parseFloat(rate) * 100; };
  var vintageCanvas = document.getElementById("chart-vintages");
  if (vintageCanvas) {
    var names = [], maxMob = 0;
    data.vintages.forEach(function (v) {
      if (names.indexOf(v.vintage) < 0) { names.push(v.vintage); }
      maxMob = Math.max(maxMob, v.month_on_book);
    });
    var mobs = [];
    for (var k = 1; k <= maxMob; k++) { mobs.push(k); }
    new Chart(vintageCanvas, {
      type: "line",
      data: {
        labels: mobs,
        datasets: names.map(function (name) {
          return {
            label: name,
            data: mobs.map(function (k) {
              var point = data.vintages.find(function (v) { return v.vintage === name && v.month_on_book === k; });
              return point ? percent(point.thirty_plus_rate) : null;
            })
          };
        })
      },
      options: {
        animation: false, responsive: true,
        scales: { x: { title: { display: true, text: data.labels.month_on_book } },
                  y: { title: { display: true, text: data.labels.thirty_plus_rate + " %" }, beginAtZero: true } }
      }
    });
  }
  var latest = data.rolls.length ? data.rolls[data.rolls.length - 1].to_month_end : null;
  var lastRolls = data.rolls.filter(function (r) { return r.to_month_end === latest; });
  bar("chart-rolls", lastRolls.map(function (r) { return r.from_bucket + "→" + r.to_bucket; }),
      lastRolls.map(function (r) { return percent(r.rate); }), data.labels.roll_rate + " %");
})();
