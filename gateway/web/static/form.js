// Progressive enhancement of the report form: the page works without this file.
// With it: the questions of the chosen service only, a live service suggestion, "use my location".
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.getElementById("report-form");
  if (!form) { return; }
  var select = document.getElementById("service_code");
  var description = document.getElementById("description");
  var suggestion = document.getElementById("suggestion");
  var lang = form.querySelector("input[name=lang]").value;
  var chosenByHand = select.value !== "";

  function showQuestions() {
    var groups = form.querySelectorAll("fieldset.questions");
    for (var i = 0; i < groups.length; i++) {
      groups[i].hidden = groups[i].getAttribute("data-service") !== select.value;
    }
  }
  select.addEventListener("change", function () { chosenByHand = true; showQuestions(); });
  showQuestions();

  var timer = null;
  function suggest() {
    var text = description.value.trim();
    if (text.length < 8) { return; }
    var url = "/report/suggest?lang=" + encodeURIComponent(lang) + "&text=" + encodeURIComponent(text);
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.services || !data.services.length) { return; }
        var best = data.services[0];
        suggestion.textContent = data.label.replace("{service}", best.name);
        if (!chosenByHand) { select.value = best.code; showQuestions(); }
      })
      .catch(function () { /* the resident can still choose by hand */ });
  }
  description.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 400);
  });
  var suggestButton = document.getElementById("suggest-button");
  if (suggestButton) { suggestButton.hidden = true; }

  var locate = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = status.getAttribute("data-locating");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lat = pos.coords.latitude.toFixed(6), lon = pos.coords.longitude.toFixed(6);
        document.getElementById("lat").value = lat;
        document.getElementById("long").value = lon;
        status.textContent = status.getAttribute("data-found").replace("{lat}", lat).replace("{long}", lon);
      }, function () {
        status.textContent = status.getAttribute("data-failed");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
