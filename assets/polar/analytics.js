/* The staff metrics dashboard: fetch the figures (the same MetricsResponse /v1/metrics/ answers) and draw them. */
(function () {
  "use strict";
  var root = document.getElementById("charts");
  var status = document.getElementById("charts-status");
  if (!root || typeof Chart === "undefined") {
    if (status) status.textContent = "Charts are unavailable; the table below has every figure.";
    return;
  }
  var currency = (root.dataset.currency || "usd").toUpperCase();
  var money = new Intl.NumberFormat("en-US", { style: "currency", currency: currency, maximumFractionDigits: 0 });
  var colors = ["#4f46e5", "#0ea5e9", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2"];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function cents(value) { return money.format(value / 100); }
  function draw(id, type, labels, datasets, format) {
    new Chart(document.getElementById(id), {
      type: type,
      data: {
        labels: labels,
        datasets: datasets.map(function (d, i) {
          return Object.assign({ borderColor: colors[i % colors.length], backgroundColor: colors[i % colors.length], tension: 0 }, d);
        })
      },
      options: {
        plugins: { legend: { display: datasets.length > 1 }, tooltip: { callbacks: format ? { label: function (c) { return c.dataset.label + ": " + format(c.parsed.y !== undefined ? c.parsed.y : c.parsed.x); } } : {} } },
        scales: format ? { y: { ticks: { callback: function (v) { return format(v); } } } } : {}
      }
    });
  }

  fetch(root.dataset.url, { credentials: "same-origin" })
    .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
    .then(function (data) {
      var periods = data.metrics.periods;
      var labels = periods.map(function (p) { return p.timestamp.slice(0, 10); });
      function series(slug) { return periods.map(function (p) { return p[slug]; }); }
      draw("chart-mrr", "line", labels, [{ label: "MRR", data: series("monthly_recurring_revenue") }], cents);
      draw("chart-revenue", "bar", labels, [
        { label: "Revenue", data: series("revenue") },
        { label: "Net revenue", data: series("net_revenue") }
      ], cents);
      draw("chart-subscriptions", "bar", labels, [
        { label: "New", data: series("new_subscriptions") },
        { label: "Churned", data: series("churned_subscriptions") }
      ]);
      draw("chart-usage", "line", labels, data.meters.length ? data.meters.map(function (m) {
        return { label: m.name, data: m.quantities };
      }) : [{ label: "No meters", data: [] }]);
      draw("chart-margin", "line", labels, [
        { label: "Revenue less costs", data: series("cashflow") },
        { label: "Costs", data: series("costs") }
      ], cents);
      draw("chart-customers", "bar", data.customers.map(function (c) { return c.email || c.external_customer_id || c.customer_id; }),
        [{ label: "Margin", data: data.customers.map(function (c) { return c.margin; }) }], cents);
      root.dataset.ready = "true";
      status.textContent = "";
    })
    .catch(function (error) { status.textContent = "Could not load the charts (" + error.message + "); the table below has every figure."; });
})();
