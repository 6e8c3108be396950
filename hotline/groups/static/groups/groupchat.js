/* 群组交互: the live chat of a group, for staff (/groups/<id>/, signed in) and for citizens
 * (/g/<token>/, the guest token). One socket (hotline/groups/consumers.py):
 * "hello" rebuilds the transcript (also after a reconnect), "message" adds one, "member"
 * and "group" say what changed (muted, removed, renamed, closed). Own messages carry a
 * client_id and show "发送中" until the server echoes them; an error names the client_id.
 * Images go up by HTTP and come back over the socket. CSP-safe: no inline anything.
 */
(function () {
  "use strict";

  var root = document.getElementById("groupchat");
  if (!root) return;
  var cfg = root.dataset;
  var guest = cfg.mode === "guest";

  function role(name, scope) {
    return (scope || document).querySelector('[data-role="' + name + '"]');
  }
  var ui = {
    conn: role("conn"),
    name: role("group-name"),
    topic: role("group-topic"),
    state: role("group-state"),
    transcript: role("transcript", root),
    messages: role("messages", root),
    toast: role("toast", root),
    readonly: role("readonly", root),
    composer: role("composer", root),
    file: role("file", root),
    input: role("input", root),
    send: role("send", root),
  };

  var H = window.Hotline; // web/static/js/app.js
  var el = H.dom.el;
  var timeOf = H.time.inZone(cfg.tz || "Asia/Shanghai");
  function scrollDown(force) {
    var t = ui.transcript;
    if (force || H.dom.nearBottom(t, 160)) {
      window.requestAnimationFrame(function () { t.scrollTop = t.scrollHeight; });
    }
  }
  function toast(text) { H.flash(ui.toast, text); }

  // --- the socket ---------------------------------------------------------------------------

  var me = { member: null, may_post: false, muted: false };
  var groupOpen = true;

  function setConn(name, text) {
    if (!ui.conn) return;
    ui.conn.dataset.conn = name;
    ui.conn.textContent = text;
  }

  var live = H.socket({
    path: function () { return cfg.socket + (guest ? "?t=" + encodeURIComponent(cfg.token) : ""); },
    onEvent: handle,
    onClose: function (code) {
      if (code === 4403) return stop("您已被移出群组");
      if (code === 4401) {
        return stop(guest ? "您已不在群组中或凭证已失效，请重新打开邀请链接" : "登录已失效，请重新登录");
      }
      if (code === 4404) return stop("群组不存在或您不是群组成员");
    },
    onRetry: function () { setConn("offline", "连接中断，正在重连…"); },
  });

  function stop(reason) {
    live.stop();
    setConn("failed", "未连接");
    readOnly(reason);
  }

  var send = live.send;

  // --- what the server says ---------------------------------------------------------------------

  var shown = {};   // message id → node
  var outbox = [];  // own messages not yet echoed: {clientId, body, node}

  function handle(data) {
    switch (data.event) {
      case "hello":
        live.ok();
        setConn("online", "已连接");
        me = data.me || me;
        applyGroup(data.group || {});
        rebuild(data.messages || []);
        resend();
        break;
      case "message":
        addMessage(data.message);
        scrollDown(data.message && data.message.member === me.member);
        break;
      case "member":
        if (data.member === me.member) {
          if (data.change === "muted") me.muted = true;
          if (data.change === "unmuted") me.muted = false;
          if (data.change === "removed") return stop("您已被移出群组");
          me.may_post = !me.muted && groupOpen;
          paintComposer();
        }
        if (!guest) document.body.dispatchEvent(new CustomEvent("group-members-changed"));
        break;
      case "group":
        applyGroup(data);
        break;
      case "error":
        failOwn(data.client_id);
        toast(data.detail || "操作未成功，请稍后重试");
        break;
    }
  }

  function applyGroup(group) {
    if (group.name && ui.name) ui.name.textContent = group.name;
    if (group.topic !== undefined && ui.topic) ui.topic.textContent = group.topic;
    if (group.state) {
      groupOpen = group.state === "open";
      if (ui.state) {
        ui.state.textContent = group.state_label || "";
        ui.state.className = "badge gc-state gc-state-" + group.state;
      }
      if (!groupOpen) me.may_post = false;
    }
    paintComposer();
  }

  function readOnly(text) {
    ui.readonly.textContent = text;
    ui.readonly.hidden = false;
    ui.composer.hidden = true;
  }

  function paintComposer() {
    if (live.stopped()) return;
    if (!groupOpen) return readOnly("群组已关闭，记录仅供查阅");
    if (me.member === null || me.member === undefined) return readOnly("您不是群组成员，仅可查阅");
    if (me.muted) return readOnly("您已被禁言，暂时不能发言");
    ui.readonly.hidden = true;
    ui.composer.hidden = false;
    autosize();
  }

  function rebuild(messages) {
    ui.messages.textContent = "";
    shown = {};
    messages.forEach(addMessage);
    outbox.forEach(function (item) { ui.messages.appendChild(item.node); });
    scrollDown(true);
  }

  function resend() {
    outbox.forEach(function (item) {
      setOwn(item, "pending");
      send({ type: "message", body: item.body, client_id: item.clientId });
    });
  }

  function bubble(m) {
    var box = el("div", "gc-bubble");
    if (m.image) {
      box.classList.add("gc-bubble-image");
      var link = el("a");
      link.href = m.image;
      link.target = "_blank";
      link.rel = "noopener";
      var img = el("img");
      img.src = m.image;
      img.alt = "图片";
      img.addEventListener("load", function () { scrollDown(false); });
      link.appendChild(img);
      box.appendChild(link);
    }
    if (m.body) box.appendChild(el("div", "gc-text", m.body));
    return box;
  }

  function row(m, mine) {
    var line = el("div", "gc-row " + (mine ? "gc-row-me" : "gc-row-other"));
    if (!mine) {
      // a work number ("1001号客服") is not a name: staff then show as 客
      var first = (m.sender || "?").charAt(0);
      var avatar = el("span", "gc-avatar gc-avatar-" + (m.guest ? "guest" : "staff"),
        /[0-9]/.test(first) ? "客" : first);
      line.appendChild(avatar);
    }
    var col = el("div", "gc-col");
    if (!mine) {
      var who = el("div", "gc-sender", m.sender || "");
      if (m.affiliation) who.appendChild(el("span", "gc-affiliation", m.affiliation));
      col.appendChild(who);
    }
    col.appendChild(bubble(m));
    var meta = el("div", "gc-meta");
    meta.appendChild(el("span", "gc-time", timeOf(m.at)));
    if (mine) meta.appendChild(el("span", "gc-status"));
    col.appendChild(meta);
    line.appendChild(col);
    return line;
  }

  function addMessage(m) {
    if (!m || shown[m.id]) return;
    var node;
    if (m.kind === "notice") {
      node = el("div", "gc-notice", (m.sender || "") + " " + m.body + " · " + timeOf(m.at));
    } else if (me.member !== null && m.member === me.member) {
      var own = m.client_id && outbox.filter(function (i) { return i.clientId === m.client_id; })[0];
      if (own) {
        outbox.splice(outbox.indexOf(own), 1);
        setOwn(own, "sent");
        own.node.dataset.id = m.id;
        shown[m.id] = own.node;
        if (!own.node.isConnected) ui.messages.appendChild(own.node);
        return;
      }
      node = row(m, true);
    } else {
      node = row(m, false);
    }
    node.dataset.id = m.id;
    shown[m.id] = node;
    ui.messages.appendChild(node);
  }

  var STATUS = { pending: "发送中", sent: "", failed: "发送失败，点击重发" };
  function setOwn(item, state) {
    item.state = state;
    var status = item.node.querySelector(".gc-status");
    if (status) {
      status.textContent = STATUS[state];
      status.dataset.state = state;
    }
    item.node.classList.toggle("gc-failed", state === "failed");
  }

  function failOwn(clientId) {
    outbox.forEach(function (item) {
      if (item.clientId === clientId && item.state === "pending") setOwn(item, "failed");
    });
  }

  // --- writing -------------------------------------------------------------------------------

  function submit() {
    var body = ui.input.value.trim();
    if (!body || live.stopped()) return;
    var item = { clientId: H.uid(), body: body };
    item.node = row({ body: body }, true);
    item.node.classList.add("gc-local");
    outbox.push(item);
    setOwn(item, "pending");
    ui.messages.appendChild(item.node);
    ui.input.value = "";
    autosize();
    scrollDown(true);
    send({ type: "message", body: body, client_id: item.clientId });
  }

  ui.messages.addEventListener("click", function (event) {
    var status = event.target.closest('.gc-status[data-state="failed"]');
    if (!status) return;
    var node = status.closest(".gc-row");
    var item = outbox.filter(function (i) { return i.node === node; })[0];
    if (!item) return;
    setOwn(item, "pending");
    send({ type: "message", body: item.body, client_id: item.clientId });
  });

  var autosize = H.dom.composer(ui.input, ui.send, submit, live.stopped);

  // --- images ---------------------------------------------------------------------------------

  ui.file.addEventListener("change", function () {
    var file = ui.file.files && ui.file.files[0];
    ui.file.value = "";
    if (!file) return;
    if (!/\.(jpe?g|png)$/i.test(file.name)) return toast("只能发送 jpg、png 格式的图片");
    if (file.size > 10 * 1024 * 1024) return toast("图片超过 10 MB，无法发送");
    var form = new FormData();
    form.append("file", file);
    ui.file.disabled = true;
    H.request("POST", cfg.upload, form, {
      headers: guest ? { "X-Group-Token": cfg.token } : {},
      citizen: guest,
    })
      .catch(function (error) {
        toast(error.status ? error.detail : "网络异常，发送失败");
      })
      .then(function () { ui.file.disabled = false; });
  });

  autosize();
  live.connect();
})();
