// The only script: fill the timezone from the browser when the field is empty (the form works without it).
// A file, not inline: the Content-Security-Policy allows scripts from this site only.
(function () {
  var field = document.getElementById("timezone");
  try { if (field && !field.value) { field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } } catch (e) {}
})();
