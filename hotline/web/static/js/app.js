/* Page behaviour shared by every page. CSP-safe: no inline script, no eval, no style
 * attributes; everything is wired by data attributes.
 *
 *   data-confirm="确定…吗？"   on a <form> (asked on submit) or a <button>/<a> (on click)
 *   data-autodismiss           on an .alert: fades out after a few seconds
 *   data-copy-target="id"      on a button: copies the text of element #id
 *
 * HTMX requests carry the CSRF token (X-CSRFToken, from the csrftoken cookie); 400/409/422
 * responses are swapped in like 200 so that forms can show their Chinese errors; a 401
 * (session timed out) sends the browser to the login page.
 */
(function () {
  "use strict";

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i].trim();
      if (part.substring(0, name.length + 1) === name + "=") {
        return decodeURIComponent(part.substring(name.length + 1));
      }
    }
    return "";
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return cookie("csrftoken") || (field ? field.value : "");
  }

  // for the pages' own scripts (desk, floor, groups …): one way to send the CSRF token
  window.Hotline = window.Hotline || {};
  window.Hotline.csrfToken = csrfToken;

  // --- confirmations --------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var message = form.getAttribute("data-confirm");
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-confirm")) {
      return; // asked on click already
    }
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
    if (!target || target instanceof HTMLFormElement) return;
    if (!window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- alerts ---------------------------------------------------------------------------
  function dismiss(alert) {
    if (window.bootstrap && window.bootstrap.Alert) {
      window.bootstrap.Alert.getOrCreateInstance(alert).close();
    } else {
      alert.remove();
    }
  }

  function armAlerts(root) {
    var alerts = (root || document).querySelectorAll(".alert[data-autodismiss]");
    alerts.forEach(function (alert) {
      if (alert.dataset.armed) return;
      alert.dataset.armed = "1";
      window.setTimeout(function () { dismiss(alert); }, 5000);
    });
  }

  // --- copy to clipboard ------------------------------------------------------------------
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var label = button.querySelector("span") || button;
    var done = function () { label.textContent = "已复制"; };
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        selectText(source);
        label.textContent = "已选中，请按 Ctrl+C";
      });
    } else {
      selectText(source);
      try {
        document.execCommand("copy");
        done();
      } catch (e) {
        label.textContent = "已选中，请按 Ctrl+C";
      }
    }
  });

  // --- htmx -------------------------------------------------------------------------------
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) event.detail.headers["X-CSRFToken"] = token;
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) {
      window.location.href = "/login/?next=" + encodeURIComponent(window.location.pathname);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    armAlerts(event.target);
  });

  // File inputs: the browser labels its own control in its own language ("Choose
  // Files"); show a Chinese button and the chosen file names instead.
  function armFilePickers(root) {
    root.querySelectorAll('input[type="file"]:not([data-picker])').forEach(function (input) {
      input.setAttribute("data-picker", "1");
      var picker = document.createElement("div");
      picker.className = "file-picker";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-outline-secondary btn-sm";
      button.textContent = input.multiple ? "选择文件（可多选）" : "选择文件";
      var names = document.createElement("span");
      names.className = "file-picker-names";
      names.textContent = "未选择文件";
      input.classList.add("visually-hidden");
      input.parentNode.insertBefore(picker, input);
      picker.appendChild(button);
      picker.appendChild(names);
      picker.appendChild(input);
      button.addEventListener("click", function () { input.click(); });
      input.addEventListener("change", function () {
        var chosen = Array.prototype.map.call(input.files, function (f) { return f.name; });
        names.textContent = chosen.length ? chosen.join("、") : "未选择文件";
      });
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    armFilePickers(event.target);
  });

  // A link to a collapsed section (/orders/N/#reply) opens it.
  function openTarget() {
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView({ block: "center" });
    }
  }

  window.addEventListener("hashchange", openTarget);

  function init() {
    armFilePickers(document);
    openTarget();
    if (window.htmx && window.htmx.config) {
      window.htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "400", swap: true, error: false },
        { code: "409", swap: true, error: false },
        { code: "422", swap: true, error: false },
        { code: "[45]..", swap: false, error: true },
      ];
    }
    armAlerts(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
