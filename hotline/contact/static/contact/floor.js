/* 班长席 (supervisor seat): the live grid of agents, the queues' figures, forced states,
 * monitoring / barging into / releasing a text session, and announcements.
 *
 * Data: GET {api}floor (agents, queues, totals) — fetched on load, every 10 s as a
 * safety net, and shortly after any contact fact. Live: the /ws/desk/ socket, after
 * {"type": "watch_floor"}: "agent" events patch one tile at once, "fact" and
 * "participant" events ask for a fresh snapshot; {"type": "watch_session", "id"} brings
 * the watched session's "message" events. The socket reconnects with backoff (1 s
 * doubling to 30 s) and asks again for what it watched; 4401/4403 end it for good.
 *
 * Actions go through the HTTP API with the session cookie and the CSRF header; a refusal
 * shows its Chinese "detail". Server text goes in through textContent only.
 */
(function () {
  "use strict";

  var root = document.getElementById("floor");
  var configNode = document.getElementById("floor-config");
  if (!root || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var API = config.api;

  var REFRESH_EVERY = 10000;
  var FINAL_CODES = [4401, 4403];

  var state = {
    agents: [],
    byId: {},
    queues: [],
    totals: {},
    selected: null, // agent id
    watching: null, // session id
    watchedSession: null,
    messages: {},
    filters: { team: "", state: "", search: "" },
  };

  // --- helpers (the shared ones: web/static/js/app.js) -----------------------------------
  var H = window.Hotline;
  var $ = H.dom.$, el = H.dom.el, icon = H.dom.icon;
  var pad = H.time.pad, duration = H.time.clock, dateTime = H.time.dayTime;

  function call(method, path, body) { return H.request(method, API + path, body); }

  var alertTimer = null;
  function showError(message) {
    var box = $("floor-alert");
    box.textContent = message;
    box.classList.remove("d-none");
    clearTimeout(alertTimer);
    alertTimer = setTimeout(function () { box.classList.add("d-none"); }, 8000);
  }

  $("floor-alert").addEventListener("click", function () { this.classList.add("d-none"); });

  function hideError() {
    $("floor-alert").classList.add("d-none");
  }

  function since(iso) {
    var start = H.time.parse(iso);
    return start === null ? "" : duration((H.time.now() - start) / 1000);
  }

  function clock(iso) {
    var date = new Date(iso);
    return isNaN(date.getTime()) ? "" : H.time.hhmm(iso) + ":" + pad(date.getSeconds());
  }

  // The colour class of a tile: what a person reads first.
  function tone(agent) {
    if (agent.presence === "signed_out") return "off";
    if (agent.activity === "in_session") return "talk";
    if (agent.activity === "offering") return "offer";
    if (agent.activity === "wrap_up") return "wrap";
    if (agent.presence === "not_ready") return "busy";
    return "ready";
  }

  function matches(agent) {
    var f = state.filters;
    if (f.team && String(agent.team_id || "") !== f.team) return false;
    if (f.search) {
      var needle = f.search.toLowerCase();
      if ((agent.name + " " + agent.employee_no).toLowerCase().indexOf(needle) < 0) return false;
    }
    var t = tone(agent);
    switch (f.state) {
      case "ready": return t === "ready";
      case "not_ready": return t === "busy";
      case "in_session": return t === "talk" || t === "offer";
      case "wrap_up": return t === "wrap";
      case "signed_in": return t !== "off";
      case "signed_out": return t === "off";
      default: return true;
    }
  }

  // --- the grid ---------------------------------------------------------------------------
  function tile(agent) {
    var node = el("button", "floor-tile ft-" + tone(agent));
    node.type = "button";
    node.dataset.agent = String(agent.id);
    if (state.selected === agent.id) node.classList.add("is-selected");
    node.setAttribute("aria-pressed", state.selected === agent.id ? "true" : "false");

    var head = el("span", "ft-head");
    head.appendChild(el("span", "avatar avatar-sm ft-avatar", (agent.name || "?").charAt(0)));
    var who = el("span", "ft-who");
    who.appendChild(el("span", "ft-name", agent.name));
    who.appendChild(el("span", "ft-sub", [agent.employee_no, agent.team].filter(Boolean).join(" · ")));
    head.appendChild(who);
    node.appendChild(head);

    var line = el("span", "ft-state");
    line.appendChild(el("span", "ft-dot"));
    var label = el("span", "ft-label", agent.state);
    label.title = agent.state;
    line.appendChild(label);
    var time = el("span", "ft-time", agent.presence === "signed_out" ? "" : since(agent.since));
    if (agent.presence !== "signed_out" && agent.since) time.dataset.since = agent.since;
    line.appendChild(time);
    node.appendChild(line);

    var foot = el("span", "ft-foot");
    var channels = el("span", "ft-channels");
    agent.sessions.forEach(function (s) {
      var mark = el("span", "ft-channel ft-ch-" + s.channel + " ft-s-" + s.state + (s.supervisors.length ? " is-barged" : ""));
      mark.title = s.channel_label + " · " + s.state_label + (s.supervisors.length ? " · 班长已强插" : "");
      mark.appendChild(icon(config.channels[s.channel] || "chat"));
      channels.appendChild(mark);
    });
    if (!agent.sessions.length) channels.appendChild(el("span", "ft-none", agent.presence === "signed_out" ? "" : "无会话"));
    foot.appendChild(channels);
    var used = agent.active_text + agent.active_voice;
    var load = el("span", "ft-load", agent.presence === "signed_out" ? "" : (agent.active_voice ? "通话" : used + "/" + agent.text_capacity));
    load.title = "会话数/文字并发上限";
    foot.appendChild(load);
    var answered = el("span", "ft-answered", "接通 " + agent.answered_today);
    answered.title = "今日接通";
    foot.appendChild(answered);
    node.appendChild(foot);

    node.setAttribute("aria-label", agent.name + "，" + agent.state +
      (agent.sessions.length ? "，" + agent.sessions.length + " 个会话" : ""));
    return node;
  }

  function renderGrid() {
    var grid = $("floor-grid");
    // signed-in agents first (what the floor is about), each group in the server's order
    var shown = state.agents.filter(matches).sort(function (a, b) {
      var offA = a.presence === "signed_out" ? 1 : 0;
      var offB = b.presence === "signed_out" ? 1 : 0;
      return offA - offB || a.order - b.order;
    });
    var fragment = document.createDocumentFragment();
    shown.forEach(function (agent) { fragment.appendChild(tile(agent)); });
    grid.replaceChildren(fragment);
    $("floor-empty").classList.toggle("d-none", shown.length > 0);
    var signedIn = state.agents.filter(function (a) { return a.presence !== "signed_out"; }).length;
    $("floor-count").textContent = "签入 " + signedIn + " / 共 " + state.agents.length + " 人" +
      (shown.length !== state.agents.length ? "，显示 " + shown.length + " 人" : "");
  }

  function renderTotals() {
    var totals = state.totals || {};
    // agent counts follow the grid at once (agent events), queue counts the last snapshot
    var agents = state.agents.filter(function (a) { return a.presence !== "signed_out"; });
    totals.agents_ready = agents.filter(function (a) { return tone(a) === "ready"; }).length;
    totals.agents_in_session = agents.filter(function (a) { var t = tone(a); return t === "talk" || t === "offer"; }).length;
    totals.agents_not_ready = agents.filter(function (a) { return tone(a) === "busy"; }).length;
    root.querySelectorAll("[data-total]").forEach(function (box) {
      var value = totals[box.dataset.total];
      var text = value === undefined ? "–" : value;
      if (box.dataset.format === "duration" && value !== undefined) text = duration(value);
      if (box.dataset.format === "seconds" && value !== undefined) text = value + " 秒";
      box.querySelector(".stat-value").textContent = text;
    });
    var waiting = root.querySelector("[data-total=waiting]");
    if (waiting) waiting.classList.toggle("stat-warn", (totals.waiting || 0) > 0);
  }

  function renderQueues() {
    var body = $("floor-queues");
    var fragment = document.createDocumentFragment();
    state.queues.forEach(function (q) {
      var row = el("tr");
      if (q.waiting > 0) row.className = "floor-queue-waiting";
      row.appendChild(el("td", "fw-semibold", q.name));
      row.appendChild(el("td", "text-end tnum", q.waiting));
      row.appendChild(el("td", "text-end tnum", q.waiting ? duration(q.longest_wait) : "–"));
      row.appendChild(el("td", "text-end tnum", q.agents_ready + "/" + q.agents_signed_in));
      row.appendChild(el("td", "text-end tnum", q.answered_today));
      row.appendChild(el("td", "text-end tnum", q.abandoned_today));
      row.appendChild(el("td", "text-end tnum", q.average_answer_wait + " 秒"));
      fragment.appendChild(row);
    });
    if (!state.queues.length) {
      var empty = el("tr");
      var cell = el("td", "text-center text-muted", "本平台尚未设置排队队列");
      cell.colSpan = 7;
      empty.appendChild(cell);
      fragment.appendChild(empty);
    }
    body.replaceChildren(fragment);
  }

  // --- the selected agent -------------------------------------------------------------------
  function renderSide() {
    var agent = state.byId[state.selected];
    $("floor-side-hint").classList.toggle("d-none", !!agent);
    $("floor-agent").classList.toggle("d-none", !agent);
    if (!agent) {
      $("floor-side-name").textContent = "坐席详情";
      $("floor-side-meta").textContent = "";
      return;
    }
    $("floor-side-name").textContent = agent.name;
    $("floor-side-meta").textContent = [agent.employee_no, agent.team].filter(Boolean).join(" · ");
    var badge = $("floor-agent-state");
    badge.className = "floor-badge ft-" + tone(agent);
    badge.textContent = agent.state;
    var time = $("floor-agent-time");
    if (agent.presence !== "signed_out" && agent.since) {
      time.dataset.since = agent.since;
      time.textContent = since(agent.since);
    } else {
      delete time.dataset.since;
      time.textContent = "";
    }
    var mine = agent.id === config.me;
    root.querySelectorAll("[data-force]").forEach(function (button) {
      var verb = button.dataset.force;
      var off = agent.presence === "signed_out";
      var disabled = mine || off ||
        (verb === "ready" && agent.presence === "ready" && agent.activity !== "wrap_up") ||
        (verb === "not_ready" && agent.presence === "not_ready");
      button.disabled = disabled;
      button.title = mine ? "请在坐席工作台设置自己的状态" : "";
    });

    var list = $("floor-sessions");
    var fragment = document.createDocumentFragment();
    agent.sessions.forEach(function (s) {
      var item = el("li", "floor-session" + (state.watching === s.id ? " is-watched" : ""));
      var mark = el("span", "ft-channel ft-ch-" + s.channel);
      mark.appendChild(icon(config.channels[s.channel] || "chat"));
      item.appendChild(mark);
      var text = el("span", "floor-session-text");
      text.appendChild(el("span", "floor-session-who", s.citizen + (s.emergency ? "（紧急）" : "")));
      var meta = el("span", "floor-session-meta", s.channel_label + " · " + s.state_label + " · " + s.queue);
      text.appendChild(meta);
      if (s.supervisors.length) {
        text.appendChild(el("span", "floor-session-barged", "强插：" + s.supervisors.map(function (p) { return p.name; }).join("、")));
      }
      item.appendChild(text);
      var clockNode = el("span", "floor-session-time tnum", since(s.answered_at || s.offered_at));
      if (s.answered_at || s.offered_at) clockNode.dataset.since = s.answered_at || s.offered_at;
      item.appendChild(clockNode);
      if (s.channel === "voice") {
        item.appendChild(voiceControls(s));
      } else {
        var watch = el("button", "btn btn-sm btn-outline-primary floor-session-watch");
        watch.type = "button";
        watch.dataset.session = String(s.id);
        watch.appendChild(icon("eye"));
        watch.appendChild(document.createTextNode(state.watching === s.id ? " 监听中" : " 监听"));
        item.appendChild(watch);
      }
      fragment.appendChild(item);
    });
    if (!agent.sessions.length) fragment.appendChild(el("li", "floor-session-none", "暂无会话"));
    list.replaceChildren(fragment);
  }

  // --- a voice call: 监听 / 耳语 / 强插 on the supervisor's own phone, 强拆 ----------------------
  // The media node rings the supervisor's phone (坐席话机 in the desk's 状态设置); the mode
  // changes within a second while it is on. state.monitors: session id → my open party.
  var VOICE_MODES = [["listen", "监听", "只听不说：坐席与来电人都听不到您"],
    ["whisper", "耳语", "只有坐席听得到您，来电人听不到"],
    ["barge", "强插", "坐席与来电人都听得到您"]];
  state.monitors = {};

  function voiceControls(s) {
    var box = el("div", "floor-voice");
    var mine = state.monitors[s.id];
    var group = el("div", "btn-group btn-group-sm");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "语音监控");
    VOICE_MODES.forEach(function (m) {
      var button = el("button", "btn btn-outline-primary" + (mine && mine.mode === m[0] ? " active" : ""), m[1]);
      button.type = "button";
      button.title = m[2];
      button.dataset.voiceSession = String(s.id);
      button.dataset.voiceMode = m[0];
      button.disabled = s.state !== "active";
      group.appendChild(button);
    });
    if (mine) {
      var stop = el("button", "btn btn-outline-secondary", "结束");
      stop.type = "button";
      stop.title = "挂断您的话机，结束监听";
      stop.dataset.voiceEnd = String(mine.id);
      group.appendChild(stop);
    }
    var release = el("button", "btn btn-outline-danger", "强拆");
    release.type = "button";
    release.title = "结束这通电话：坐席与来电人都被挂断";
    release.dataset.voiceRelease = String(s.id);
    release.disabled = s.state !== "active";
    group.appendChild(release);
    box.appendChild(group);
    if (mine) {
      box.appendChild(el("span", "floor-voice-state", mine.mode_label + "：" + mine.state_label + (mine.result ? "（" + mine.result + "）" : "")));
    }
    return box;
  }

  function followMonitor(sessionId) {
    var mine = state.monitors[sessionId];
    if (!mine || mine.state === "ended" || mine.state === "failed") return;
    setTimeout(function () {
      H.request("GET", config.voice_api + "sessions/" + sessionId + "/parties").then(function (parties) {
        var now = parties.filter(function (p) { return p.id === mine.id; })[0];
        if (!now) return;
        state.monitors[sessionId] = now.state === "ended" || now.state === "failed" ? null : now;
        if (now.state === "failed") showError("监听未接通：" + (now.result || now.state_label));
        renderSide();
        followMonitor(sessionId);
      }).catch(function () { followMonitor(sessionId); });
    }, 1500);
  }

  $("floor-sessions").addEventListener("click", function (event) {
    var target = event.target.closest("[data-voice-session],[data-voice-end],[data-voice-release]");
    if (!target) return;
    event.stopPropagation();
    hideError();
    target.disabled = true;
    var done;
    if (target.dataset.voiceRelease) {
      if (!window.confirm("确定强拆这通电话吗？坐席与来电人都会被挂断。")) { target.disabled = false; return; }
      done = call("POST", "sessions/" + target.dataset.voiceRelease + "/release").then(refresh);
    } else if (target.dataset.voiceEnd) {
      done = H.request("POST", config.voice_api + "parties/" + target.dataset.voiceEnd + "/end").then(function (party) {
        state.monitors[party.session] = null;
        renderSide();
      });
    } else {
      var sessionId = Number(target.dataset.voiceSession);
      done = H.request("POST", config.voice_api + "sessions/" + sessionId + "/monitor", { mode: target.dataset.voiceMode }).then(function (party) {
        var following = state.monitors[sessionId];
        state.monitors[sessionId] = party;
        renderSide();
        if (!following) followMonitor(sessionId);
      });
    }
    done.catch(function (error) {
      showError(H.errorText(error));
      renderSide();
    });
  }, true);

  function render() {
    state.byId = {};
    state.agents.forEach(function (a, index) {
      a.order = index;
      state.byId[a.id] = a;
    });
    renderGrid();
    renderTotals();
    renderQueues();
    renderSide();
    renderWatchButtons();
  }

  // --- the snapshot -----------------------------------------------------------------------------
  var loading = false;
  var again = false;
  // Agent events that arrive while a snapshot is on its way are newer than it: they are
  // applied again on top of the snapshot, which would otherwise put back the old state.
  var lateEvents = [];

  function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    lateEvents = [];
    call("GET", "floor").then(function (data) {
      H.time.sync(H.time.parse(data.now));
      state.agents = data.agents;
      state.queues = data.queues;
      state.totals = data.totals;
      state.deadLetters = data.dead_letters || [];
      render();
      renderDeadLetters();
      renderVoiceAlarms(data.voice_alarms || []);
      var replay = lateEvents;
      lateEvents = [];
      replay.forEach(function (event) { applyAgentEvent(event); });
    }).catch(function (error) {
      showError(H.errorText(error));
    }).then(function () {
      loading = false;
      if (again) { again = false; refresh(); }
    });
  }

  var soonTimer = null;
  function refreshSoon() {
    clearTimeout(soonTimer);
    soonTimer = setTimeout(refresh, 400);
  }

  // --- the socket ---------------------------------------------------------------------------
  function setLive(kind, text) {
    var badge = $("floor-live");
    badge.dataset.state = kind;
    badge.querySelector(".floor-live-text").textContent = text;
  }

  var live = H.socket({
    path: function () { return "/ws/desk/"; },
    onOpen: function () {
      live.ok();
      // live once the server has joined us to the floor: the snapshot taken then misses
      // nothing that happens after it
      send({ type: "watch_floor" });
      if (state.watching) send({ type: "watch_session", id: state.watching });
    },
    onEvent: onEvent,
    onClose: function (code) {
      if (FINAL_CODES.indexOf(code) >= 0) {
        live.stop();
        setLive("down", code === 4401 ? "登录已失效，请刷新页面" : "无权实时监控");
      }
    },
    onRetry: function () { setLive("down", "连接中断，正在重连…"); },
  });

  function send(message) { live.send(message); }

  function connect() {
    if (!window.WebSocket) { setLive("down", "浏览器不支持实时连接，每 10 秒刷新"); return; }
    live.connect();
  }

  // an agent's state as an "agent" event or the answer to a forced state tells it
  function takeState(agent, data) {
    ["presence", "activity", "reason", "state", "since", "active_text", "active_voice"]
      .forEach(function (k) { if (k in data) agent[k] = data[k]; });
  }

  function applyAgentEvent(data) {
    var agent = state.byId[data.agent];
    if (!agent) { refreshSoon(); return; }
    takeState(agent, data);
    renderGrid();
    renderTotals();
    if (state.selected === agent.id) renderSide();
  }

  function onEvent(data) {
    switch (data.event) {
      case "watching":
        if (data.what === "floor") {
          setLive("up", "实时");
          refresh(); // whatever happened while the socket was away
        }
        return;
      case "agent":
        if (loading) lateEvents.push(data);
        applyAgentEvent(data);
        return;
      case "fact":
        refreshSoon();
        if (data.session === state.watching) loadTranscript(false);
        return;
      case "participant":
        refreshSoon();
        if (data.session === state.watching) loadTranscript(false);
        return;
      case "message":
        if (data.session === state.watching && data.message) addMessage(data.message);
        return;
      case "delivery":
        if (data.session === state.watching) markDelivery(data.message, data.delivery);
        if (data.delivery === "dead" || data.delivery === "retrying") refreshSoon();
        return;
      case "error":
        showError(data.detail || "实时连接出错");
        return;
      default:
        return;
    }
  }

  // --- 语音告警: a media node gone silent, a trunk that does not answer ---------------------------
  function renderVoiceAlarms(alarms) {
    var list = $("floor-voice-alarms");
    list.textContent = "";
    alarms.forEach(function (text) { list.appendChild(el("li", "", text)); });
    $("floor-voice-alarm").hidden = alarms.length === 0;
  }

  // --- 投递失败: dead letters, sent again on request ----------------------------------------------
  function renderDeadLetters() {
    var rows = $("floor-dead-rows");
    rows.textContent = "";
    var letters = state.deadLetters || [];
    $("floor-dead").hidden = letters.length === 0;
    $("floor-dead-count").textContent = letters.length ? letters.length + " 条" : "";
    letters.forEach(function (m) {
      var tr = el("tr");
      tr.appendChild(el("td", "tnum text-nowrap", dateTime(m.at)));
      tr.appendChild(el("td", "text-nowrap", m.channel_label));
      tr.appendChild(el("td", "tnum text-nowrap", m.ref));
      tr.appendChild(el("td", "text-nowrap", m.address));
      tr.appendChild(el("td", "floor-dead-body", m.body));
      tr.appendChild(el("td", "text-nowrap", m.sender));
      var reason = el("td", "text-danger small", m.error || "");
      reason.title = "已尝试 " + m.attempts + " 次";
      tr.appendChild(reason);
      var cell = el("td", "text-end");
      var button = el("button", "btn btn-sm btn-outline-primary text-nowrap", "重新投递");
      button.type = "button";
      button.dataset.redeliver = String(m.id);
      cell.appendChild(button);
      tr.appendChild(cell);
      rows.appendChild(tr);
    });
  }

  $("floor-dead-rows").addEventListener("click", function (event) {
    var button = event.target.closest("[data-redeliver]");
    if (!button) return;
    button.disabled = true;
    call("POST", "messages/" + button.dataset.redeliver + "/redeliver")
      .then(function () { refresh(); })
      .catch(function (error) { showError(H.errorText(error)); button.disabled = false; });
  });

  // --- forced states --------------------------------------------------------------------------
  // A destructive button carries data-confirm: app.js asks before this handler runs.
  root.querySelectorAll("[data-force]").forEach(function (button) {
    button.addEventListener("click", function () {
      var agent = state.byId[state.selected];
      if (!agent) return;
      hideError();
      button.disabled = true;
      call("POST", "agents/" + agent.id + "/state", { event: button.dataset.force })
        .then(function (result) {
          takeState(agent, result);
          render();
        })
        .catch(function (error) { showError(agent.name + "：" + H.errorText(error)); renderSide(); });
    });
  });

  // --- selecting an agent, watching a session -------------------------------------------------------
  $("floor-grid").addEventListener("click", function (event) {
    var node = event.target.closest(".floor-tile");
    if (!node) return;
    var id = Number(node.dataset.agent);
    state.selected = state.selected === id ? null : id;
    renderGrid();
    renderSide();
    if (state.selected && window.matchMedia("(max-width: 1199px)").matches) {
      $("floor-side").scrollIntoView({ behavior: "smooth", block: "start" });
    }
  });

  $("floor-sessions").addEventListener("click", function (event) {
    var button = event.target.closest("[data-session]");
    if (!button) return;
    watch(Number(button.dataset.session));
  });

  function watch(sessionId) {
    if (state.watching && state.watching !== sessionId) send({ type: "unwatch_session", id: state.watching });
    state.watching = sessionId;
    state.watchedSession = null;
    state.messages = {};
    $("floor-transcript").replaceChildren();
    $("floor-watch").classList.remove("d-none");
    send({ type: "watch_session", id: sessionId });
    loadTranscript(true);
    renderSide();
  }

  function unwatch() {
    if (state.watching) send({ type: "unwatch_session", id: state.watching });
    state.watching = null;
    state.watchedSession = null;
    $("floor-watch").classList.add("d-none");
    renderSide();
  }
  $("floor-watch-close").addEventListener("click", unwatch);

  function loadTranscript(scroll) {
    var id = state.watching;
    if (!id) return;
    call("GET", "sessions/" + id).then(function (session) {
      if (state.watching !== id) return;
      state.watchedSession = session;
      var agentName = "";
      var citizen = "";
      state.agents.forEach(function (a) {
        a.sessions.forEach(function (s) {
          if (s.id === id) { agentName = a.name; citizen = s.citizen; }
        });
      });
      $("floor-watch-title").textContent = session.channel_label + " · " + (citizen || session.citizen_name || session.ref);
      $("floor-watch-meta").textContent = [session.ref, session.state_label, agentName ? "坐席 " + agentName : ""].filter(Boolean).join(" · ");
      session.messages.forEach(addMessage);
      if (scroll) scrollDown();
      renderWatchButtons();
    }).catch(function (error) { showError(H.errorText(error)); });
  }

  function barged(sessionId) {
    var yes = false;
    state.agents.forEach(function (a) {
      a.sessions.forEach(function (s) {
        if (s.id === sessionId) {
          s.supervisors.forEach(function (p) { if (p.id === config.me) yes = true; });
        }
      });
    });
    return yes;
  }

  function renderWatchButtons() {
    var session = state.watchedSession;
    if (!state.watching) return;
    var active = !!session && session.state === "active";
    var joined = barged(state.watching);
    var own = false;
    state.agents.forEach(function (a) {
      if (a.id === config.me) a.sessions.forEach(function (s) { if (s.id === state.watching) own = true; });
    });
    $("floor-barge").classList.toggle("d-none", joined);
    $("floor-barge").disabled = !active || own;
    $("floor-leave").classList.toggle("d-none", !joined);
    $("floor-takeover").disabled = !active || own;
    $("floor-release").disabled = !active;
    $("floor-composer").classList.toggle("d-none", !(joined && active));
  }

  function scrollDown() {
    var box = $("floor-transcript");
    box.scrollTop = box.scrollHeight;
  }

  var TICKS = { pending: "待发送", sent: "已发送", delivered: "已送达", failed: "发送失败", retrying: "重试中", dead: "未送达" };

  function addMessage(message) {
    if (state.messages[message.id]) return;
    state.messages[message.id] = true;
    var box = $("floor-transcript");
    var nearBottom = H.dom.nearBottom(box, 60);
    var kind = message.kind === "event" ? "event" : message.direction === "in" ? "in" : "out";
    var item = el("div", "floor-msg floor-msg-" + kind);
    item.dataset.message = String(message.id);
    if (kind !== "event") {
      var head = el("div", "floor-msg-head");
      head.appendChild(el("span", "floor-msg-who", kind === "in" ? "来电人" : message.sender || "坐席"));
      head.appendChild(el("span", "floor-msg-at", clock(message.at)));
      item.appendChild(head);
    }
    var body = el("div", "floor-msg-body", message.body);
    if (message.attachment) {
      var link = el("a", "floor-msg-file", message.attachment_name || "附件");
      link.href = message.attachment;
      link.target = "_blank";
      link.rel = "noopener";
      body.appendChild(link);
    }
    item.appendChild(body);
    if (kind === "out") item.appendChild(el("div", "floor-msg-tick", TICKS[message.delivery] || ""));
    box.appendChild(item);
    if (nearBottom) scrollDown();
  }

  function markDelivery(messageId, delivery) {
    var node = $("floor-transcript").querySelector('[data-message="' + Number(messageId) + '"] .floor-msg-tick');
    if (node) node.textContent = TICKS[delivery] || "";
  }

  function sessionAction(button, verb) {
    var id = state.watching;
    if (!id) return;
    hideError();
    button.disabled = true;
    call("POST", "sessions/" + id + "/" + verb).then(function () {
      refresh();
      loadTranscript(false);
      if (verb === "barge") setTimeout(function () { $("floor-message").focus(); }, 50);
    }).catch(function (error) {
      showError(H.errorText(error));
      renderWatchButtons();
    });
  }
  $("floor-barge").addEventListener("click", function () { sessionAction(this, "barge"); });
  $("floor-leave").addEventListener("click", function () { sessionAction(this, "leave"); });
  $("floor-takeover").addEventListener("click", function () { sessionAction(this, "takeover"); });
  $("floor-release").addEventListener("click", function () { sessionAction(this, "release"); });

  $("floor-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("floor-message");
    var text = input.value.trim();
    if (!text || !state.watching) return;
    var button = this.querySelector("button[type=submit]");
    button.disabled = true;
    call("POST", "sessions/" + state.watching + "/messages", { body: text }).then(function (message) {
      input.value = "";
      addMessage(message);
      scrollDown();
    }).catch(function (error) { showError(H.errorText(error)); }).then(function () { button.disabled = false; });
  });
  $("floor-message").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("floor-composer").requestSubmit();
    }
  });

  // --- filters -----------------------------------------------------------------------------------
  $("floor-filters").addEventListener("submit", function (event) { event.preventDefault(); });
  $("floor-team").addEventListener("change", function () { state.filters.team = this.value; renderGrid(); });
  $("floor-state").addEventListener("change", function () { state.filters.state = this.value; renderGrid(); });
  $("floor-search").addEventListener("input", function () { state.filters.search = this.value.trim(); renderGrid(); });

  // --- announcements ------------------------------------------------------------------------------
  function localInput(date) {
    return H.time.date(date.toISOString()) + "T" + H.time.hhmm(date.toISOString());
  }

  // A datetime-local value is the browser's local time: sent with its zone, as UTC.
  function isoOf(value) {
    if (!value) return null;
    var date = new Date(value);
    return isNaN(date.getTime()) ? null : date.toISOString();
  }

  function resetNoticeForm() {
    var form = $("floor-notice-form");
    form.reset();
    $("notice-ends").value = localInput(new Date(Date.now() + 8 * 3600 * 1000));
    audienceChanged();
  }

  function audienceChanged() {
    var audience = $("notice-audience").value;
    $("notice-team-field").classList.toggle("d-none", audience !== "team");
    $("notice-agent-field").classList.toggle("d-none", audience !== "agent");
  }
  $("notice-audience").addEventListener("change", audienceChanged);

  var FIELD_INPUTS = { title: "notice-title", body: "notice-body", level: "notice-level", audience: "notice-audience", team: "notice-team", agent: "notice-agent", starts_at: "notice-starts", ends_at: "notice-ends" };

  function noticeError(message, field) {
    var box = $("notice-error");
    box.textContent = message || "";
    box.classList.toggle("d-none", !message);
    Object.keys(FIELD_INPUTS).forEach(function (name) {
      $(FIELD_INPUTS[name]).classList.toggle("is-invalid", !!message && name === field);
    });
  }

  $("floor-notice-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var audience = $("notice-audience").value;
    var payload = {
      title: $("notice-title").value.trim(),
      body: $("notice-body").value.trim(),
      level: $("notice-level").value,
      audience: audience,
      team: audience === "team" && $("notice-team").value ? Number($("notice-team").value) : null,
      agent: audience === "agent" && $("notice-agent").value ? Number($("notice-agent").value) : null,
      starts_at: isoOf($("notice-starts").value),
      ends_at: isoOf($("notice-ends").value),
    };
    if (!payload.title) { noticeError("请填写公告标题", "title"); return; }
    if (!payload.body) { noticeError("请填写公告内容", "body"); return; }
    if (!payload.ends_at) { noticeError("请填写有效期", "ends_at"); return; }
    var button = this.querySelector("button[type=submit]");
    button.disabled = true;
    noticeError("");
    call("POST", "announcements", payload).then(function () {
      resetNoticeForm();
      loadNotices();
    }).catch(function (error) {
      noticeError(H.errorText(error), error.field);
    }).then(function () { button.disabled = false; });
  });

  function loadNotices() {
    call("GET", "announcements/published").then(renderNotices).catch(function (error) { showError(H.errorText(error)); });
  }

  function renderNotices(items) {
    var list = $("floor-notice-list");
    var fragment = document.createDocumentFragment();
    items.forEach(function (n) {
      var item = el("li", "floor-notice floor-notice-" + n.level + (n.status === "生效中" || n.status === "未生效" ? "" : " is-over"));
      var head = el("div", "floor-notice-head");
      head.appendChild(el("span", "tag floor-notice-status " + (n.status === "生效中" ? "tag-ok" : "tag-muted"), n.status));
      if (n.level === "warning") head.appendChild(el("span", "tag floor-notice-level", "重要"));
      head.appendChild(el("strong", "floor-notice-title", n.title));
      item.appendChild(head);
      item.appendChild(el("div", "floor-notice-body", n.body));
      var meta = el("div", "floor-notice-meta", n.audience_label + " · " + dateTime(n.starts_at) + " 至 " + dateTime(n.ends_at) + " · " + n.sender);
      item.appendChild(meta);
      if (n.status === "生效中" || n.status === "未生效") {
        var withdraw = el("button", "btn btn-link btn-sm floor-notice-withdraw", "撤回");
        withdraw.type = "button";
        withdraw.dataset.withdraw = String(n.id);
        withdraw.dataset.confirm = "确定撤回公告“" + n.title + "”吗？";
        item.appendChild(withdraw);
      }
      fragment.appendChild(item);
    });
    if (!items.length) fragment.appendChild(el("li", "floor-hint", "尚未发布公告"));
    list.replaceChildren(fragment);
  }

  $("floor-notice-list").addEventListener("click", function (event) {
    var button = event.target.closest("[data-withdraw]");
    if (!button) return;
    button.disabled = true;
    call("POST", "announcements/" + button.dataset.withdraw + "/withdraw").then(loadNotices).catch(function (error) {
      showError(H.errorText(error));
      button.disabled = false;
    });
  });

  // --- ticking durations ----------------------------------------------------------------------------
  setInterval(function () {
    root.querySelectorAll("[data-since]").forEach(function (node) {
      node.textContent = since(node.dataset.since);
    });
  }, 1000);

  resetNoticeForm();
  refresh();
  loadNotices();
  connect();
  setInterval(refresh, REFRESH_EVERY);
})();
