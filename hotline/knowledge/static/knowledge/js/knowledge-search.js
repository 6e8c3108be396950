/* 知识检索: suggestions while typing (检索提示), for the search page and the agent panel.
 * CSP-safe: no inline script; wired by data attributes, also on fragments htmx swaps in.
 *
 *   <input data-kb-suggest="/api/kb/suggest" aria-controls="LIST_ID">
 *   <ul id="LIST_ID" class="kbq-suggest" role="listbox" hidden></ul>
 *
 * Typing asks the suggest API (titles and keywords by prefix, pinyin or pinyin initials:
 * gjj → 公积金); arrow keys move, Enter or a click takes a suggestion and searches it,
 * Escape closes the list.
 */
(function () {
  "use strict";

  var DELAY = 120;
  var KINDS = { keyword: "关键词", title: "标题" };
  var timers = new WeakMap();
  var asked = new WeakMap();

  function listOf(input) {
    var id = input.getAttribute("aria-controls");
    return id ? document.getElementById(id) : null;
  }

  function close(input) {
    var list = listOf(input);
    if (!list) return;
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(input, text) {
    input.value = text;
    close(input);
    var form = input.form;
    if (!form) return;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  function render(input, items) {
    var list = listOf(input);
    if (!list) return;
    list.textContent = "";
    if (!items.length) {
      close(input);
      return;
    }
    items.forEach(function (item, index) {
      var li = document.createElement("li");
      li.id = list.id + "-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.text = item.text;
      var kind = document.createElement("span");
      kind.className = "kbq-suggest-kind";
      kind.textContent = KINDS[item.type] || item.type;
      var text = document.createElement("span");
      text.className = "kbq-suggest-text";
      text.textContent = item.text;
      li.appendChild(kind);
      li.appendChild(text);
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function ask(input) {
    var q = input.value.trim();
    if (!q) {
      close(input);
      return;
    }
    var serial = (asked.get(input) || 0) + 1;
    asked.set(input, serial);
    var url = input.getAttribute("data-kb-suggest") + "?q=" + encodeURIComponent(q) + "&limit=10";
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (data) {
        if (asked.get(input) !== serial) return; // a later keystroke is on its way
        if (document.activeElement !== input) return;
        render(input, data.items || []);
      })
      .catch(function () { close(input); });
  }

  function move(input, step) {
    var list = listOf(input);
    if (!list || list.hidden) return false;
    var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    if (!options.length) return false;
    var current = options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    var next = current + step;
    if (next < 0) next = options.length - 1;
    if (next >= options.length) next = 0;
    options.forEach(function (o, i) { o.setAttribute("aria-selected", i === next ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", options[next].id);
    options[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  function selected(input) {
    var list = listOf(input);
    if (!list || list.hidden) return null;
    return list.querySelector("[role=option][aria-selected=true]");
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-kb-suggest")) return;
    window.clearTimeout(timers.get(input));
    timers.set(input, window.setTimeout(function () { ask(input); }, DELAY));
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-kb-suggest")) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (move(input, event.key === "ArrowDown" ? 1 : -1)) event.preventDefault();
    } else if (event.key === "Enter") {
      var option = selected(input);
      if (option) {
        event.preventDefault();
        choose(input, option.dataset.text);
      } else {
        close(input);
      }
    } else if (event.key === "Escape") {
      close(input);
    }
  });

  // mousedown, not click: the input's blur would close the list before a click lands
  document.addEventListener("mousedown", function (event) {
    var option = event.target instanceof Element ? event.target.closest(".kbq-suggest [role=option]") : null;
    if (!option) return;
    event.preventDefault();
    var list = option.closest(".kbq-suggest");
    var input = document.querySelector("[aria-controls='" + list.id + "']");
    if (input) choose(input, option.dataset.text);
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.hasAttribute("data-kb-suggest")) {
      window.setTimeout(function () { if (document.activeElement !== input) close(input); }, 150);
    }
  });
})();
