// 统计报表: the period picker follows the chosen period kind (按月/按周/按日/按年), and the
// platform select switches the page.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function lastOf(kind) {
    var d = new Date();
    if (kind === "day") { d.setDate(d.getDate() - 1); return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }
    if (kind === "month") { d.setDate(0); return d.getFullYear() + "-" + pad(d.getMonth() + 1); }
    if (kind === "year") { return String(d.getFullYear() - 1); }
    // ISO week of the day a week ago
    d.setDate(d.getDate() - 7);
    var t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
    var day = t.getUTCDay() || 7;
    t.setUTCDate(t.getUTCDate() + 4 - day);
    var yearStart = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
    var week = Math.ceil(((t - yearStart) / 86400000 + 1) / 7);
    return t.getUTCFullYear() + "-W" + pad(week);
  }
  document.querySelectorAll(".report-row").forEach(function (row) {
    var select = row.querySelector(".report-kind");
    var input = row.querySelector(".report-period-input");
    if (!select || !input) { return; }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      input.type = option.dataset.input;
      input.title = "格式：" + option.dataset.format;
      if (input.type === "number") { input.min = "2000"; input.max = "2100"; } else { input.removeAttribute("min"); input.removeAttribute("max"); }
      input.value = lastOf(select.value);
    });
  });
  var platform = document.querySelector("[data-autosubmit]");
  if (platform) { platform.addEventListener("change", function () { platform.form.submit(); }); }
})();
