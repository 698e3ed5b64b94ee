// The hosted checkout's only script: groups the card number as it is typed and shows progress while
// paying. The form works without it (the server strips spaces and validates everything).
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  if (!form) return;
  var card = document.getElementById("id_card_number");
  if (card) {
    card.addEventListener("input", function () {
      var digits = card.value.replace(/\D/g, "").slice(0, 19);
      var grouped = /^3[47]/.test(digits)
        ? digits.replace(/^(\d{4})(\d{0,6})(\d{0,5}).*/, function (_, a, b, c) { return [a, b, c].filter(Boolean).join(" "); })
        : digits.replace(/(\d{4})(?=\d)/g, "$1 ");
      if (grouped !== card.value) card.value = grouped;
    });
  }
  form.addEventListener("submit", function (event) {
    var button = document.getElementById("pay-button");
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.querySelector(".label").textContent = button.dataset.busyLabel;
    }
  });
})();
