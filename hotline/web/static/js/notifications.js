/* 站内提醒实时弹出: live notices over the WebSocket at /ws/notifications/.
 *
 * Loaded by base.html for signed-in people only; works only where the page shell has the
 * toast container (#live-toasts, bottom right). The socket (ws: or wss: as the page)
 * reconnects with backoff (1 s doubling to 30 s, with jitter); the server's close codes
 * 4401 (not signed in) and 4403 (password change pending) end it for good.
 *
 * Messages (hotline/core/consumers.py):
 *   {"type": "unread", "unread": N}               → the bell's count
 *   {"type": "notification", id, title, body, link, level, level_label, kind, unread}
 *                                                 → a toast, and the bell's count
 *
 * Server text goes in through textContent only; a link is followed only if it is a path
 * on this site. "查看" marks the notice read and opens its link (or the list), as the list
 * page does.
 */
(function () {
  "use strict";

  var container = document.getElementById("live-toasts");
  if (!container || !window.WebSocket) return;

  var FINAL_CODES = [4401, 4403];
  var MAX_TOASTS = 4;
  var LEVELS = { info: "提示", warning: "预警", danger: "逾期" };
  // How long a toast stays: an overdue notice stays until it is closed.
  var DELAYS = { info: 8000, warning: 12000, danger: 0 };

  var retries = 0;
  var timer = null;
  // The Redis bus delivers at least once: a notice already shown is not shown again.
  var shown = {};

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + (container.dataset.socket || "/ws/notifications/");
  }

  // --- the bell ---------------------------------------------------------------------------
  function setUnread(count) {
    var bell = document.querySelector(".topbar-bell");
    if (!bell || typeof count !== "number" || count < 0) return;
    var badge = bell.querySelector(".bell-count");
    if (count > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "bell-count";
        bell.appendChild(badge);
      }
      badge.textContent = String(count);
      bell.title = "站内提醒（" + count + " 条未读）";
    } else {
      if (badge) badge.remove();
      bell.title = "站内提醒";
    }
  }

  // --- toasts -----------------------------------------------------------------------------
  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function sitePath(link) {
    // Only a path on this site: never "//host", "javascript:" or another origin.
    return typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/" &&
      link.charAt(1) !== "\\" ? link : "";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function hidden(name, value) {
    var input = element("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function viewAction(notice) {
    // As the list page's 查看: mark the notice read, then open its link (or the list).
    var list = container.dataset.listUrl || "/notifications/";
    var readUrl = container.dataset.readUrl || "";
    if (!readUrl || typeof notice.id !== "number") {
      var anchor = element("a", "btn btn-sm btn-primary", "查看");
      anchor.href = list;
      return anchor;
    }
    var form = element("form", "live-toast-action");
    form.method = "post";
    form.action = readUrl.replace(/\/0\/read\/$/, "/" + notice.id + "/read/");
    form.appendChild(hidden("csrfmiddlewaretoken", csrfToken()));
    form.appendChild(hidden("next", sitePath(notice.link) || list));
    var button = element("button", "btn btn-sm btn-primary", "查看");
    button.type = "submit";
    form.appendChild(button);
    return form;
  }

  function showToast(notice) {
    var level = Object.prototype.hasOwnProperty.call(LEVELS, notice.level) ? notice.level : "info";
    var toast = element("div", "toast live-toast live-toast-" + level);
    toast.setAttribute("role", level === "danger" ? "alert" : "status");
    toast.setAttribute("aria-atomic", "true");
    toast.dataset.notification = String(notice.id);

    var header = element("div", "toast-header");
    header.appendChild(element("span", "live-toast-level", notice.level_label || LEVELS[level]));
    header.appendChild(element("strong", "live-toast-title me-auto", notice.title || "新提醒"));
    var close = element("button", "btn-close");
    close.type = "button";
    close.setAttribute("data-bs-dismiss", "toast");
    close.setAttribute("aria-label", "关闭");
    header.appendChild(close);
    toast.appendChild(header);

    var body = element("div", "toast-body");
    if (notice.body) body.appendChild(element("div", "live-toast-text", notice.body));
    var actions = element("div", "live-toast-actions");
    actions.appendChild(viewAction(notice));
    body.appendChild(actions);
    toast.appendChild(body);

    while (container.children.length >= MAX_TOASTS) container.firstElementChild.remove();
    container.appendChild(toast);
    toast.addEventListener("hidden.bs.toast", function () { toast.remove(); });
    var delay = DELAYS[level];
    if (window.bootstrap && window.bootstrap.Toast) {
      window.bootstrap.Toast.getOrCreateInstance(toast, { autohide: delay > 0, delay: delay || 5000 }).show();
    } else {
      toast.classList.add("show");
    }
  }

  // --- the socket -------------------------------------------------------------------------
  function received(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!message || typeof message !== "object") return;
    retries = 0; // the server answered: the connection is good
    if (message.type === "notification") {
      if (shown[message.id]) return;
      shown[message.id] = true;
      showToast(message);
      setUnread(message.unread);
    } else if (message.type === "unread") {
      setUnread(message.unread);
    }
  }

  function reconnectLater() {
    var delay = Math.min(30000, 1000 * Math.pow(2, retries));
    retries += 1;
    delay = delay / 2 + Math.random() * delay / 2;
    timer = window.setTimeout(connect, delay);
  }

  function connect() {
    timer = null;
    var socket;
    try {
      socket = new WebSocket(socketUrl());
    } catch (error) {
      reconnectLater();
      return;
    }
    socket.addEventListener("message", received);
    socket.addEventListener("close", function (event) {
      if (FINAL_CODES.indexOf(event.code) !== -1) return;
      if (timer === null) reconnectLater();
    });
  }

  connect();
})();
