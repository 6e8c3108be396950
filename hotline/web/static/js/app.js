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
 *
 * window.Hotline: the helpers the pages' own scripts share (desk, floor, assist, web chat,
 * groups …), each written once here:
 *   Hotline.csrfToken()                         the CSRF token for a write
 *   Hotline.dom     {$, el, icon, clear, sitePath, nearBottom, enterSends, composer}
 *   Hotline.time    {pad, parse, now, sync, clock, hhmm, dayTime, date, inZone}
 *   Hotline.request(method, url, body, options) → Promise<json>; rejects with Hotline.ApiError
 *   Hotline.errorText(error)                    the Chinese text of any failure
 *   Hotline.toast(container, text, level)       a stacked notice (工作台 style)
 *   Hotline.flash(node, text)                   one line shown for a few seconds (citizen pages)
 *   Hotline.uid()                               a random id (a message's client_id)
 *   Hotline.socket(options)                     a live WebSocket that reconnects with backoff
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

  var Hotline = (window.Hotline = window.Hotline || {});
  Hotline.csrfToken = csrfToken;

  // --- DOM --------------------------------------------------------------------------------
  var SVG_NS = "http://www.w3.org/2000/svg";

  function byId(id) { return document.getElementById(id); }

  /** An element with a class and text; text goes in through textContent only. */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  /** A Bootstrap Icons symbol, as the {% icon %} template tag draws it. The sprite's address
   * comes from <body data-sprite> (web/base.html). */
  function icon(name, className) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "bi " + (className || ""));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", (document.body.dataset.sprite || "") + "#" + name);
    svg.appendChild(use);
    return svg;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** The link if it is a path on this site, else "": never "//host", "javascript:" or
   * another origin. */
  function sitePath(link) {
    return typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/" &&
      link.charAt(1) !== "\\" ? link : "";
  }

  /** Whether a scrolled box is read at its end (within ``slack`` pixels). */
  function nearBottom(box, slack) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < slack;
  }

  /** Enter without Shift in ``input`` calls ``submit`` — never while an input method
   * composes Chinese (its Enter confirms the word), nor on a phone if ``phoneNewline`` (a
   * phone's Enter is a new line; its send button sends). */
  function enterSends(input, submit, phoneNewline) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
        return;
      }
      if (phoneNewline && window.matchMedia("(pointer: coarse)").matches) return;
      event.preventDefault();
      submit();
    });
  }

  /** A citizen chat's composer: the textarea grows with its text (to 120 px), the send
   * button is on while there is text and the chat is not ``closed()``, Enter sends on a
   * desktop (enterSends) and a desktop keeps the focus in the textarea.
   * Returns the repaint, for after the text was changed by the script. */
  function composer(input, button, submit, closed) {
    function paint() {
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
      button.disabled = !input.value.trim() || closed();
    }
    input.addEventListener("input", paint);
    enterSends(input, submit, true);
    button.addEventListener("click", function () {
      submit();
      if (window.matchMedia("(pointer: fine)").matches) input.focus();
    });
    return paint;
  }

  Hotline.dom = {
    $: byId, el: el, icon: icon, clear: clear, sitePath: sitePath,
    nearBottom: nearBottom, enterSends: enterSends, composer: composer,
  };

  // --- time -------------------------------------------------------------------------------
  var skew = 0; // the server's clock minus this one (ms)

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  /** Milliseconds of an ISO time, or null. */
  function parse(value) {
    var t = value ? Date.parse(value) : NaN;
    return isNaN(t) ? null : t;
  }

  /** Now by the server's clock (learnt from its answers), for the pages' running timers. */
  function now() { return Date.now() + skew; }

  /** The server said it is ``served`` (ms) now. */
  function sync(served) {
    if (typeof served === "number" && !isNaN(served)) skew = served - Date.now();
  }

  /** A running duration: "mm:ss", or "hh:mm:ss" from an hour on. */
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return (h ? pad(h) + ":" : "") + pad(m) + ":" + pad(s);
  }

  function dateOf(value) {
    var t = parse(value);
    return t === null ? null : new Date(t);
  }

  /** "09:05" of a time (this device's clock), or "". */
  function hhmm(value) {
    var d = dateOf(value);
    return d ? pad(d.getHours()) + ":" + pad(d.getMinutes()) : "";
  }

  /** "5月3日 09:05", or "". */
  function dayTime(value) {
    var d = dateOf(value);
    return d ? (d.getMonth() + 1) + "月" + d.getDate() + "日 " + hhmm(value) : "";
  }

  /** "2026-05-03", or "". */
  function date(value) {
    var d = dateOf(value);
    return d ? d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) : "";
  }

  /** "09:05" in the hotline's time zone (citizen pages: whatever the device is set to);
   * no value: now. */
  function inZone(zone) {
    var format;
    try {
      format = new Intl.DateTimeFormat("zh-CN", {
        timeZone: zone || undefined, hour: "2-digit", minute: "2-digit", hour12: false,
      });
    } catch (e) {
      format = new Intl.DateTimeFormat("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false });
    }
    return function (value) {
      var at = value ? new Date(value) : new Date();
      return isNaN(at.getTime()) ? "" : format.format(at);
    };
  }

  Hotline.time = {
    pad: pad, parse: parse, now: now, sync: sync, clock: clock,
    hhmm: hhmm, dayTime: dayTime, date: date, inZone: inZone,
  };

  // --- the JSON API -----------------------------------------------------------------------
  /** A refused or failed request: ``status`` 0 when the network failed, ``detail`` the
   * Chinese reason (the answer's "detail"), ``field`` the form field it names, if any. */
  function ApiError(status, detail, field) {
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.message = detail;
    this.field = field || null;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  /** A JSON request to this site. ``body``: an object (sent as JSON) or FormData. A write
   * carries the CSRF token. A 401 sends staff to the login page. ``options``:
   *   headers      more headers (a visitor's token)
   *   credentials  fetch's, "same-origin" unless said ("omit": no cookies at all)
   *   citizen      a citizen's page: a 401 is an ordinary refusal, not the staff login */
  async function request(method, url, body, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, options.headers);
    var init = { method: method, credentials: options.credentials || "same-origin", headers: headers };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var sent = Date.now();
    var response;
    try {
      response = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, "网络连接失败，请检查网络后重试");
    }
    var served = parse(response.headers.get("Date"));
    if (served !== null) {
      var guess = served + 500 - (sent + Date.now()) / 2; // the header has whole seconds
      skew = Math.abs(guess) > 1500 ? guess : 0;
    }
    if (response.status === 401 && !options.citizen) {
      window.location.href = "/login/?next=" + encodeURIComponent(window.location.pathname);
      throw new ApiError(401, "登录已失效，请重新登录");
    }
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      var detail = data && typeof data.detail === "string" ? data.detail
        : "操作未成功（" + response.status + "），请稍后重试";
      throw new ApiError(response.status, detail, data && data.field);
    }
    return data;
  }

  function errorText(error) {
    return error instanceof ApiError ? error.detail : "操作未成功，请稍后重试";
  }

  Hotline.ApiError = ApiError;
  Hotline.request = request;
  Hotline.errorText = errorText;

  // --- notices ----------------------------------------------------------------------------
  /** A closable notice stacked in ``container``: "ok" (goes after 4 s) or an error (8 s). */
  function toast(container, text, level) {
    var box = el("div", "cd-toast cd-toast-" + (level || "error"));
    box.setAttribute("role", level === "ok" ? "status" : "alert");
    box.appendChild(icon(level === "ok" ? "check-circle" : "exclamation-triangle"));
    box.appendChild(el("span", "", text));
    var close = el("button", "btn-close");
    close.type = "button";
    close.setAttribute("aria-label", "关闭");
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    container.appendChild(box);
    window.setTimeout(function () { box.remove(); }, level === "ok" ? 4000 : 8000);
    return box;
  }

  var flashTimers = new WeakMap();

  /** ``text`` in ``node`` (a one-line notice) for five seconds. */
  function flash(node, text) {
    node.textContent = text;
    node.hidden = false;
    window.clearTimeout(flashTimers.get(node));
    flashTimers.set(node, window.setTimeout(function () { node.hidden = true; }, 5000));
  }

  Hotline.toast = toast;
  Hotline.flash = flash;

  Hotline.uid = function () {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16); // randomUUID needs a secure context; this does not
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  };

  // --- live sockets -----------------------------------------------------------------------
  /** 实时连接: a WebSocket on this host that comes back by itself — after 1 s doubling to
   * 30 s (±25 %, so that a restarted server is not met by every page at once), and at once
   * when the network or the tab comes back. ``options``:
   *   path()                the path (and query) to open; read again for every attempt
   *   onConnecting(attempt) before each attempt (0: the first since the last ok())
   *   onOpen()              the socket is open
   *   onEvent(data)         each JSON message (anything else is dropped)
   *   onClose(code)         it closed: call live.stop() where reconnecting cannot mend it,
   *                         live.connect() to try again at once; else it retries later
   *   onRetry(ms)           the next attempt is in ``ms``
   * Returns live: connect(), send(data) → whether it went, ok() (it works: the backoff
   * starts again), stop(), stopped(). */
  function socket(options) {
    var ws = null;
    var attempt = 0;
    var timer = null;
    var halted = false;

    function call(name, arg) {
      if (options[name]) options[name](arg);
    }

    function connect() {
      window.clearTimeout(timer);
      timer = null;
      if (halted || (ws && ws.readyState <= 1)) return;
      var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      call("onConnecting", attempt);
      var current;
      try {
        current = new WebSocket(scheme + "//" + window.location.host + options.path());
      } catch (e) {
        later();
        return;
      }
      ws = current;
      current.onopen = function () {
        if (current === ws) call("onOpen");
      };
      current.onmessage = function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (current === ws) call("onEvent", data);
      };
      current.onclose = function (event) {
        if (current !== ws) return;
        ws = null;
        call("onClose", event.code);
        if (!halted && !ws && timer === null) later();
      };
    }

    function later() {
      var delay = Math.round(Math.min(30000, 1000 * Math.pow(2, attempt)) *
        (0.75 + Math.random() * 0.5));
      attempt += 1;
      call("onRetry", delay);
      timer = window.setTimeout(connect, delay);
    }

    function wake() {
      if (!ws && !halted) connect();
    }
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") wake();
    });

    return {
      connect: connect,
      send: function (data) {
        if (!ws || ws.readyState !== 1) return false;
        ws.send(JSON.stringify(data));
        return true;
      },
      ok: function () { attempt = 0; },
      stop: function () {
        halted = true;
        window.clearTimeout(timer);
      },
      stopped: function () { return halted; },
    };
  }

  Hotline.socket = socket;

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
