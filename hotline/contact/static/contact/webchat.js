/* 网页在线咨询: the citizen's chat page (also inside the widget's frame, ?embed=1).
 *
 * One socket, /ws/chat/<platform>/<entry>/?t=<token> (hotline/contact/consumers.py). The
 * visitor token is kept in localStorage per entry, so a returning citizen finds the
 * conversation again; a stored token the server refuses (4401) gives way to the fresh one
 * the page was served with. Own messages carry a client_id and stay in the outbox until
 * the server echoes them; after a reconnect the outbox is sent again (the server drops
 * what it already has). Outbound messages are acknowledged once shown.
 */
(function () {
  "use strict";

  var root = document.getElementById("webchat");
  if (!root) return;
  var cfg = root.dataset;

  function role(name) {
    return root.querySelector('[data-role="' + name + '"]');
  }
  var ui = {
    conn: role("conn"),
    leave: role("leave"),
    confirm: role("confirm"),
    confirmEnd: role("confirm-end"),
    confirmCancel: role("confirm-cancel"),
    banner: role("banner"),
    bannerIcon: role("banner-icon"),
    bannerText: role("banner-text"),
    transcript: role("transcript"),
    welcome: role("welcome"),
    messages: role("messages"),
    rating: role("rating"),
    thanks: role("thanks"),
    thanksText: role("thanks-text"),
    toast: role("toast"),
    file: role("file"),
    input: role("input"),
    send: role("send"),
  };

  var STATUS_EVERY = 15000; // 排队通报 refreshed while waiting
  var WAITING = ["new", "queued", "offered"];
  var OPEN = ["new", "queued", "offered", "active"];
  var ENDED = ["wrap_up", "closed", "abandoned", "timed_out"];
  var MAX_BYTES = (parseInt(cfg.maxMb, 10) || 10) * 1024 * 1024;
  var IMAGE_EXT = /\.(jpe?g|png)$/i;
  var key = "hotline.webchat." + cfg.platform + "." + cfg.entry;

  // --- storage (may be refused: private mode, blocked third-party storage) ---------------

  function load(name) {
    try {
      return window.localStorage.getItem(key + "." + name);
    } catch (e) {
      return null;
    }
  }
  function save(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(key + "." + name);
      else window.localStorage.setItem(key + "." + name, value);
    } catch (e) {
      /* the page still works for this visit */
    }
  }

  var freshToken = cfg.token;
  var token = load("token") || freshToken;
  save("token", token);

  // --- small helpers (the shared ones: web/static/js/app.js) -----------------------------

  var H = window.Hotline;
  var el = H.dom.el;
  function icon(name) {
    var template = root.querySelector('template[data-icon="' + name + '"]');
    return template ? template.content.firstElementChild.cloneNode(true) : el("span");
  }
  // The hotline's clock (Beijing time), whatever the visitor's device is set to.
  var timeOf = H.time.inZone(cfg.tz);
  function scrollDown(force) {
    if (force || H.dom.nearBottom(ui.transcript, 120)) {
      window.requestAnimationFrame(function () {
        ui.transcript.scrollTop = ui.transcript.scrollHeight;
      });
    }
  }
  function toast(text) {
    H.flash(ui.toast, text);
  }

  // --- the socket ----------------------------------------------------------------------------

  function setConn(stateName, text) {
    ui.conn.dataset.conn = stateName;
    ui.conn.textContent = text;
  }

  var live = H.socket({
    path: function () {
      return cfg.socket + "?t=" + encodeURIComponent(token);
    },
    onConnecting: function (attempt) {
      if (attempt === 0) setConn("connecting", "连接中…");
    },
    onEvent: handle,
    onClose: function (code) {
      stopPolling();
      if (code === 4401) {
        if (token !== freshToken) {
          // the stored visitor has expired or belongs elsewhere: start afresh
          token = freshToken;
          save("token", token);
          live.connect();
          return;
        }
        stop("访客凭证已失效，请刷新页面后重试");
        return;
      }
      if (code === 4404) stop("咨询入口不存在或已停用");
    },
    onRetry: function () {
      setConn("offline", "连接中断，正在重连…");
    },
  });

  function stop(reason) {
    live.stop();
    setConn("failed", "未连接");
    ui.input.disabled = ui.send.disabled = ui.file.disabled = true;
    showBanner("failed", "failed", reason);
  }

  var send = live.send;

  // the shown messages are acknowledged when the tab comes back (the socket reconnects by itself)
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flushAcks();
  });

  // --- what the server says --------------------------------------------------------------------

  var shown = {}; // server message id → element
  var outbox = []; // own messages not yet echoed: {clientId, body, node, state}
  var toAck = [];
  var current = null; // the last state seen
  var lastSent = null; // the outbox item sent last (an error right after refers to it)

  function handle(data) {
    switch (data.event) {
      case "hello":
        live.ok();
        setConn("online", "已连接");
        if (data.welcome) ui.welcome.textContent = data.welcome;
        rebuild(data.messages || []);
        applyState(data.state, true);
        resend();
        break;
      case "message":
        addMessage(data.message);
        scrollDown(data.message && data.message.direction === "in");
        break;
      case "state":
        applyState(data.state, false);
        break;
      case "rated":
        rated(data.satisfaction);
        break;
      case "error":
        failLastSent();
        toast(data.detail || "操作未成功，请稍后重试");
        setRatingBusy(false);
        break;
    }
  }

  function rebuild(messages) {
    ui.messages.textContent = "";
    shown = {};
    messages.forEach(function (message) {
      addMessage(message);
    });
    outbox.forEach(function (item) {
      ui.messages.appendChild(item.node);
    });
    scrollDown(true);
  }

  function resend() {
    outbox.forEach(function (item) {
      if (item.state !== "sent") {
        setOwnState(item, "pending");
        send({ type: "message", body: item.body, client_id: item.clientId });
      }
    });
  }

  function addMessage(m) {
    if (!m || shown[m.id]) return;
    var node;
    if (m.kind === "event") {
      node = el("div", "wc-notice", m.body);
    } else if (m.direction === "in") {
      var mine = m.client_id && outbox.filter(function (i) { return i.clientId === m.client_id; })[0];
      if (mine) {
        outbox.splice(outbox.indexOf(mine), 1);
        setOwnState(mine, "sent");
        mine.node.dataset.id = m.id;
        shown[m.id] = mine.node;
        // after a reconnect the transcript is rebuilt: the bubble takes its place again
        if (!mine.node.isConnected) ui.messages.appendChild(mine.node);
        return;
      }
      node = ownBubble(m);
      node.querySelector(".wc-col").appendChild(ownMeta("sent", m.at));
    } else {
      node = agentBubble(m);
    }
    node.dataset.id = m.id;
    shown[m.id] = node;
    ui.messages.appendChild(node);
    if (m.direction === "out") {
      toAck.push(m.id);
      flushAcks();
      notifyParent();
    }
  }

  function content(m) {
    var bubble = el("div", "wc-bubble");
    if (m.attachment && m.kind === "image") {
      bubble.classList.add("wc-bubble-image");
      var link = el("a");
      link.href = m.attachment;
      link.target = "_blank";
      link.rel = "noopener";
      var img = el("img");
      img.src = m.attachment;
      img.alt = m.attachment_name || "图片";
      img.loading = "lazy";
      img.addEventListener("load", function () {
        scrollDown(false);
      });
      link.appendChild(img);
      bubble.appendChild(link);
    } else if (m.attachment) {
      var file = el("a", "wc-file");
      file.href = m.attachment;
      file.setAttribute("download", m.attachment_name || "");
      file.appendChild(icon("file"));
      file.appendChild(el("span", "wc-file-name", m.attachment_name || "文件"));
      bubble.appendChild(file);
    }
    if (m.body) bubble.appendChild(el("div", "wc-text", m.body));
    return bubble;
  }

  function ownBubble(m) {
    var row = el("div", "wc-row wc-row-me");
    var col = el("div", "wc-col");
    col.appendChild(content(m));
    row.appendChild(col);
    return row;
  }

  function ownMeta(stateName, at) {
    var meta = el("div", "wc-meta");
    meta.appendChild(el("span", "wc-time", timeOf(at)));
    meta.appendChild(el("span", "wc-status"));
    paintStatus(meta, stateName);
    return meta;
  }

  var STATUS_TEXT = { pending: "发送中", sent: "已发送", failed: "发送失败，点击重发" };
  function paintStatus(meta, stateName) {
    var status = meta.querySelector(".wc-status");
    status.textContent = "";
    status.dataset.state = stateName;
    status.appendChild(icon(stateName));
    status.appendChild(el("span", "", STATUS_TEXT[stateName]));
  }

  function agentBubble(m) {
    var row = el("div", "wc-row wc-row-agent");
    var avatar = el("span", "wc-avatar");
    avatar.appendChild(icon("avatar"));
    row.appendChild(avatar);
    var col = el("div", "wc-col");
    col.appendChild(el("div", "wc-sender", m.sender || "热线客服"));
    col.appendChild(content(m));
    var meta = el("div", "wc-meta");
    meta.appendChild(el("span", "wc-time", timeOf(m.at)));
    col.appendChild(meta);
    row.appendChild(col);
    return row;
  }

  function notice(text) {
    ui.messages.appendChild(el("div", "wc-notice", text));
    scrollDown(true);
  }

  // --- acknowledgements: what the citizen was shown ----------------------------------------

  var paneHidden = false; // inside the widget: its panel is closed

  function flushAcks() {
    if (!toAck.length || paneHidden || document.visibilityState !== "visible") return;
    if (send({ type: "ack", ids: toAck.slice(0, 200) })) toAck = toAck.slice(200);
  }

  // The widget tells the frame whether its panel is open; the frame tells the widget of
  // new replies (a dot on the button). Only flags and a count cross the frame.
  var unread = 0;
  function notifyParent() {
    if (!cfg.embed || window.parent === window) return;
    if (paneHidden) unread += 1;
    window.parent.postMessage({ source: "hotline-webchat", unread: unread }, "*");
  }
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.source !== "hotline-widget") {
      return;
    }
    paneHidden = !event.data.open;
    if (!paneHidden) {
      unread = 0;
      flushAcks();
      scrollDown(true);
      if (window.matchMedia("(pointer: fine)").matches) ui.input.focus();
    }
  });

  // --- the session's state: 排队通报, the agent, the end and the rating --------------------

  var pollTimer = null;
  function startPolling() {
    if (pollTimer) return;
    pollTimer = window.setInterval(function () {
      send({ type: "status" });
    }, STATUS_EVERY);
  }
  function stopPolling() {
    window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function showBanner(kind, iconName, text) {
    ui.banner.dataset.kind = kind;
    ui.bannerIcon.textContent = "";
    ui.bannerIcon.appendChild(icon(iconName));
    ui.bannerText.textContent = text;
    ui.banner.hidden = false;
  }

  function applyState(state, initial) {
    if (!state) return;
    var previous = current;
    current = state;
    var name = state.state;
    var sameSession = previous && previous.session && previous.session === state.session;

    if (WAITING.indexOf(name) >= 0) {
      showBanner("wait", "wait", state.announcement || "正在为您转接人工客服，请稍候…");
      startPolling();
    } else {
      stopPolling();
      if (name === "active") {
        var who = state.agent || "热线客服";
        showBanner("agent", "agent", who + "为您服务");
        if (!initial && !(sameSession && previous.state === "active" && previous.agent === who)) {
          notice(who + "为您服务");
        }
      } else if (ENDED.indexOf(name) >= 0) {
        showBanner("ended", "ended", "本次咨询已结束，如有其他问题可继续留言");
        if (!initial && sameSession && OPEN.indexOf(previous.state) >= 0) {
          notice(name === "abandoned" ? "您已结束本次咨询" : "本次咨询已结束");
        }
      } else {
        ui.banner.hidden = true;
      }
    }
    ui.leave.hidden = OPEN.indexOf(name) < 0;
    if (ui.leave.hidden) ui.confirm.hidden = true;

    if (state.rate) {
      if (ui.rating.hidden) {
        ui.rating.hidden = false;
        setRatingBusy(false);
        scrollDown(true);
      }
      ui.thanks.hidden = true;
    } else {
      ui.rating.hidden = true;
      if (state.satisfaction) {
        rated(state.satisfaction, true);
      } else if (!sameSession) {
        ui.thanks.hidden = true;
      }
    }
  }

  function setRatingBusy(busy) {
    ui.rating.querySelectorAll("button").forEach(function (button) {
      button.disabled = busy;
    });
  }

  function rated(level, quiet) {
    ui.rating.hidden = true;
    ui.thanksText.textContent = "感谢您的评价（" + level + "）！";
    ui.thanks.hidden = false;
    if (!quiet) scrollDown(true);
  }

  ui.rating.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-level]");
    if (!button) return;
    setRatingBusy(true);
    lastSent = null;
    if (!send({ type: "rate", satisfaction: button.dataset.level })) {
      setRatingBusy(false);
      toast("网络连接中断，请稍后再评价");
    }
  });

  // --- leaving ---------------------------------------------------------------------------------

  ui.leave.addEventListener("click", function () {
    ui.confirm.hidden = false;
  });
  ui.confirmCancel.addEventListener("click", function () {
    ui.confirm.hidden = true;
  });
  ui.confirmEnd.addEventListener("click", function () {
    ui.confirm.hidden = true;
    lastSent = null;
    if (!send({ type: "leave" })) toast("网络连接中断，请稍后再试");
  });

  // --- writing -----------------------------------------------------------------------------

  function setOwnState(item, stateName) {
    item.state = stateName;
    var meta = item.node.querySelector(".wc-meta");
    if (meta) paintStatus(meta, stateName);
    item.node.classList.toggle("wc-failed", stateName === "failed");
  }

  function failLastSent() {
    if (lastSent && lastSent.state === "pending" && outbox.indexOf(lastSent) >= 0) {
      setOwnState(lastSent, "failed");
    }
    lastSent = null;
  }

  function submit() {
    var body = ui.input.value.trim();
    if (!body || live.stopped()) return;
    var item = { clientId: H.uid(), body: body, state: "pending" };
    item.node = ownBubble({ body: body });
    item.node.classList.add("wc-local");
    item.node.querySelector(".wc-col").appendChild(ownMeta("pending"));
    outbox.push(item);
    ui.messages.appendChild(item.node);
    ui.input.value = "";
    autosize();
    scrollDown(true);
    lastSent = item;
    // not connected: it stays in the outbox and goes out after the reconnect
    send({ type: "message", body: body, client_id: item.clientId });
  }

  ui.messages.addEventListener("click", function (event) {
    var status = event.target.closest('.wc-status[data-state="failed"]');
    if (!status) return;
    var node = status.closest(".wc-row");
    var item = outbox.filter(function (i) { return i.node === node; })[0];
    if (!item) return;
    setOwnState(item, "pending");
    lastSent = item;
    send({ type: "message", body: item.body, client_id: item.clientId });
  });

  var autosize = H.dom.composer(ui.input, ui.send, submit, live.stopped);

  // --- images and files ------------------------------------------------------------------------

  ui.file.addEventListener("change", function () {
    var file = ui.file.files && ui.file.files[0];
    ui.file.value = "";
    if (!file) return;
    if (file.size > MAX_BYTES) {
      toast("文件超过 " + cfg.maxMb + " MB，无法发送");
      return;
    }
    var row = el("div", "wc-row wc-row-me wc-local wc-uploading");
    var col = el("div", "wc-col");
    var bubble = el("div", "wc-bubble wc-upload");
    bubble.appendChild(icon(IMAGE_EXT.test(file.name) ? "pending" : "file"));
    bubble.appendChild(el("span", "wc-file-name", file.name));
    col.appendChild(bubble);
    var meta = el("div", "wc-meta");
    meta.appendChild(el("span", "wc-status", "上传中…"));
    col.appendChild(meta);
    row.appendChild(col);
    ui.messages.appendChild(row);
    scrollDown(true);

    var form = new FormData();
    form.append("file", file);
    H.request("POST", cfg.upload, form, {
      headers: { "X-Webchat-Token": token },
      credentials: "omit",
      citizen: true,
    })
      .then(function () {
        // the message itself comes back over the socket
        row.remove();
      })
      .catch(function (error) {
        row.classList.remove("wc-uploading");
        row.classList.add("wc-failed");
        meta.textContent = "";
        var status = el("span", "wc-status");
        status.dataset.state = "failed";
        status.appendChild(icon("failed"));
        status.appendChild(el("span", "", error.status ? error.detail : "网络异常，发送失败"));
        meta.appendChild(status);
      });
  });

  autosize();
  live.connect();
})();
