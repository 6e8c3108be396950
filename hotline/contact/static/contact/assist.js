/* 会话协助 (contact/desk/assist.html): the chats the signed-in person was invited into
 * (多方会话) — a colleague, back-office staff or a handling unit's staff member. The
 * list comes from GET /api/contact/assists, a chat from GET …/sessions/{id}; one writes
 * with POST …/sessions/{id}/messages and leaves with DELETE …/participants/{me}.
 *
 * Live over /ws/desk/: the page joins ``desk.<me>`` (an invitation arrives as
 * {"event":"participant", joined:true}) and watches each invited session
 * ({"type":"watch_session"}) for its messages, facts (its end) and rating.
 *
 * CSP-safe: no inline script or style; people's text goes in through textContent only.
 */
(function () {
  "use strict";

  var root = document.getElementById("ca");
  if (!root) return;
  var D = root.dataset;
  var ME = Number(D.me);
  var REFRESH_EVERY = 20000;

  var H = window.Hotline; // web/static/js/app.js
  var $ = H.dom.$, el = H.dom.el, icon = H.dom.icon, clear = H.dom.clear;
  var timeOf = H.time.hhmm;

  function api(method, path, body) { return H.request(method, D.api + path, body); }

  function toast(text, level) { H.toast($("cd-toasts"), text, level); }

  function failed(error) { toast(H.errorText(error)); }

  // --- the invited sessions ---------------------------------------------------------------
  var chats = {}; // session id → {brief, detail, log, nodes, tab}
  var order = [];
  var activeId = null;

  function citizenName(brief) { return brief.citizen_name || brief.channel_label + "访客"; }

  async function refresh() {
    var data;
    try {
      data = await api("GET", "assists");
    } catch (error) {
      if (error.status !== 0) failed(error);
      return;
    }
    var seen = {};
    data.sessions.forEach(function (brief) {
      seen[brief.id] = true;
      if (!chats[brief.id]) {
        var log = el("div", "cd-log");
        log.setAttribute("role", "log");
        log.setAttribute("aria-live", "polite");
        log.setAttribute("aria-label", "会话记录");
        chats[brief.id] = { brief: brief, detail: null, log: log, nodes: {}, tab: null };
        order.push(brief.id);
        watch(brief.id);
        load(brief.id);
      } else {
        chats[brief.id].brief = brief;
      }
    });
    order.slice().forEach(function (id) { if (!seen[id]) drop(id); });
    if (activeId === null && order.length) activeId = order[0];
    renderList();
    renderChat();
  }

  function drop(id) {
    delete chats[id];
    order = order.filter(function (x) { return x !== id; });
    send({ type: "unwatch_session", id: id });
    if (activeId === id) activeId = order.length ? order[0] : null;
  }

  function renderList() {
    var list = clear($("ca-list"));
    order.forEach(function (id) {
      var c = chats[id];
      var node = el("button", "cd-tab cd-st-active" + (id === activeId ? " active" : ""));
      node.type = "button";
      node.setAttribute("role", "tab");
      node.setAttribute("aria-selected", id === activeId ? "true" : "false");
      node.dataset.session = String(id);
      var top = el("span", "cd-tab-top");
      top.appendChild(el("span", "cd-tab-name", citizenName(c.brief)));
      node.appendChild(top);
      var sub = el("span", "cd-tab-sub");
      sub.appendChild(el("span", "cd-tab-channel", c.brief.channel_label));
      sub.appendChild(el("span", "cd-tab-state", c.brief.state_label));
      node.appendChild(sub);
      node.appendChild(el("span", "cd-tab-last", c.brief.subject || " "));
      node.addEventListener("click", function () {
        activeId = id;
        renderList();
        renderChat();
      });
      list.appendChild(node);
    });
    $("ca-count").textContent = String(order.length);
    $("ca-empty").hidden = order.length > 0;
  }

  async function load(id) {
    try {
      var detail = await api("GET", "sessions/" + id);
      var c = chats[id];
      if (!c) return;
      c.detail = detail;
      detail.messages.forEach(function (m) { put(c, m); });
      if (id === activeId) renderChat();
    } catch (error) {
      if (error.status === 404) refresh();
      else if (error.status !== 0) failed(error);
    }
  }

  function messageNode(m) {
    if (m.kind === "event") {
      var notice = el("div", "cd-msg cd-msg-event");
      var line = el("div", "cd-event");
      line.appendChild(icon("info-circle"));
      line.appendChild(el("span", "cd-event-text", m.body));
      line.appendChild(el("time", "cd-msg-time", timeOf(m.at)));
      notice.appendChild(line);
      return notice;
    }
    var out = m.direction === "out";
    var node = el("div", "cd-msg " + (out ? "cd-msg-out" : "cd-msg-in"));
    var meta = el("div", "cd-msg-meta");
    var who = out ? (m.sender === D.meName ? "我" : m.sender || "坐席") : "来电人";
    meta.appendChild(el("span", "cd-msg-sender", who));
    meta.appendChild(el("time", "cd-msg-time", timeOf(m.at)));
    node.appendChild(meta);
    var bubble = el("div", "cd-bubble");
    var link = H.dom.sitePath(m.attachment);
    if (link) {
      var a = el("a", m.kind === "image" ? "cd-image" : "cd-file");
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener";
      if (m.kind === "image") {
        var img = el("img");
        img.src = link;
        img.alt = m.attachment_name || "图片";
        a.appendChild(img);
      } else {
        a.appendChild(icon("file-earmark"));
        a.appendChild(el("span", "", m.attachment_name || "文件"));
      }
      bubble.appendChild(a);
      if (m.body) bubble.appendChild(el("div", "cd-caption", m.body));
    } else {
      bubble.textContent = m.body;
    }
    node.appendChild(bubble);
    return node;
  }

  function put(c, m) {
    if (!m || typeof m.id !== "number" || c.nodes[m.id]) return false;
    var node = messageNode(m);
    node.dataset.id = String(m.id);
    c.nodes[m.id] = node;
    var after = null;
    Object.keys(c.nodes).forEach(function (key) {
      var id = Number(key);
      if (id > m.id && (after === null || id < after)) after = id;
    });
    var bottom = H.dom.nearBottom(c.log, 80);
    if (after !== null) c.log.insertBefore(node, c.nodes[after]);
    else c.log.appendChild(node);
    if (bottom) c.log.scrollTop = c.log.scrollHeight;
    return true;
  }

  function renderChat() {
    var c = activeId !== null ? chats[activeId] : null;
    $("ca-chat-empty").hidden = !!c;
    $("ca-chat").hidden = !c;
    if (!c) {
      clear($("ca-log-host"));
      return;
    }
    var b = c.brief;
    var d = c.detail || {};
    $("ca-name").textContent = citizenName(b);
    var tags = clear($("ca-tags"));
    tags.appendChild(el("span", "tag tag-kind", b.channel_label));
    tags.appendChild(el("span", "tag cd-tag-state cd-st-" + b.state, b.state_label));
    var meta = [b.ref];
    var mine = (d.participants || []).filter(function (p) { return p.user === ME && !p.left_at; })[0];
    if (mine && mine.invited_by) meta.push("邀请人：" + mine.invited_by);
    if (mine) meta.push("来电人看到您为：" + mine.shown_as);
    $("ca-meta").textContent = meta.join(" · ");
    var party = clear($("ca-party"));
    var others = (d.participants || []).filter(function (p) { return !p.left_at; });
    party.hidden = !others.length && !d.satisfaction;
    if (others.length) {
      party.appendChild(icon("people"));
      party.appendChild(el("span", "cd-party-title", "多方会话"));
      others.forEach(function (p) {
        var chip = el("span", "cd-party-chip cd-party-" + p.role);
        chip.appendChild(el("span", "cd-party-role", p.role_label));
        chip.appendChild(el("span", "cd-party-name", p.user === ME ? "我" : p.name + (p.unit ? "（" + p.unit + "）" : "")));
        party.appendChild(chip);
      });
    }
    if (d.satisfaction) {
      var rated = el("span", "cd-party-rated");
      rated.appendChild(icon("star-fill"));
      rated.appendChild(document.createTextNode("来电人评价：" + d.satisfaction));
      party.appendChild(rated);
    }
    var host = $("ca-log-host");
    if (host.firstChild !== c.log) {
      clear(host).appendChild(c.log);
      c.log.scrollTop = c.log.scrollHeight;
    }
  }

  // --- writing and leaving ------------------------------------------------------------------
  var input = $("ca-input");
  var sending = false;

  async function submit() {
    var c = chats[activeId];
    var body = input.value;
    if (!c || sending || !body.trim()) return;
    sending = true;
    $("ca-send").disabled = true;
    try {
      var message = await api("POST", "sessions/" + activeId + "/messages", { body: body });
      if (input.value === body) input.value = "";
      put(c, message);
      c.log.scrollTop = c.log.scrollHeight;
    } catch (error) {
      failed(error);
      if (error.status === 409 || error.status === 403 || error.status === 404) refresh();
    } finally {
      sending = false;
      $("ca-send").disabled = false;
      input.focus();
    }
  }

  $("ca-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  H.dom.enterSends(input, submit);

  $("ca-leave").addEventListener("click", async function () {
    var id = activeId;
    if (id === null || !window.confirm("确定退出该会话吗？退出后不能再查看和回复。")) return;
    this.disabled = true;
    try {
      await api("DELETE", "sessions/" + id + "/participants/" + ME);
      toast("您已退出会话", "ok");
      drop(id);
      renderList();
      renderChat();
    } catch (error) {
      failed(error);
    } finally {
      this.disabled = false;
    }
  });

  // --- the socket -------------------------------------------------------------------------
  var connected = false;

  function setLink(state, text) {
    var link = $("cd-link");
    link.dataset.link = state;
    link.querySelector(".cd-link-text").textContent = text;
  }

  var live = H.socket({
    path: function () { return D.socket; },
    onEvent: onEvent,
    onClose: function (code) {
      connected = false;
      if (code === 4401 || code === 4403) {
        live.stop();
        setLink("dead", code === 4401 ? "登录已失效，请刷新页面" : "无权接收实时消息");
      }
    },
    onRetry: function (delay) {
      setLink("down", "连接已断开，" + Math.ceil(delay / 1000) + " 秒后重连");
    },
  });

  function send(data) { live.send(data); }

  function watch(id) { send({ type: "watch_session", id: id }); }

  function onEvent(data) {
    var c = chats[data.session];
    switch (data.event) {
      case "ready":
        live.ok();
        connected = true;
        setLink("ok", "实时连接正常");
        order.forEach(watch);
        refresh();
        order.forEach(load);
        break;
      case "message":
        if (c && put(c, data.message) && data.session !== activeId) {
          toast(citizenName(c.brief) + "的会话有新消息", "ok");
        }
        break;
      case "participant":
        if (data.user === ME) {
          if (data.joined) toast("您被邀请加入一个会话", "ok");
          else if (c) toast("您已离开会话 " + c.brief.ref, "ok");
          refresh();
        } else if (c) {
          load(data.session);
        }
        break;
      case "fact":
        if (c && (data.kind === "ended" || data.kind === "transferred")) refresh();
        break;
      case "rated":
        if (c) {
          if (c.detail) c.detail.satisfaction = data.satisfaction;
          if (data.session === activeId) renderChat();
        }
        break;
      default:
        break;
    }
  }

  window.setInterval(function () { if (!connected) refresh(); }, REFRESH_EVERY);
  refresh();
  live.connect();
})();
