/* 知识采编: the rich-text editor and the batch selection of the lists. CSP-safe: no inline
 * script, no eval, no style attributes; wired by data attributes.
 *
 *   [data-kb-editor]   a contenteditable area with a small toolbar over the body <textarea>;
 *                      the textarea stays the form field (and the fallback without script):
 *                      the area's HTML is copied into it on every change and on submit.
 *                      The server sanitises whatever arrives.
 *   [data-kb-batch]    a list form: "select all", a count of the selected rows, and the
 *                      batch buttons disabled while nothing is selected.
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

  function csrfToken(form) {
    var field = form ? form.querySelector("input[name=csrfmiddlewaretoken]") : null;
    return (field && field.value) || cookie("csrftoken");
  }

  var TABLE =
    "<table><thead><tr><th>项目</th><th>说明</th></tr></thead>" +
    "<tbody><tr><td>&nbsp;</td><td>&nbsp;</td></tr><tr><td>&nbsp;</td><td>&nbsp;</td></tr></tbody>" +
    "</table><p><br></p>";

  function initEditor(root) {
    var source = root.querySelector("textarea");
    var area = root.querySelector(".kb-editable");
    var toolbar = root.querySelector(".kb-toolbar");
    var status = root.querySelector("[data-kb-editor-status]");
    var picker = root.querySelector("[data-kb-image-input]");
    if (!source || !area || !toolbar || typeof document.execCommand !== "function") return;
    var form = root.closest("form");
    var sourceMode = false;
    var saved = null;

    try { document.execCommand("defaultParagraphSeparator", false, "p"); } catch (e) { /* old browsers */ }
    area.innerHTML = source.value;
    area.hidden = false;
    toolbar.hidden = false;
    source.classList.add("d-none");
    source.setAttribute("aria-hidden", "true");

    function say(message) { if (status) status.textContent = message || ""; }
    function sync() { if (!sourceMode) source.value = area.innerHTML; }
    function remember() {
      var selection = window.getSelection();
      if (selection.rangeCount && area.contains(selection.anchorNode)) {
        saved = selection.getRangeAt(0).cloneRange();
      }
    }
    function restore() {
      area.focus();
      if (saved) {
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(saved);
      }
    }
    function setSourceMode(on) {
      sourceMode = on;
      if (on) {
        source.value = area.innerHTML;
        source.classList.remove("d-none");
        source.removeAttribute("aria-hidden");
        area.hidden = true;
        source.focus();
      } else {
        area.innerHTML = source.value;
        source.classList.add("d-none");
        source.setAttribute("aria-hidden", "true");
        area.hidden = false;
      }
      toolbar.querySelectorAll("button[data-cmd]").forEach(function (button) {
        if (button.getAttribute("data-cmd") !== "source") button.disabled = on;
      });
      toolbar.querySelector('[data-cmd="source"]').classList.toggle("active", on);
    }

    area.addEventListener("input", sync);
    ["keyup", "mouseup", "blur"].forEach(function (name) { area.addEventListener(name, remember); });
    if (form) form.addEventListener("submit", sync);
    // Keep the selection in the text while a toolbar button is pressed.
    toolbar.addEventListener("mousedown", function (event) {
      if (event.target.closest("button")) event.preventDefault();
    });
    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-cmd]");
      if (!button) return;
      var command = button.getAttribute("data-cmd");
      say("");
      if (command === "source") { setSourceMode(!sourceMode); return; }
      if (sourceMode) return;
      restore();
      if (command === "formatBlock") {
        document.execCommand("formatBlock", false, button.getAttribute("data-value"));
      } else if (command === "link") {
        var url = window.prompt("链接地址（以 http:// 或 https:// 开头）", "https://");
        if (url && /^https?:\/\/\S+$/i.test(url)) {
          document.execCommand("createLink", false, url);
        } else if (url) {
          say("链接须以 http:// 或 https:// 开头");
        }
      } else if (command === "image") {
        if (picker) picker.click();
        return;
      } else if (command === "table") {
        document.execCommand("insertHTML", false, TABLE);
      } else {
        document.execCommand(command, false, null);
      }
      sync();
    });

    if (picker) {
      picker.addEventListener("change", function () {
        var file = picker.files && picker.files[0];
        if (!file) return;
        var body = new FormData();
        body.append("image", file);
        say("正在上传图片…");
        fetch(root.getAttribute("data-upload-url"), {
          method: "POST",
          body: body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(form), "X-Requested-With": "XMLHttpRequest" }
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (result) {
          if (!result.ok || !result.data.url) {
            say(result.data.detail || "图片上传失败");
            return;
          }
          say("");
          restore();
          document.execCommand("insertImage", false, result.data.url);
          sync();
        }).catch(function () {
          say("图片上传失败，请检查网络后重试");
        }).then(function () {
          picker.value = "";
        });
      });
    }
  }

  function initBatch(form) {
    var all = form.querySelector("[data-kb-check-all]");
    var boxes = form.querySelectorAll("[data-kb-check]");
    var counter = form.querySelector("[data-kb-selected]");
    var buttons = form.querySelectorAll("[data-kb-batch-submit]");
    function update() {
      var chosen = 0;
      boxes.forEach(function (box) { if (box.checked) chosen += 1; });
      if (counter) counter.textContent = chosen ? "已选 " + chosen + " 条" : "未选择";
      buttons.forEach(function (button) { button.disabled = chosen === 0; });
      if (all) {
        all.checked = chosen > 0 && chosen === boxes.length;
        all.indeterminate = chosen > 0 && chosen < boxes.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", update);
    update();
  }

  function init() {
    document.querySelectorAll("[data-kb-editor]").forEach(initEditor);
    document.querySelectorAll("[data-kb-batch]").forEach(initBatch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
