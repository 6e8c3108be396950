/* 坐席工作台 (the agent workbench): state bar, queue counts, session tabs with their
 * transcripts and composer, the citizen's screen pop, the knowledge base, transfer, end
 * and summary, supervisors' announcements.
 *
 * Everything comes from the workbench API (hotline/contact/api_desk.py) and is kept live
 * by the /ws/desk/ socket (hotline/contact/consumers.py):
 *   {"event":"agent", presence, activity, reason, state, since, …}  → the state bar
 *   {"event":"fact", kind, session, …}                               → the tab list
 *   {"event":"message", session, message:{…}}                        → a transcript
 *   {"event":"delivery", session, message, delivery, error}          → a message's state
 *   {"event":"announcement", id, title, body, level, until, sender}  → the notices
 *   {"event":"announcement_withdrawn", id}                           → one notice less
 *   {"event":"participant", session, user, name, role, joined}       → who is in (多方会话)
 *   {"event":"rated", session, satisfaction}                         → the citizen rated
 * Actions go through the HTTP API (audited, CSRF-checked): the socket only listens.
 *
 * CSP-safe: no inline script or style, no eval; addresses come in data-* attributes of
 * #cd. Text from people (citizens, agents, articles) goes in through textContent only;
 * a link is followed only if it is a path on this site.
 */
(function () {
  "use strict";

  var root = document.getElementById("cd");
  if (!root) return;
  var D = root.dataset;
  var ME = Number(D.me);

  var DELIVERY = {
    pending: "待发送",
    sent: "已发送",
    delivered: "已送达",
    failed: "发送失败",
    retrying: "重试中",
    dead: "发送失败",
  };
  // A small fixed set (no network); most of them also have a plain glyph in common fonts
  // for machines without a colour-emoji font.
  var EMOJI = [
    "👍", "🙏", "😊", "😀", "😃", "😄", "😁", "😉", "😌", "😅",
    "😂", "😍", "😋", "😎", "😐", "😔", "😟", "😢", "😭", "😮",
    "😳", "😷", "☺️", "❤️", "★", "☀️", "☕", "✔️", "✌️", "✉️",
    "☎️", "⚠️",
  ];
  var REFRESH_EVERY = 15000;
  var FINAL_CODES = [4401, 4403];

  // --- small helpers (the shared ones: web/static/js/app.js) -----------------------------
  var H = window.Hotline;
  var $ = H.dom.$, el = H.dom.el, icon = H.dom.icon, clear = H.dom.clear;
  var sitePath = H.dom.sitePath;
  var now = H.time.now, parseTime = H.time.parse, pad = H.time.pad, clock = H.time.clock;
  var dateOf = H.time.date;
  var request = H.request;

  function button(className, label, iconName) {
    var node = el("button", className);
    node.type = "button";
    if (iconName) node.appendChild(icon(iconName));
    node.appendChild(el("span", "", label));
    return node;
  }

  function maskPhone(number) {
    // As hotline/core/masking.py: the full number is a permission (phone.reveal).
    var digits = String(number || "").trim();
    if (digits.length >= 11) return digits.slice(0, 3) + "****" + digits.slice(-4);
    if (digits.length >= 7) {
      return digits.slice(0, 2) + "*".repeat(digits.length - 6) + digits.slice(-4);
    }
    return "*".repeat(digits.length);
  }

  function longClock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    return pad(Math.floor(seconds / 3600)) + ":" + pad(Math.floor((seconds % 3600) / 60)) +
      ":" + pad(seconds % 60);
  }

  function spoken(seconds) {
    seconds = Math.max(0, Math.round(seconds || 0));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    if (h) return h + " 小时 " + m + " 分";
    if (m) return m + " 分 " + (seconds % 60) + " 秒";
    return seconds + " 秒";
  }

  // today: "09:05"; another day: "5月3日 09:05"
  function timeOf(value) {
    var t = parseTime(value);
    if (t === null) return "";
    return new Date(t).toDateString() === new Date(now()).toDateString()
      ? H.time.hhmm(value) : H.time.dayTime(value);
  }

  function api(method, path, body) { return request(method, D.api + path, body); }

  function toast(text, level) { return H.toast($("cd-toasts"), text, level); }

  function failed(error) { toast(H.errorText(error)); }

  // --- state ------------------------------------------------------------------------------
  var desk = null; // the last GET desk answer (presence, queues, today)
  var fetchedAt = 0; // when ``desk`` was read (for the ticking longest waits)
  var tabs = {}; // session id → tab
  var order = []; // session ids in tab order
  var activeId = null;
  var firstSync = true;

  // --- the state bar ----------------------------------------------------------------------
  function renderBar() {
    if (!desk) return;
    var p = desk.presence;
    var state = $("cd-state");
    state.dataset.presence = p.presence;
    state.dataset.activity = p.activity;
    $("cd-state-label").textContent = p.state;
    var signedIn = p.presence !== "signed_out";
    var busy = p.activity === "in_session" || p.activity === "offering";
    root.querySelectorAll("[data-state-event]").forEach(function (b) {
      var event = b.dataset.stateEvent;
      var enabled = false;
      if (event === "sign_in") enabled = !signedIn;
      else if (event === "ready") {
        enabled = signedIn && (p.presence !== "ready" || p.activity === "wrap_up");
      } else if (event === "not_ready") {
        enabled = signedIn && !(p.presence === "not_ready" && p.reason === b.dataset.reason);
        b.classList.toggle("active", p.presence === "not_ready" && p.reason === b.dataset.reason);
      } else if (event === "sign_out") enabled = signedIn && !busy;
      b.disabled = !enabled;
    });
    $("cd-busy").disabled = !signedIn;
    var emptyText = !signedIn ? "您已签出。点击“签入”开始接待。"
      : p.presence === "ready" ? "正在等待分配会话……新的会话会在这里打开。"
        : "您当前示忙，不会分配新会话；点击“示闲”继续接待。";
    $("cd-chat-empty-text").textContent = emptyText;
    tick();
  }

  function renderToday() {
    if (!desk) return;
    var t = desk.today || {};
    $("cd-today-answered").textContent = String(t.answered || 0);
    $("cd-today-talk").textContent = spoken(t.talk_seconds);
    $("cd-today-util").textContent = ((t.utilisation || 0) * 100).toFixed(1) + "%";
  }

  function renderQueues() {
    if (!desk) return;
    var box = clear($("cd-queues"));
    if (!desk.queues.length) {
      box.appendChild(el("span", "cd-muted", "您不在任何队列中（请联系班长配置技能）"));
      return;
    }
    desk.queues.forEach(function (q) {
      var chip = el("div", "cd-queue" + (q.waiting ? " cd-queue-hot" : ""));
      chip.dataset.queue = String(q.queue);
      chip.appendChild(el("span", "cd-queue-name", q.name));
      var waiting = el("span", "cd-queue-fig");
      waiting.appendChild(document.createTextNode("排队 "));
      waiting.appendChild(el("b", "tnum cd-queue-waiting", q.waiting));
      chip.appendChild(waiting);
      var longest = el("span", "cd-queue-fig");
      longest.appendChild(document.createTextNode("最长 "));
      var wait = el("b", "tnum cd-queue-longest", q.waiting ? clock(q.longest_wait) : "–");
      wait.dataset.base = String(q.waiting ? q.longest_wait : -1);
      longest.appendChild(wait);
      chip.appendChild(longest);
      var ready = el("span", "cd-queue-fig");
      ready.appendChild(document.createTextNode("示闲坐席 "));
      ready.appendChild(el("b", "tnum", q.agents_ready));
      chip.appendChild(ready);
      box.appendChild(chip);
    });
  }

  async function changeState(event, reason) {
    try {
      var presence = await api("POST", "agent/state", { event: event, reason: reason || "busy" });
      if (desk) desk.presence = presence;
      renderBar();
      scheduleRefresh(300);
    } catch (error) {
      failed(error);
    }
  }

  root.querySelectorAll("[data-state-event]").forEach(function (b) {
    b.addEventListener("click", function () {
      changeState(b.dataset.stateEvent, b.dataset.reason);
    });
  });

  // --- reading the desk -------------------------------------------------------------------
  var refreshTimer = null;
  var refreshing = false;

  function scheduleRefresh(delay) {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refreshDesk, delay === undefined ? 400 : delay);
  }

  async function refreshDesk() {
    window.clearTimeout(refreshTimer);
    if (refreshing) {
      scheduleRefresh(500);
      return;
    }
    refreshing = true;
    try {
      desk = await api("GET", "desk");
      fetchedAt = Date.now();
      renderBar();
      renderToday();
      renderQueues();
      syncTabs(desk.sessions);
    } catch (error) {
      if (error.status !== 0) failed(error);
    } finally {
      refreshing = false;
    }
  }

  // --- session tabs -----------------------------------------------------------------------
  function store(kind, id) { return "cd-" + kind + "-" + id; }

  function remember(kind, id, value) {
    try {
      if (value) window.sessionStorage.setItem(store(kind, id), value);
      else window.sessionStorage.removeItem(store(kind, id));
    } catch (e) { /* private mode: drafts live in memory only */ }
  }

  function recall(kind, id) {
    try {
      return window.sessionStorage.getItem(store(kind, id)) || "";
    } catch (e) {
      return "";
    }
  }

  function newTab(brief) {
    var log = el("div", "cd-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "会话记录");
    var legs = el("div", "cd-legs");
    log.appendChild(legs);
    var tab; // (below) the log follows new messages while the agent reads at its end
    log.addEventListener("scroll", function () { if (tab) tab.stick = H.dom.nearBottom(log, 80); });
    var node = el("button", "cd-tab");
    node.type = "button";
    node.setAttribute("role", "tab");
    node.dataset.session = String(brief.id);
    node.addEventListener("click", function () { activate(brief.id); });
    tab = {
      id: brief.id,
      stick: true,
      brief: brief,
      detail: null,
      messages: {},
      nodes: {},
      log: log,
      legs: legs,
      node: node,
      unread: 0,
      last: null, // the last message of the citizen or an agent (the preview, 待回复)
      draft: recall("draft", brief.id),
      summary: recall("summary", brief.id),
      flashing: false,
    };
    return tab;
  }

  function syncTabs(sessions) {
    var seen = {};
    sessions.forEach(function (brief) {
      seen[brief.id] = true;
      var tab = tabs[brief.id];
      if (!tab) {
        tab = tabs[brief.id] = newTab(brief);
        order.push(brief.id);
        loadSession(tab);
        loadProfile(tab); // the VIP mark and in-transit orders on the tab itself
        if (!firstSync) announce(tab);
      } else {
        var changed = tab.brief.state !== brief.state;
        tab.brief = brief;
        if (changed) loadSession(tab);
      }
    });
    order.slice().forEach(function (id) {
      if (!seen[id]) dropTab(id);
    });
    firstSync = false;
    if (activeId === null && order.length) activate(order[0]);
    renderTabs();
    if (activeId !== null) renderChat();
  }

  function dropTab(id) {
    var tab = tabs[id];
    if (!tab) return;
    tab.node.remove();
    delete tabs[id];
    order = order.filter(function (x) { return x !== id; });
    remember("draft", id, "");
    remember("summary", id, "");
    if (activeId === id) {
      activeId = null;
      if (order.length) activate(order[0]);
      else renderChat();
    }
    renderTabs();
  }

  function stateClass(state) { return "cd-st-" + String(state).replace(/[^a-z_]/g, ""); }

  function citizenName(brief) {
    return brief.citizen_name || "来电人";
  }

  function renderTab(tab) {
    var b = tab.brief;
    var node = clear(tab.node);
    node.className = "cd-tab " + stateClass(b.state) +
      (tab.id === activeId ? " active" : "") + (tab.flashing ? " cd-tab-flash" : "");
    node.setAttribute("aria-selected", tab.id === activeId ? "true" : "false");
    var top = el("span", "cd-tab-top");
    top.appendChild(el("span", "cd-tab-name", citizenName(b)));
    if (tab.vip) {
      var star = el("span", "cd-vip-mark");
      star.title = "重点来电人";
      star.appendChild(icon("star-fill"));
      top.appendChild(star);
    }
    if (b.emergency) top.appendChild(el("span", "cd-urgent", "紧急"));
    if (tab.unread && tab.id !== activeId) {
      var badge = el("span", "cd-badge tnum", tab.unread > 99 ? "99+" : tab.unread);
      badge.title = tab.unread + " 条未读";
      top.appendChild(badge);
    }
    node.appendChild(top);
    var sub = el("span", "cd-tab-sub");
    sub.appendChild(el("span", "cd-tab-channel", b.channel_label));
    sub.appendChild(el("span", "cd-tab-state", b.state_label));
    var wait = el("span", "cd-tab-wait tnum");
    wait.dataset.waitFor = String(tab.id);
    sub.appendChild(wait);
    node.appendChild(sub);
    var preview = tab.last ? previewOf(tab.last) : (b.subject || "");
    node.appendChild(el("span", "cd-tab-last", preview || " "));
    tickTab(tab, now());
    return node;
  }

  function previewOf(m) {
    var who = m.direction === "in" ? "" : !m.sender || m.sender === D.meName ? "我：" : m.sender + "：";
    if (m.kind === "image") return who + "[图片]";
    if (m.kind === "file") return who + "[文件] " + (m.attachment_name || "");
    if (m.kind === "location") return who + "[位置] " + m.body;
    return who + m.body;
  }

  function renderTabs() {
    var list = $("cd-tab-list");
    order.forEach(function (id) {
      var node = renderTab(tabs[id]);
      list.appendChild(node); // appending again keeps the order of ``order``
    });
    $("cd-tab-count").textContent = String(order.length);
    $("cd-tabs-empty").hidden = order.length > 0;
    tickTabs();
  }

  function activate(id) {
    var tab = tabs[id];
    if (!tab) return;
    if (activeId !== null && tabs[activeId]) saveDrafts(tabs[activeId]);
    var changed = activeId !== id;
    activeId = id;
    tab.unread = 0;
    tab.flashing = false;
    renderTabs();
    renderChat(changed);
    if (changed) {
      $("cd-input").value = tab.draft;
      $("cd-summary").value = tab.summary;
      $("cd-summary").classList.remove("is-invalid");
      loadProfile(tab);
    }
  }

  function saveDrafts(tab) {
    tab.draft = $("cd-input").value;
    tab.summary = $("cd-summary").value;
    remember("draft", tab.id, tab.draft);
    remember("summary", tab.id, tab.summary);
  }

  // A new session: the tab flashes (no sound), and the window title while unseen.
  var titleTimer = null;
  var baseTitle = document.title;

  function announce(tab) {
    tab.flashing = true;
    window.setTimeout(function () {
      tab.flashing = false;
      if (tabs[tab.id]) renderTab(tab);
    }, 8000);
    if (activeId === null) activate(tab.id);
    if (document.hidden && titleTimer === null) {
      var on = false;
      titleTimer = window.setInterval(function () {
        on = !on;
        document.title = on ? "【新会话】" + baseTitle : baseTitle;
      }, 900);
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && titleTimer !== null) {
      window.clearInterval(titleTimer);
      titleTimer = null;
      document.title = baseTitle;
    }
  });

  // --- one session ------------------------------------------------------------------------
  async function loadSession(tab) {
    try {
      var detail = await api("GET", "sessions/" + tab.id);
      if (!tabs[tab.id]) return;
      tab.detail = detail;
      renderLegs(tab);
      detail.messages.forEach(function (m) { putMessage(tab, m, false); });
      if (tab.id === activeId) renderInvited();
      if (tab.id === activeId) {
        renderChat();
        scrollDown(tab, true);
      }
      renderTab(tab);
    } catch (error) {
      if (error.status === 404) dropTab(tab.id);
      else if (error.status !== 0) failed(error);
    }
  }

  function renderLegs(tab) {
    var box = clear(tab.legs);
    (tab.detail.legs || []).forEach(function (leg) {
      if (!leg.summary) return;
      var item = el("div", "cd-leg");
      item.appendChild(icon("arrow-left-right"));
      var text = el("div", "cd-leg-text");
      text.appendChild(el("strong", "", (leg.end || "转接") + " · " + leg.agent + "的小结"));
      text.appendChild(el("span", "cd-leg-summary", leg.summary));
      if (leg.note) text.appendChild(el("span", "cd-leg-summary", "转接备注：" + leg.note));
      item.appendChild(text);
      box.appendChild(item);
    });
    // 通话录音: each play is audited on the server
    (tab.detail.recordings || []).forEach(function (recording) {
      var item = el("div", "cd-leg cd-recording");
      item.appendChild(icon("mic"));
      var text = el("div", "cd-leg-text");
      var minutes = Math.floor(recording.seconds / 60);
      var seconds = Math.round(recording.seconds % 60);
      text.appendChild(
        el("strong", "", "通话录音 · " + recording.agent + " · " + minutes + " 分 " + seconds + " 秒")
      );
      var player = document.createElement("audio");
      player.controls = true;
      player.preload = "none";
      player.src = recording.url;
      text.appendChild(player);
      item.appendChild(text);
      box.appendChild(item);
    });
    renderParties(tab, box);
  }

  // 通话加入方: 班长监听 and 12345–110 联动 — the linkage record stays on the session
  function renderParties(tab, box) {
    var parties = tab.detail.parties || [];
    parties.forEach(function (party) {
      var item = el("div", "cd-leg cd-party-call");
      item.appendChild(icon({ outside: "shield-exclamation", agent: "telephone-forward" }[party.kind] || "headset"));
      var text = el("div", "cd-leg-text");
      var title = {
        outside: "联动转接 · " + party.who + "（" + party.mode_label + "）",
        agent: "咨询转接 · " + party.who,
        supervisor: "值班长" + party.mode_label + " · " + party.who,
      }[party.kind];
      text.appendChild(el("strong", "", title));
      var line = party.state_label + (party.result ? "：" + party.result : "");
      text.appendChild(el("span", "cd-leg-summary", line));
      item.appendChild(text);
      var open = ["requested", "ringing", "connected"].indexOf(party.state) >= 0;
      if (party.kind === "agent" && open) {
        var tools = el("div", "cd-consult-tools");
        [["complete", "完成转接", "btn-primary"], ["cancel", "取消咨询", "btn-outline-secondary"]].forEach(function (b) {
          var button = el("button", "btn btn-sm " + b[2], b[1]);
          button.type = "button";
          button.dataset.consult = b[0];
          button.dataset.party = String(party.id);
          button.disabled = b[0] === "complete" && party.state !== "connected";
          tools.appendChild(button);
        });
        item.appendChild(tools);
      }
      box.appendChild(item);
    });
    var open = parties.some(function (p) { return ["requested", "ringing", "connected"].indexOf(p.state) >= 0; });
    clearTimeout(tab.partiesTimer);
    if (open) tab.partiesTimer = setTimeout(function () { if (tabs[tab.id]) loadSession(tab); }, 2000);
  }

  function scrollDown(tab, force) {
    if (force || tab.stick) tab.log.scrollTop = tab.log.scrollHeight;
  }

  function messageNode(m) {
    var mine = m.direction === "out" && m.kind !== "event";
    if (m.kind === "event") {
      var notice = el("div", "cd-msg cd-msg-event");
      notice.dataset.id = String(m.id);
      var line = el("div", "cd-event");
      line.appendChild(icon("info-circle"));
      line.appendChild(el("span", "cd-event-text", m.body));
      line.appendChild(el("time", "cd-msg-time", timeOf(m.at)));
      notice.appendChild(line);
      return notice;
    }
    var node = el("div", "cd-msg " + (mine ? "cd-msg-out" : "cd-msg-in"));
    node.dataset.id = String(m.id);
    var meta = el("div", "cd-msg-meta");
    var who = mine ? (m.sender || "坐席") : (tabs[m.session] ? citizenName(tabs[m.session].brief) : "来电人");
    meta.appendChild(el("span", "cd-msg-sender", who));
    meta.appendChild(el("time", "cd-msg-time", timeOf(m.at)));
    node.appendChild(meta);
    var bubble = el("div", "cd-bubble");
    var link = sitePath(m.attachment);
    if (m.kind === "image" && link) {
      var a = el("a", "cd-image");
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener";
      a.title = "查看原图";
      var img = el("img");
      img.src = link;
      img.alt = m.attachment_name || "图片";
      img.loading = "lazy";
      img.addEventListener("load", function () {
        var tab = tabs[m.session];
        if (tab) scrollDown(tab);
      });
      a.appendChild(img);
      bubble.appendChild(a);
    } else if ((m.kind === "file" || m.kind === "image") && link) {
      var f = el("a", "cd-file");
      f.href = link;
      f.target = "_blank";
      f.rel = "noopener";
      f.appendChild(icon("file-earmark"));
      f.appendChild(el("span", "", m.attachment_name || "文件"));
      bubble.appendChild(f);
    } else if (m.kind === "location") {
      bubble.appendChild(icon("geo-alt"));
      bubble.appendChild(el("span", "", m.body));
    } else {
      bubble.textContent = m.body;
    }
    if (m.body && (m.kind === "image" || m.kind === "file")) {
      bubble.appendChild(el("div", "cd-caption", m.body));
    }
    node.appendChild(bubble);
    if (m.direction === "out") {
      var d = el("div", "cd-delivery");
      node.appendChild(d);
      setDelivery(node, m.delivery);
    }
    return node;
  }

  function setDelivery(node, delivery) {
    var d = node.querySelector(".cd-delivery");
    if (!d) return;
    d.className = "cd-delivery cd-dl-" + String(delivery || "pending").replace(/[^a-z]/g, "");
    d.textContent = DELIVERY[delivery] || delivery || "";
  }

  // Adds (or updates) a message in a tab; returns true when it was new. ``onlyNew``: the
  // answer to our own POST, which may come after the socket already said "已发送".
  function putMessage(tab, m, live, onlyNew) {
    var known = tab.messages[m.id];
    if (known && onlyNew) return false;
    tab.messages[m.id] = m;
    if (known) {
      if (tab.nodes[m.id]) setDelivery(tab.nodes[m.id], m.delivery);
      return false;
    }
    var node = messageNode(m);
    tab.nodes[m.id] = node;
    // in id order: a message caught up after a reconnect goes where it belongs
    var after = null;
    Object.keys(tab.nodes).forEach(function (key) {
      var id = Number(key);
      if (id > m.id && (after === null || id < after)) after = id;
    });
    if (after !== null) tab.log.insertBefore(node, tab.nodes[after]);
    else tab.log.appendChild(node);
    // the preview and 待回复 follow the conversation, not the system's notices
    if (m.kind !== "event" && (!tab.last || m.id > tab.last.id)) tab.last = m;
    if (live && m.direction === "in" && tab.id !== activeId) tab.unread += 1;
    if (live && m.direction === "in" && tab.id === activeId && document.hidden) tab.unread += 1;
    scrollDown(tab);
    return true;
  }

  // --- the chat pane ----------------------------------------------------------------------
  function renderChat(switched) {
    var tab = activeId !== null ? tabs[activeId] : null;
    $("cd-chat-empty").hidden = !!tab;
    $("cd-chat-body").hidden = !tab;
    $("cd-kb-from-chat").disabled = !tab;
    if (!tab) {
      clear($("cd-log-host"));
      renderEmptyProfile();
      return;
    }
    var b = tab.brief;
    $("cd-chat-name").textContent = citizenName(b);
    var tags = clear($("cd-chat-tags"));
    if (tab.vip) {
      var vip = el("span", "tag cd-tag-vip");
      vip.appendChild(icon("star-fill"));
      vip.appendChild(document.createTextNode("重点来电人"));
      tags.appendChild(vip);
    }
    if (b.emergency) tags.appendChild(el("span", "tag cd-tag-urgent", "紧急"));
    tags.appendChild(el("span", "tag tag-kind", b.channel_label));
    tags.appendChild(el("span", "tag cd-tag-state " + stateClass(b.state), b.state_label));
    if (tab.transit) tags.appendChild(el("span", "tag cd-tag-transit", "在途工单 " + tab.transit));
    var meta = [b.ref];
    if (b.queue) meta.push(b.queue);
    if (b.channel === "voice" || b.channel === "sms") meta.push(maskPhone(b.address));
    $("cd-chat-meta").textContent = meta.join(" · ");

    var host = $("cd-log-host");
    if (host.firstChild !== tab.log) {
      clear(host).appendChild(tab.log);
      scrollDown(tab, switched);
    }
    var offered = b.state === "offered";
    var active = b.state === "active";
    var wrapUp = b.state === "wrap_up";
    $("cd-offer").hidden = !offered;
    $("cd-end").hidden = !active;
    $("cd-transfer-open").hidden = !active;
    var text = b.channel !== "voice";
    var hold = $("cd-hold");
    hold.hidden = !active || text;
    hold.querySelector("span").textContent = b.held_at ? "恢复通话" : "保持";
    hold.classList.toggle("active", Boolean(b.held_at));
    $("cd-linkage-open").hidden = !active || text;
    $("cd-invite-open").hidden = !active || !text;
    renderRate(tab);
    renderParty(tab);
    var orderLink = $("cd-order");
    orderLink.href = D.orderNew + "?session=" + encodeURIComponent(String(b.id));
    var input = $("cd-input");
    input.disabled = offered;
    input.placeholder = offered ? "接起会话后即可回复" : wrapUp
      ? "会话已结束；如来电人又发来消息，仍可在此回复"
      : "输入回复，Enter 发送，Shift+Enter 换行";
    $("cd-send").disabled = offered;
    ["cd-emoji-open", "cd-image-open", "cd-file-open"].forEach(function (id) {
      $(id).disabled = offered;
    });
    $("cd-composer").classList.toggle("cd-composer-quiet", wrapUp);
    $("cd-wrap").hidden = !wrapUp;
    scrollDown(tab); // the log may have shrunk (the summary box): keep its end in view
    tick();
  }

  // --- composing --------------------------------------------------------------------------
  var input = $("cd-input");
  var sending = false;

  // the answer to the agent's own message: shown at once, the log following it
  function showSent(tab, message) {
    tab.stick = true;
    putMessage(tab, message, false, true);
    scrollDown(tab, true);
    renderTab(tab);
  }

  async function send() {
    var tab = tabs[activeId];
    var body = input.value;
    if (!tab || sending || !body.trim()) return;
    sending = true;
    $("cd-send").disabled = true;
    try {
      var message = await api("POST", "sessions/" + tab.id + "/messages", { body: body });
      if (input.value === body) input.value = "";
      tab.draft = input.value;
      remember("draft", tab.id, tab.draft);
      showSent(tab, message);
    } catch (error) {
      failed(error);
    } finally {
      sending = false;
      $("cd-send").disabled = tabs[activeId] ? tabs[activeId].brief.state === "offered" : true;
      input.focus();
    }
  }

  $("cd-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });

  H.dom.enterSends(input, send);

  input.addEventListener("input", function () {
    var tab = tabs[activeId];
    if (tab) {
      tab.draft = input.value;
      remember("draft", tab.id, tab.draft);
    }
  });

  function insertText(text) {
    var start = input.selectionStart === undefined ? input.value.length : input.selectionStart;
    var end = input.selectionEnd === undefined ? input.value.length : input.selectionEnd;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    var at = start + text.length;
    input.focus();
    input.setSelectionRange(at, at);
    input.dispatchEvent(new Event("input"));
  }

  async function upload(file) {
    var tab = tabs[activeId];
    if (!tab || !file) return;
    var form = new FormData();
    form.append("file", file, file.name || "截图.png");
    var note = toast("正在发送“" + (file.name || "截图") + "”……", "ok");
    try {
      showSent(tab, await api("POST", "sessions/" + tab.id + "/files", form));
    } catch (error) {
      failed(error);
    } finally {
      note.remove();
    }
  }

  $("cd-image-open").addEventListener("click", function () { $("cd-image").click(); });
  $("cd-file-open").addEventListener("click", function () { $("cd-file").click(); });
  ["cd-image", "cd-file"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      var file = this.files && this.files[0];
      this.value = "";
      upload(file);
    });
  });

  // 即时截图: an image pasted into the composer is sent as a picture
  input.addEventListener("paste", function (event) {
    var items = event.clipboardData ? event.clipboardData.files : null;
    if (!items || !items.length || !/^image\/(png|jpeg)$/.test(items[0].type)) return;
    event.preventDefault();
    var file = items[0];
    var ext = file.type === "image/png" ? ".png" : ".jpg";
    var stamp = new Date();
    var name = "截图" + stamp.getFullYear() + pad(stamp.getMonth() + 1) + pad(stamp.getDate()) +
      pad(stamp.getHours()) + pad(stamp.getMinutes()) + pad(stamp.getSeconds()) + ext;
    upload(new File([file], name, { type: file.type }));
  });

  // the emoji picker: a fixed set, no network
  var picker = $("cd-emoji");
  EMOJI.forEach(function (e) {
    var b = el("button", "cd-emoji-item", e);
    b.type = "button";
    b.setAttribute("role", "option");
    b.setAttribute("aria-label", "表情 " + e);
    b.addEventListener("click", function () {
      insertText(e);
      showPicker(false);
    });
    picker.appendChild(b);
  });

  function showPicker(show) {
    picker.hidden = !show;
    $("cd-emoji-open").setAttribute("aria-expanded", show ? "true" : "false");
  }

  $("cd-emoji-open").addEventListener("click", function (event) {
    event.stopPropagation();
    showPicker(picker.hidden);
  });
  document.addEventListener("click", function (event) {
    if (!picker.hidden && !picker.contains(event.target)) showPicker(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !picker.hidden) showPicker(false);
  });

  // --- accept, end, summary ---------------------------------------------------------------
  function applySession(tab, detail) {
    tab.detail = detail;
    tab.brief = Object.assign({}, tab.brief, detail);
    delete tab.brief.messages;
    delete tab.brief.legs;
    detail.messages.forEach(function (m) { putMessage(tab, m, false); });
    renderLegs(tab);
    renderTab(tab);
    if (tab.id === activeId) renderChat();
  }

  $("cd-accept").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    this.disabled = true;
    try {
      applySession(tab, await api("POST", "sessions/" + tab.id + "/accept"));
      input.focus();
      scheduleRefresh();
    } catch (error) {
      failed(error);
      scheduleRefresh(0);
    } finally {
      this.disabled = false;
    }
  });

  // 保持 / 恢复通话 (voice): the media node plays the caller music meanwhile
  $("cd-hold").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    this.disabled = true;
    try {
      var on = !tab.brief.held_at;
      applySession(tab, await api("POST", "sessions/" + tab.id + "/hold", { on: on }));
      toast(on ? "通话已保持，来电人正在听等待音乐" : "已恢复通话", "ok");
    } catch (error) {
      failed(error);
    } finally {
      this.disabled = false;
    }
  });

  $("cd-end").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    this.disabled = true;
    try {
      applySession(tab, await api("POST", "sessions/" + tab.id + "/end"));
      $("cd-summary").focus();
      scheduleRefresh();
    } catch (error) {
      failed(error);
    } finally {
      this.disabled = false;
    }
  });

  $("cd-summary").addEventListener("input", function () {
    var tab = tabs[activeId];
    if (tab) {
      tab.summary = this.value;
      remember("summary", tab.id, tab.summary);
    }
    this.classList.remove("is-invalid");
  });

  $("cd-wrap").addEventListener("submit", async function (event) {
    event.preventDefault();
    var tab = tabs[activeId];
    if (!tab) return;
    var area = $("cd-summary");
    var summary = area.value.trim();
    if (!summary) {
      area.classList.add("is-invalid");
      $("cd-summary-error").textContent = "请填写会话小结";
      area.focus();
      return;
    }
    $("cd-close").disabled = true;
    try {
      await api("POST", "sessions/" + tab.id + "/close", { summary: summary });
      area.value = "";
      dropTab(tab.id);
      toast("会话小结已保存，会话已关闭", "ok");
      scheduleRefresh(0);
    } catch (error) {
      if (error.status === 422) {
        area.classList.add("is-invalid");
        $("cd-summary-error").textContent = error.detail;
      } else {
        failed(error);
      }
    } finally {
      $("cd-close").disabled = false;
    }
  });

  // --- the screen pop (弹屏) --------------------------------------------------------------
  var profiles = {}; // citizen id → {at, data}

  function renderEmptyProfile() {
    var box = clear($("cd-profile"));
    box.appendChild(el("p", "cd-muted", "打开一个会话后，这里显示来电人档案、历史接触和工单。"));
  }

  var profileLoads = {}; // citizen id → the read under way

  function fetchProfile(citizen) {
    var cached = profiles[citizen];
    if (cached && Date.now() - cached.at < 30000) return Promise.resolve(cached.data);
    if (!profileLoads[citizen]) {
      profileLoads[citizen] = api("GET", "citizens/" + citizen).then(function (data) {
        profiles[citizen] = { at: Date.now(), data: data };
        return data;
      }).finally(function () { delete profileLoads[citizen]; });
    }
    return profileLoads[citizen];
  }

  async function loadProfile(tab) {
    var citizen = tab.brief.citizen;
    function shown() { return activeId === tab.id && !!tabs[tab.id]; }
    if (!citizen) {
      if (shown()) clear($("cd-profile")).appendChild(el("p", "cd-muted", "未识别到来电人档案。"));
      return;
    }
    if (profiles[citizen] && shown()) renderProfile(tab, profiles[citizen].data);
    try {
      var data = await fetchProfile(citizen);
      if (!tabs[tab.id]) return;
      tab.vip = !!data.is_vip;
      tab.transit = data.orders.filter(function (o) { return o.in_transit; }).length;
      renderTab(tab);
      if (shown()) {
        renderProfile(tab, data);
        renderChat();
      }
    } catch (error) {
      if (shown()) {
        clear($("cd-profile")).appendChild(el("p", "cd-muted", error.detail || "档案读取失败"));
      }
    }
  }

  function section(box, title, count) {
    var head = el("h3", "cd-pop-title", title);
    if (count !== undefined) head.appendChild(el("span", "cd-count", count));
    box.appendChild(head);
  }

  function orderRow(o) {
    var row = el("li", "cd-pop-order" + (o.in_transit ? " cd-in-transit" : ""));
    var top = el("div", "cd-pop-row");
    var a = el("a", "cd-order-no tnum", o.number);
    a.href = sitePath(D.order.replace("__number__", encodeURIComponent(o.number)));
    a.target = "_blank";
    a.rel = "noopener";
    top.appendChild(a);
    top.appendChild(el("span", "tag " + (o.in_transit ? "cd-tag-transit" : "tag-muted"), o.state_label));
    row.appendChild(top);
    row.appendChild(el("div", "cd-pop-text", o.title));
    row.appendChild(el("div", "cd-pop-date tnum", dateOf(o.created_at)));
    return row;
  }

  function renderProfile(tab, p) {
    var box = clear($("cd-profile"));
    var head = el("div", "cd-pop-head");
    var name = el("div", "cd-pop-name", p.name || "未留姓名");
    if (p.gender) name.appendChild(el("span", "cd-pop-gender", p.gender));
    head.appendChild(name);
    if (p.is_vip) {
      var vip = el("span", "tag cd-tag-vip");
      vip.appendChild(icon("star-fill"));
      vip.appendChild(document.createTextNode("重点来电人"));
      head.appendChild(vip);
    }
    box.appendChild(head);
    var facts = el("dl", "cd-pop-facts");
    function fact(label, value) {
      if (!value) return;
      facts.appendChild(el("dt", "", label));
      facts.appendChild(el("dd", "", value));
    }
    (p.identities || []).forEach(function (i) {
      fact(i.kind_label, i.kind === "phone" || i.kind === "fax" ? maskPhone(i.value)
        : i.kind === "webchat" ? "访客 " + String(i.value).slice(0, 8) : i.value);
    });
    fact("常用地址", p.address);
    fact("备注", p.note);
    box.appendChild(facts);

    var transit = p.orders.filter(function (o) { return o.in_transit; });
    var done = p.orders.filter(function (o) { return !o.in_transit; });
    section(box, "在途工单", transit.length);
    if (transit.length) {
      var list = el("ul", "cd-pop-list");
      transit.forEach(function (o) { list.appendChild(orderRow(o)); });
      box.appendChild(list);
    } else {
      box.appendChild(el("p", "cd-muted cd-pop-none", "没有在办的工单"));
    }
    if (done.length) {
      section(box, "历史工单", done.length);
      var old = el("ul", "cd-pop-list");
      done.slice(0, 10).forEach(function (o) { old.appendChild(orderRow(o)); });
      box.appendChild(old);
    }
    var past = p.sessions.filter(function (s) { return s.id !== tab.id; });
    section(box, "历史接触", past.length);
    if (past.length) {
      var contacts = el("ul", "cd-pop-list");
      past.slice(0, 10).forEach(function (s) {
        var row = el("li", "cd-pop-contact");
        var top = el("div", "cd-pop-row");
        top.appendChild(el("span", "cd-pop-date tnum", timeOf(s.offered_at || s.answered_at) || s.ref));
        top.appendChild(el("span", "tag tag-kind", s.channel_label));
        top.appendChild(el("span", "tag tag-muted", s.state_label));
        row.appendChild(top);
        if (s.subject) row.appendChild(el("div", "cd-pop-text", s.subject));
        contacts.appendChild(row);
      });
      box.appendChild(contacts);
    } else {
      box.appendChild(el("p", "cd-muted cd-pop-none", "首次来电"));
    }
  }

  // --- the knowledge base -----------------------------------------------------------------
  function markedSnippet(html) {
    // The API's snippet is escaped text with <mark>; rebuild it from text nodes only.
    var frag = document.createDocumentFragment();
    var doc = new DOMParser().parseFromString("<div>" + (html || "") + "</div>", "text/html");
    doc.body.firstChild.childNodes.forEach(function (n) {
      if (n.nodeType === 1 && n.nodeName === "MARK") frag.appendChild(el("mark", "", n.textContent));
      else frag.appendChild(document.createTextNode(n.textContent));
    });
    return frag;
  }

  async function kbSearch(q) {
    q = (q || "").trim();
    var box = $("cd-kb-results");
    if (!q) return;
    $("cd-kb-q").value = q;
    clear(box).appendChild(el("p", "cd-muted", "正在检索……"));
    try {
      var data = await request("GET", D.kbSearch + "?limit=8&q=" + encodeURIComponent(q));
      clear(box);
      if (data.notice) box.appendChild(el("p", "cd-kb-notice", data.notice));
      if (!data.items.length) {
        box.appendChild(el("p", "cd-muted", "没有找到与“" + q + "”相关的知识。"));
        return;
      }
      var list = el("ol", "cd-kb-list");
      data.items.forEach(function (item) {
        var li = el("li", "cd-kb-item");
        var title = el("a", "cd-kb-title", item.title);
        title.href = sitePath(D.kbRead.replace(/\/0\/$/, "/" + Number(item.id) + "/"));
        title.target = "_blank";
        title.rel = "noopener";
        li.appendChild(title);
        var snippet = el("div", "cd-kb-snippet");
        snippet.appendChild(markedSnippet(item.snippet));
        li.appendChild(snippet);
        var foot = el("div", "cd-kb-foot");
        foot.appendChild(el("span", "cd-kb-cat", item.category));
        var snip = button("btn btn-link btn-sm cd-kb-insert", "插入摘要", "text-left");
        snip.addEventListener("click", function () { insertFromKb(snippet.textContent); });
        foot.appendChild(snip);
        var answer = button("btn btn-link btn-sm cd-kb-insert", "插入答复", "reply");
        answer.addEventListener("click", function () { insertAnswer(item.id, answer); });
        foot.appendChild(answer);
        li.appendChild(foot);
        list.appendChild(li);
      });
      box.appendChild(list);
      var more = el("a", "cd-kb-more", "共 " + data.total + " 条 · 在知识检索中查看全部");
      more.href = sitePath(D.kbPage) + "?q=" + encodeURIComponent(q);
      more.target = "_blank";
      more.rel = "noopener";
      box.appendChild(more);
    } catch (error) {
      clear(box).appendChild(el("p", "cd-muted", error.detail || "检索失败"));
    }
  }

  function insertFromKb(text) {
    var tab = tabs[activeId];
    if (!tab || tab.brief.state === "offered") {
      toast("请先打开并接起一个会话，再插入答复");
      return;
    }
    text = String(text || "").replace(/\s+\n/g, "\n").trim();
    if (input.value && !/\n$/.test(input.value)) text = "\n" + text;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    insertText(text);
  }

  async function insertAnswer(id, control) {
    control.disabled = true;
    try {
      var article = await request("GET", D.kbArticle.replace(/\/0$/, "/" + Number(id)));
      var text = String(article.body_text || "").trim();
      if (text.length > 1500) text = text.slice(0, 1500) + "……";
      insertFromKb(text);
    } catch (error) {
      failed(error);
    } finally {
      control.disabled = false;
    }
  }

  $("cd-kb-form").addEventListener("submit", function (event) {
    event.preventDefault();
    kbSearch($("cd-kb-q").value);
  });

  $("cd-kb-from-chat").addEventListener("click", function () {
    var tab = tabs[activeId];
    if (!tab) return;
    var asked = "";
    Object.keys(tab.messages).map(Number).sort(function (a, b) { return a - b; })
      .forEach(function (id) {
        var m = tab.messages[id];
        if (m.direction === "in" && m.kind === "text" && m.body.trim()) asked = m.body.trim();
      });
    kbSearch((asked || tab.brief.subject || "").slice(0, 100));
  });

  // --- 邀请评价 and 多方会话 (the rating request; colleagues and units invited in) -------------
  function renderRate(tab) {
    var b = tab.brief;
    var d = tab.detail || {};
    var button = $("cd-rate");
    button.hidden = b.state !== "active" || b.channel === "voice";
    var label = button.querySelector("span");
    if (d.satisfaction) {
      label.textContent = "已评价：" + d.satisfaction;
      button.disabled = true;
    } else {
      label.textContent = d.rating_requested_at ? "再次邀请评价" : "邀请评价";
      button.disabled = false;
    }
  }

  function present(tab) {
    var d = tab.detail || {};
    return (d.participants || []).filter(function (p) { return !p.left_at; });
  }

  function personLabel(p) {
    return p.name + (p.unit ? "（" + p.unit + "）" : "");
  }

  function renderParty(tab) {
    var box = clear($("cd-party"));
    var people = present(tab);
    var d = tab.detail || {};
    box.hidden = !people.length && !d.satisfaction;
    if (box.hidden) return;
    if (people.length) {
      box.appendChild(icon("people"));
      box.appendChild(el("span", "cd-party-title", "多方会话"));
      people.forEach(function (p) {
        var chip = el("span", "cd-party-chip cd-party-" + p.role);
        chip.appendChild(el("span", "cd-party-role", p.role_label));
        chip.appendChild(el("span", "cd-party-name", personLabel(p)));
        chip.title = "来电人看到：" + p.shown_as;
        box.appendChild(chip);
      });
    }
    if (d.satisfaction) {
      var rated = el("span", "cd-party-rated");
      rated.appendChild(icon("star-fill"));
      rated.appendChild(document.createTextNode("来电人评价：" + d.satisfaction));
      box.appendChild(rated);
    }
  }

  function onParticipant(data) {
    var tab = tabs[data.session];
    if (!tab) return;
    loadSession(tab);
    if (data.role === "invited") {
      toast((data.name || "受邀人员") + (data.joined ? "已加入会话" : "已离开会话"), "ok");
    }
  }

  function onRated(data) {
    var tab = tabs[data.session];
    if (!tab) return;
    if (tab.detail) tab.detail.satisfaction = data.satisfaction;
    if (tab.id === activeId) renderChat();
    toast("来电人已评价：" + data.satisfaction, "ok");
  }

  $("cd-rate").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    this.disabled = true;
    try {
      applySession(tab, await api("POST", "sessions/" + tab.id + "/rating-request"));
      toast("已向来电人发送满意度评价窗口", "ok");
    } catch (error) {
      failed(error);
      loadSession(tab);
    } finally {
      if (tabs[activeId] === tab) renderRate(tab);
    }
  });

  var inviteSearch = 0; // the latest search (an older answer arriving late is dropped)

  async function findPeople(q) {
    var tab = tabs[activeId];
    if (!tab) return;
    var mine = ++inviteSearch;
    var box = clear($("cd-invite-list"));
    box.appendChild(el("p", "cd-muted", "正在查找……"));
    try {
      var people = await api("GET", "sessions/" + tab.id + "/invite-candidates?q=" +
        encodeURIComponent(q || ""));
      if (mine !== inviteSearch) return;
      clear(box);
      if (!people.length) {
        box.appendChild(el("p", "cd-muted", q ? "没有找到“" + q + "”，请换个关键词。" : "没有可邀请的人员。"));
        return;
      }
      var list = el("ul", "cd-invite-people");
      people.forEach(function (p) {
        var row = el("li", "cd-invite-person");
        var who = el("div", "cd-invite-who");
        who.appendChild(el("span", "cd-invite-name", p.name));
        who.appendChild(el("span", "tag " + (p.kind === "unit" ? "cd-tag-unit" : "tag-kind"),
          p.kind === "unit" ? p.unit : p.kind_label));
        var meta = [];
        if (p.employee_no) meta.push("工号 " + p.employee_no);
        if (p.team) meta.push(p.team);
        if (p.state) meta.push(p.state);
        if (meta.length) who.appendChild(el("span", "cd-invite-meta", meta.join(" · ")));
        row.appendChild(who);
        var go = button("btn btn-sm btn-outline-primary cd-invite-go", "邀请", "person-plus");
        go.dataset.user = String(p.id);
        go.addEventListener("click", function () { invite(p, go); });
        row.appendChild(go);
        list.appendChild(row);
      });
      box.appendChild(list);
    } catch (error) {
      if (mine === inviteSearch) clear(box).appendChild(el("p", "cd-muted", error.detail));
    }
  }

  async function invite(person, control) {
    var tab = tabs[activeId];
    if (!tab) return;
    control.disabled = true;
    formError("cd-invite-error", "");
    try {
      await api("POST", "sessions/" + tab.id + "/participants", { user: person.id });
      toast("已邀请" + personLabel(person) + "加入会话", "ok");
      control.closest("li").remove();
      await loadSession(tab);
    } catch (error) {
      formError("cd-invite-error", error.detail);
      control.disabled = false;
    }
  }

  function renderInvited() {
    var tab = tabs[activeId];
    var box = clear($("cd-invite-in"));
    var people = tab ? present(tab) : [];
    if (!people.length) {
      box.appendChild(el("p", "cd-muted", "暂无其他参与人。"));
      return;
    }
    people.forEach(function (p) {
      var row = el("div", "cd-invite-person");
      var who = el("div", "cd-invite-who");
      who.appendChild(el("span", "cd-invite-name", personLabel(p)));
      who.appendChild(el("span", "tag tag-muted", p.role_label));
      who.appendChild(el("span", "cd-invite-meta", "来电人看到：" + p.shown_as));
      row.appendChild(who);
      if (p.role === "invited") {
        var out = button("btn btn-sm btn-outline-danger", "移出", "person-dash");
        out.addEventListener("click", async function () {
          out.disabled = true;
          try {
            await api("DELETE", "sessions/" + tab.id + "/participants/" + p.user);
            toast(personLabel(p) + "已移出会话", "ok");
            await loadSession(tab);
          } catch (error) {
            formError("cd-invite-error", error.detail);
            out.disabled = false;
          }
        });
        row.appendChild(out);
      }
      box.appendChild(row);
    });
  }

  $("cd-invite-open").addEventListener("click", function () {
    if (!tabs[activeId]) return;
    formError("cd-invite-error", "");
    $("cd-invite-q").value = "";
    renderInvited();
    var m = modal("cd-invite");
    if (m) m.show();
    findPeople("");
  });

  $("cd-invite-form").addEventListener("submit", function (event) {
    event.preventDefault();
    findPeople($("cd-invite-q").value.trim());
  });

  // --- transfer / escalate ------------------------------------------------------------------
  var transferModal = null;

  function modal(id) {
    return window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance($(id)) : null;
  }

  function transferMode() {
    var checked = document.querySelector("#cd-transfer-form input[name=mode]:checked");
    return checked ? checked.value : "queue";
  }

  function showMode() {
    var mode = transferMode();
    $("cd-target-queue").hidden = mode !== "queue";
    $("cd-target-agent").hidden = mode !== "agent";
    $("cd-target-leader").hidden = mode !== "leader";
    // 咨询转接: a call can be talked over with the colleague first
    var tab = tabs[activeId];
    $("cd-consult-submit").hidden = mode !== "agent" || !tab || tab.brief.channel !== "voice";
  }

  $("cd-consult-submit").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    var chosen = document.querySelector("#cd-transfer-agents input:checked");
    if (!chosen) return formError("cd-transfer-error", "请选择要咨询的坐席");
    var summary = $("cd-transfer-summary").value.trim();
    if (!summary) {
      formError("cd-transfer-error", "转接前请填写会话小结");
      $("cd-transfer-summary").focus();
      return;
    }
    this.disabled = true;
    try {
      var party = await voiceApi("POST", "sessions/" + tab.id + "/consult", { agent: Number(chosen.value) });
      tab.consultSummary = summary;
      if (transferModal) transferModal.hide();
      toast("来电人正在听等待音乐，正在呼叫" + party.who + "的话机", "ok");
      loadSession(tab);
      scheduleRefresh(0);
    } catch (error) {
      formError("cd-transfer-error", error.detail);
    } finally {
      this.disabled = false;
    }
  });

  // 完成转接 / 取消咨询 on the consultation's row
  document.addEventListener("click", async function (event) {
    var button = event.target.closest("[data-consult]");
    if (!button) return;
    var tab = tabs[activeId];
    if (!tab) return;
    button.disabled = true;
    try {
      if (button.dataset.consult === "complete") {
        var done = await voiceApi("POST", "parties/" + button.dataset.party + "/complete", {
          summary: tab.consultSummary || $("cd-summary").value.trim() || "咨询后转接",
        });
        dropTab(tab.id);
        toast("已转接给" + done.agent, "ok");
        scheduleRefresh(0);
      } else {
        await voiceApi("POST", "parties/" + button.dataset.party + "/end");
        toast("已取消咨询，来电人回到您的通话", "ok");
        loadSession(tab);
        scheduleRefresh(0);
      }
    } catch (error) {
      failed(error);
      button.disabled = false;
    }
  });

  document.querySelectorAll("#cd-transfer-form input[name=mode]").forEach(function (r) {
    r.addEventListener("change", showMode);
  });

  function formError(id, text) {
    var box = $(id);
    box.textContent = text || "";
    box.hidden = !text;
  }

  // --- 12345–110 联动 ---------------------------------------------------------------------------
  var linkageModal = null;
  function voiceApi(method, path, body) { return request(method, D.voiceApi + path, body); }

  $("cd-linkage-open").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    formError("cd-linkage-error", "");
    var list = clear($("cd-linkage-targets"));
    list.appendChild(el("p", "cd-muted", "正在读取……"));
    linkageModal = modal("cd-linkage");
    if (linkageModal) linkageModal.show();
    try {
      var targets = await voiceApi("GET", "linkage-targets");
      clear(list);
      targets.forEach(function (t, index) {
        var id = "cd-linkage-" + index;
        var row = el("div", "form-check form-check-inline cd-linkage-target");
        var radio = el("input", "form-check-input");
        radio.type = "radio";
        radio.name = "linkage_number";
        radio.id = id;
        radio.value = t.number;
        radio.checked = index === 0;
        var label = el("label", "form-check-label");
        label.htmlFor = id;
        label.appendChild(el("strong", "", t.number));
        label.appendChild(document.createTextNode(" " + t.name));
        row.appendChild(radio);
        row.appendChild(label);
        list.appendChild(row);
      });
    } catch (error) {
      formError("cd-linkage-error", error.detail);
    }
  });

  $("cd-linkage-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var tab = tabs[activeId];
    if (!tab) return;
    var number = document.querySelector("#cd-linkage-targets input:checked");
    if (!number) return formError("cd-linkage-error", "请选择一个联动号码");
    var mode = document.querySelector("#cd-linkage-form input[name=linkage_mode]:checked").value;
    $("cd-linkage-submit").disabled = true;
    try {
      var party = await voiceApi("POST", "sessions/" + tab.id + "/linkage", { number: number.value, mode: mode });
      if (linkageModal) linkageModal.hide();
      toast("正在呼叫 " + party.who + "（" + party.mode_label + "）", "ok");
      loadSession(tab);
    } catch (error) {
      formError("cd-linkage-error", error.detail);
    } finally {
      $("cd-linkage-submit").disabled = false;
    }
  });

  $("cd-transfer-open").addEventListener("click", async function () {
    var tab = tabs[activeId];
    if (!tab) return;
    formError("cd-transfer-error", "");
    $("cd-transfer-summary").value = $("cd-summary").value || tab.summary || "";
    $("cd-transfer-note").value = "";
    var queues = clear($("cd-transfer-queue"));
    var agents = clear($("cd-transfer-agents"));
    agents.appendChild(el("p", "cd-muted", "正在读取……"));
    showMode();
    transferModal = modal("cd-transfer");
    if (transferModal) transferModal.show();
    try {
      var targets = await api("GET", "transfer-targets");
      targets.queues.forEach(function (q) {
        var option = el("option", "", q.name);
        option.value = String(q.id);
        queues.appendChild(option);
      });
      clear(agents);
      if (!targets.agents.length) {
        agents.appendChild(el("p", "cd-muted", "当前没有其他签入的坐席。"));
      }
      // who has room first, in the API's (name) order
      targets.agents.slice().sort(function (x, y) {
        return (y.has_room ? 1 : 0) - (x.has_room ? 1 : 0);
      }).forEach(function (a) {
        var id = "cd-agent-" + a.id;
        var row = el("div", "form-check cd-agent" + (a.has_room ? "" : " cd-agent-full"));
        var radio = el("input", "form-check-input");
        radio.type = "radio";
        radio.name = "to_agent";
        radio.id = id;
        radio.value = String(a.id);
        radio.disabled = !a.has_room;
        var label = el("label", "form-check-label");
        label.htmlFor = id;
        label.appendChild(el("span", "cd-agent-name", a.name));
        label.appendChild(el("span", "tag tag-muted", a.state));
        label.appendChild(el("span", "tag " + (a.has_room ? "tag-ok" : "cd-tag-full"),
          a.has_room ? "可接入" : "已满"));
        row.appendChild(radio);
        row.appendChild(label);
        agents.appendChild(row);
      });
    } catch (error) {
      formError("cd-transfer-error", error.detail);
    }
  });

  $("cd-transfer-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var tab = tabs[activeId];
    if (!tab) return;
    var mode = transferMode();
    var payload = {
      summary: $("cd-transfer-summary").value.trim(),
      note: $("cd-transfer-note").value.trim(),
    };
    if (mode === "queue") {
      payload.to_queue = Number($("cd-transfer-queue").value) || null;
      if (!payload.to_queue) return formError("cd-transfer-error", "请选择目标队列");
    } else if (mode === "agent") {
      var chosen = document.querySelector("#cd-transfer-agents input:checked");
      if (!chosen) return formError("cd-transfer-error", "请选择有空余接待能力的坐席");
      payload.to_agent = Number(chosen.value);
    } else {
      payload.to_leader = true;
    }
    if (!payload.summary) {
      formError("cd-transfer-error", "转接前请填写会话小结");
      $("cd-transfer-summary").focus();
      return;
    }
    $("cd-transfer-submit").disabled = true;
    try {
      await api("POST", "sessions/" + tab.id + "/transfer", payload);
      if (transferModal) transferModal.hide();
      $("cd-summary").value = "";
      dropTab(tab.id);
      toast(mode === "leader" ? "会话已升级至班长" : "会话已转接", "ok");
      scheduleRefresh(0);
    } catch (error) {
      formError("cd-transfer-error", error.detail);
    } finally {
      $("cd-transfer-submit").disabled = false;
    }
  });

  // --- 状态设置 -------------------------------------------------------------------------------
  $("cd-settings-open").addEventListener("click", function () {
    if (!desk) return;
    var p = desk.presence;
    formError("cd-settings-error", "");
    $("cd-set-capacity").value = p.text_capacity;
    $("cd-set-wrap").checked = p.wrap_up_enabled;
    $("cd-set-wrap-seconds").value = p.wrap_up_seconds;
    $("cd-set-after-ready").checked = p.after_wrap_up !== "not_ready";
    $("cd-set-after-busy").checked = p.after_wrap_up === "not_ready";
    $("cd-set-auto").checked = p.auto_accept;
    $("cd-set-phone").value = p.phone_uri || "";
    syncWrapFields();
    var m = modal("cd-settings");
    if (m) m.show();
  });

  function syncWrapFields() {
    $("cd-set-wrap-seconds").disabled = !$("cd-set-wrap").checked;
  }
  $("cd-set-wrap").addEventListener("change", syncWrapFields);

  $("cd-settings-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var capacity = Number($("cd-set-capacity").value);
    var seconds = Number($("cd-set-wrap-seconds").value);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 20) {
      return formError("cd-settings-error", "文字会话并发上限须在 1–20 之间");
    }
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 3600) {
      return formError("cd-settings-error", "整理时长须在 0–3600 秒之间");
    }
    try {
      var presence = await api("PATCH", "agent/settings", {
        text_capacity: capacity,
        wrap_up_enabled: $("cd-set-wrap").checked,
        wrap_up_seconds: seconds,
        after_wrap_up: $("cd-set-after-busy").checked ? "not_ready" : "ready",
        auto_accept: $("cd-set-auto").checked,
        phone_uri: $("cd-set-phone").value.trim(),
      });
      if (desk) desk.presence = presence;
      renderBar();
      var m = modal("cd-settings");
      if (m) m.hide();
      toast("状态设置已保存", "ok");
    } catch (error) {
      formError("cd-settings-error", error.detail);
    }
  });

  // --- announcements (公告) ---------------------------------------------------------------
  var notices = {}; // id → announcement
  var DISMISSED = "cd-dismissed-announcements";

  function dismissed() {
    try {
      return JSON.parse(window.localStorage.getItem(DISMISSED) || "[]");
    } catch (e) {
      return [];
    }
  }

  function dismiss(id) {
    var list = dismissed().filter(function (x) { return x !== id; });
    list.push(id);
    try {
      window.localStorage.setItem(DISMISSED, JSON.stringify(list.slice(-200)));
    } catch (e) { /* the banner still goes, for this page */ }
    delete notices[id];
    renderNotices();
  }

  function putNotice(a, fresh) {
    if (!a || a.id === undefined || a.id === null) return;
    var id = String(a.id);
    if (dismissed().indexOf(id) !== -1) return;
    notices[id] = {
      id: id,
      title: String(a.title || "公告"),
      body: String(a.body || ""),
      level: a.level === "warning" ? "warning" : "info",
      until: a.until || null,
      sender: String(a.sender || ""),
      fresh: !!fresh,
    };
  }

  function renderNotices() {
    var box = clear($("cd-notices"));
    var t = now();
    var items = Object.keys(notices).map(function (k) { return notices[k]; })
      .filter(function (a) {
        var until = parseTime(a.until);
        return until === null || until > t;
      })
      .sort(function (a, b) {
        return (a.level === b.level ? 0 : a.level === "warning" ? -1 : 1) ||
          (b.id > a.id ? 1 : -1);
      });
    box.hidden = !items.length;
    items.forEach(function (a) {
      var row = el("div", "cd-notice cd-notice-" + a.level + (a.fresh ? " cd-notice-fresh" : ""));
      row.setAttribute("role", a.level === "warning" ? "alert" : "status");
      row.appendChild(icon(a.level === "warning" ? "exclamation-triangle" : "megaphone"));
      var text = el("div", "cd-notice-text");
      text.appendChild(el("strong", "cd-notice-title", a.title));
      if (a.body) text.appendChild(el("span", "cd-notice-body", a.body));
      var meta = [];
      if (a.sender) meta.push(a.sender);
      if (a.until) meta.push("有效至 " + timeOf(a.until));
      if (meta.length) text.appendChild(el("span", "cd-notice-meta", meta.join(" · ")));
      row.appendChild(text);
      var close = el("button", "btn-close");
      close.type = "button";
      close.setAttribute("aria-label", "知道了，关闭公告");
      close.title = "知道了";
      close.addEventListener("click", function () { dismiss(a.id); });
      row.appendChild(close);
      a.fresh = false;
      box.appendChild(row);
    });
  }

  async function loadNotices() {
    try {
      var data = await api("GET", "announcements");
      notices = {};
      (data && data.items ? data.items : []).forEach(function (a) { putNotice(a, false); });
      renderNotices();
    } catch (error) {
      // 404: announcements are not offered on this installation; nothing to show
    }
  }

  // --- the socket -------------------------------------------------------------------------
  var pingTimer = null;
  var everConnected = false;

  function setLink(state, text) {
    var link = $("cd-link");
    if (!link) return;
    link.dataset.link = state;
    link.querySelector(".cd-link-text").textContent = text;
  }

  var live = H.socket({
    path: function () { return D.socket; },
    onConnecting: function () {
      setLink("connecting", everConnected ? "正在重新连接……" : "正在连接……");
    },
    onEvent: onEvent,
    onClose: function (code) {
      window.clearInterval(pingTimer);
      if (FINAL_CODES.indexOf(code) !== -1) {
        live.stop();
        setLink("dead", code === 4401 ? "登录已失效，请刷新页面" : "无权接收实时消息");
      }
    },
    onRetry: function (delay) {
      setLink("down", "连接已断开，" + Math.ceil(delay / 1000) + " 秒后重连");
    },
  });

  function connect() {
    if (!window.WebSocket) {
      setLink("down", "浏览器不支持实时连接，每 15 秒刷新");
      return;
    }
    live.connect();
  }

  function onEvent(data) {
    switch (data.event) {
      case "ready":
        live.ok();
        setLink("ok", "实时连接正常");
        pingTimer = window.setInterval(function () { live.send({ type: "ping" }); }, 30000);
        if (everConnected) {
          // what happened while the socket was down: read it again
          refreshDesk();
          order.forEach(function (id) { loadSession(tabs[id]); });
          loadNotices();
        }
        everConnected = true;
        break;
      case "agent":
        if (desk && data.agent === ME) {
          ["presence", "activity", "reason", "state", "since", "active_text", "active_voice"]
            .forEach(function (k) { if (k in data) desk.presence[k] = data[k]; });
          renderBar();
        }
        scheduleRefresh();
        break;
      case "fact":
        scheduleRefresh();
        break;
      case "message":
        onMessage(data);
        break;
      case "delivery":
        onDelivery(data);
        break;
      case "participant":
        onParticipant(data);
        break;
      case "rated":
        onRated(data);
        break;
      case "announcement":
        putNotice(data, true);
        renderNotices();
        break;
      case "announcement_withdrawn": // the supervisor took it back
        delete notices[String(data.id)];
        renderNotices();
        break;
      default:
        break;
    }
  }

  function onMessage(data) {
    var m = data.message;
    if (!m || typeof m.id !== "number") return;
    var tab = tabs[data.session];
    if (!tab) {
      scheduleRefresh(150); // a session not on a tab yet: read the list
      return;
    }
    if (m.direction === "out" && m.kind !== "event" && m.sender && !tab.brief.first_response_at) {
      tab.brief.first_response_at = m.at; // 首次响应 made: the countdown stops
    }
    if (putMessage(tab, m, true)) {
      renderTab(tab);
      if (m.direction === "in" && tab.id !== activeId) {
        tab.node.classList.add("cd-tab-ping");
        window.setTimeout(function () { tab.node.classList.remove("cd-tab-ping"); }, 1200);
      }
    }
  }

  function onDelivery(data) {
    var tab = tabs[data.session];
    if (!tab || !tab.messages[data.message]) return;
    tab.messages[data.message].delivery = data.delivery;
    var node = tab.nodes[data.message];
    if (node) {
      setDelivery(node, data.delivery);
      if (data.error) node.querySelector(".cd-delivery").title = String(data.error);
    }
  }

  // --- the clock --------------------------------------------------------------------------
  function tick() {
    var t = now();
    if (desk) {
      var p = desk.presence;
      var since = parseTime(p.since);
      $("cd-state-timer").textContent = since === null ? "" : longClock((t - since) / 1000);
      var extra = "";
      if (p.presence !== "signed_out") {
        extra = "文字 " + p.active_text + "/" + p.text_capacity;
        if (p.activity === "wrap_up" && p.wrap_up_enabled && p.wrap_up_seconds && since !== null) {
          var left = p.wrap_up_seconds - (t - since) / 1000;
          if (left > 0) extra = "整理剩余 " + clock(left) + " · " + extra;
        }
      }
      $("cd-state-extra").textContent = extra;
      var elapsed = (Date.now() - fetchedAt) / 1000;
      root.querySelectorAll(".cd-queue-longest").forEach(function (b) {
        var base = Number(b.dataset.base);
        if (base >= 0) b.textContent = clock(base + elapsed);
      });
    }
    var tab = activeId !== null ? tabs[activeId] : null;
    if (tab) {
      var b = tab.brief;
      var label = "";
      var from = null;
      if (b.state === "offered") { label = "等待接起 "; from = parseTime(b.offered_at); }
      else if (b.state === "active") { label = "会话 "; from = parseTime(b.answered_at); }
      else if (b.state === "wrap_up") { label = "整理 "; from = parseTime(b.ended_at); }
      $("cd-chat-timer").textContent = from === null ? "" : label + clock((t - from) / 1000);
    }
    tickTabs();
  }

  function tickTabs() {
    var t = now();
    order.forEach(function (id) { tickTab(tabs[id], t); });
  }

  // 待接起 / 首次响应 / 待回复: how long the citizen has been waiting on this tab. Until the
  // first answer the tab counts down to the channel's GB/T 33358 target (text 3 minutes,
  // mail 24 hours); after it, how long the citizen's last message waits — marked at a
  // third of the target, overdue past it.
  function tickTab(tab, t) {
    var span = tab.node.querySelector(".cd-tab-wait");
    if (!span) return;
    var b = tab.brief;
    var target = b.response_target || 0;
    var text = "";
    var late = false;
    var overdue = false;
    if (b.state === "offered") {
      var offered = parseTime(b.offered_at);
      if (offered !== null) text = "待接起 " + clock((t - offered) / 1000);
      late = true;
    } else if (b.state === "active" && !b.first_response_at && target) {
      var arrived = parseTime(b.created_at);
      if (arrived !== null) {
        var left = target - (t - arrived) / 1000;
        overdue = left < 0;
        text = overdue ? "首次响应超时 " + clock(-left) : "首次响应剩余 " + clock(left);
        late = left < target * 2 / 3;
      }
    } else if (b.state === "active" && tab.last && tab.last.direction === "in") {
      var at = parseTime(tab.last.at);
      if (at !== null) {
        var waited = (t - at) / 1000;
        text = "待回复 " + clock(waited);
        late = waited >= (target ? target / 3 : 60);
        overdue = target > 0 && waited >= target;
      }
    }
    span.textContent = text;
    span.classList.toggle("cd-late", late);
    span.classList.toggle("cd-overdue", overdue);
  }

  // --- start ------------------------------------------------------------------------------
  window.addEventListener("beforeunload", function () {
    if (activeId !== null && tabs[activeId]) saveDrafts(tabs[activeId]);
  });
  window.setInterval(tick, 1000);
  window.setInterval(function () {
    refreshDesk();
    renderNotices(); // drops the ones whose time is up
  }, REFRESH_EVERY);
  refreshDesk();
  loadNotices();
  connect();
})();
