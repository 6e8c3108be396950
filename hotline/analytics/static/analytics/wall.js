/* 监控大屏: draws the wall from GET /api/wall (every REFRESH ms: the heavier figures) and
 * keeps its counters live over /ws/wall/ ("live": counters, agents, 接通率, queues and
 * sub-platforms within a second of each call or agent event; "fact": the ticker).
 * CSP-safe: no inline script or style, no eval; ECharts draws on canvas and its
 * tooltips are drawn as rich text (no HTML). Sizes follow the screen: one layout for
 * 1920×1080 and 3840×2160. */
(function () {
  "use strict";

  var H = window.Hotline;
  var $ = H.dom.$;
  var el = H.dom.el;
  var clear = H.dom.clear;
  var body = document.body;
  var API = body.dataset.api;
  var SOCKET = body.dataset.socket;
  var AREAS = body.dataset.areas;
  var REFRESH = 30000;
  var TICKER_ROWS = 6;
  var ZONE = "Asia/Shanghai";

  var COLORS = {
    cyan: "#2ee6ff", blue: "#3d8bff", ok: "#2fe29b", warn: "#ffb547", bad: "#ff5b5b",
    purple: "#a78bfa", text: "#d8e8ff", muted: "#7f9cc7", grid: "rgba(64,160,255,0.15)",
  };
  var PALETTE = ["#2ee6ff", "#3d8bff", "#2fe29b", "#ffb547", "#a78bfa", "#ff7a45", "#36cfc9", "#f759ab"];
  var STATE_COLORS = { "示闲": COLORS.ok, "会话中": COLORS.cyan, "分配中": COLORS.blue, "整理": COLORS.purple };

  var data = null; // the last full reading (live readings are merged in)
  var charts = {};
  var geo = null; // names of the hand-drawn areas, once loaded

  // --- helpers ------------------------------------------------------------------------------
  function scale() { return Math.max(0.5, window.innerWidth / 1920); }
  function px(n) { return Math.round(n * scale()); }

  function percent(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }
  function percentNumber(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1); }

  /** A counter's figure, its unit (%, 秒) smaller beside it; flashes when it changed. */
  function setNumber(id, text, flash, unit) {
    var node = $(id);
    unit = text === "—" ? "" : unit || "";
    if (node.textContent === String(text) + unit) return node;
    node.textContent = text;
    if (unit) node.appendChild(el("small", "", unit));
    if (flash) {
      node.classList.add("is-flash");
      window.setTimeout(function () { node.classList.remove("is-flash"); }, 600);
    }
    return node;
  }

  function mark(node, good) {
    node.classList.toggle("is-ok", good === true);
    node.classList.toggle("is-bad", good === false);
  }

  function chart(id) {
    if (!charts[id]) charts[id] = window.echarts.init($(id), null, { renderer: "canvas" });
    return charts[id];
  }

  function textStyle(size, color) { return { fontSize: px(size), color: color || COLORS.text }; }

  function tooltip(extra) { return Object.assign({ renderMode: "richText", textStyle: textStyle(13) }, extra || {}); }

  // --- the clock ------------------------------------------------------------------------------
  var dateFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: ZONE, year: "numeric", month: "long", day: "numeric", weekday: "long",
  });
  var timeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function tick() {
    var now = new Date(H.time.now());
    $("wall-clock").textContent = timeFormat.format(now);
    $("wall-date").textContent = dateFormat.format(now);
  }

  function stamp(text) {
    $("wall-updated").textContent = text + " " + timeFormat.format(new Date(H.time.now()));
  }

  // --- counters -----------------------------------------------------------------------------
  function renderCounters(calls, kpis) {
    setNumber("wall-waiting", String(calls.waiting), true);
    var longest = setNumber("wall-longest", H.time.clock(calls.longest_wait), false);
    mark(longest, calls.longest_wait >= 60 ? false : null);
    setNumber("wall-answered", String(calls.answered_today), true);
    setNumber("wall-abandoned", String(calls.abandoned_today), true);

    var rate = kpis.answer_rate;
    mark(setNumber("wall-answer-rate", percentNumber(rate.value), true, "%"), rate.met);
    $("wall-answer-rate-note").textContent = "语音 · 目标 " + percent(rate.target).replace(".0%", "%") +
      (rate.denominator ? " · " + rate.numerator + "/" + rate.denominator : "");
    var wait = kpis.avg_answer_seconds;
    mark(setNumber("wall-answer-seconds", wait.value === null ? "—" : wait.value.toFixed(1), true, "秒"), wait.met);
    $("wall-answer-seconds-note").textContent = "语音 · 目标 ≤" + wait.target + "秒";
  }

  // --- agents -------------------------------------------------------------------------------
  function renderAgents(agents) {
    $("wall-agents-total").textContent = "在线 " + agents.signed_in + " 人";
    var box = clear($("wall-agent-groups"));
    agents.groups.forEach(function (g) {
      var tile = el("div", "ag ag-" + g.key);
      tile.appendChild(el("span", "ag-label", g.label));
      tile.appendChild(el("span", "ag-value", String(g.count)));
      box.appendChild(tile);
    });
    var states = agents.states.length ? agents.states : [{ label: "无坐席签入", count: 0 }];
    chart("chart-agents").setOption({
      tooltip: tooltip({ trigger: "item", formatter: "{b}：{c} 人（{d}%）" }),
      series: [{
        type: "pie",
        radius: ["46%", "72%"],
        center: ["50%", "52%"],
        avoidLabelOverlap: true,
        itemStyle: { borderColor: "#061633", borderWidth: px(2) },
        label: { color: COLORS.text, fontSize: px(13), formatter: "{b}\n{c}人" },
        labelLine: { length: px(8), length2: px(8), lineStyle: { color: COLORS.muted } },
        data: states.map(function (s, i) {
          return {
            name: s.label, value: s.count,
            itemStyle: { color: s.count ? (STATE_COLORS[s.label] || PALETTE[(i + 3) % PALETTE.length]) : "#27436b" },
          };
        }),
      }],
    }, { replaceMerge: ["series"] });
  }

  // --- channels -----------------------------------------------------------------------------
  function renderChannels(channels) {
    var total = channels.reduce(function (sum, c) { return sum + c.count; }, 0);
    chart("chart-channels").setOption({
      color: PALETTE,
      tooltip: tooltip({ trigger: "item", formatter: "{b}：{c}（{d}%）" }),
      title: {
        text: String(total), subtext: "今日进线",
        left: "31%", top: "38%", textAlign: "center",
        textStyle: { color: "#fff", fontSize: px(26), fontWeight: "bold" },
        subtextStyle: { color: COLORS.muted, fontSize: px(12) },
      },
      legend: {
        orient: "vertical", right: "2%", top: "middle", icon: "circle",
        itemWidth: px(10), itemHeight: px(10), itemGap: px(8),
        textStyle: textStyle(13),
        formatter: function (name) {
          var found = channels.filter(function (c) { return c.label === name; })[0];
          return name + "  " + (found ? found.count : 0);
        },
      },
      series: [{
        type: "pie",
        radius: ["52%", "78%"],
        center: ["32%", "52%"],
        label: { show: false },
        itemStyle: { borderColor: "#061633", borderWidth: px(2) },
        data: channels.length ? channels.map(function (c) { return { name: c.label, value: c.count }; })
          : [{ name: "暂无进线", value: 0, itemStyle: { color: "#27436b" } }],
      }],
    }, { replaceMerge: ["series"] });
  }

  // --- the side panel: sub-platforms (a province's cities) and the queues ---------------------
  function cell(row, text, cls) {
    var td = el("td", cls || "", text);
    td.title = String(text);
    row.appendChild(td);
  }

  function childRow(item) {
    var row = el("tr");
    cell(row, item.name);
    cell(row, String(item.waiting), item.waiting ? "is-warn" : "");
    cell(row, String(item.answered_today));
    cell(row, String(item.abandoned_today), item.abandoned_today ? "is-bad" : "");
    var rate = item.answer_rate;
    cell(row, percent(rate), rate === null || rate === undefined ? "" : rate >= 0.95 ? "is-ok" : "is-bad");
    cell(row, item.overdue === undefined ? "—" : String(item.overdue), item.overdue ? "is-bad" : "");
    return row;
  }

  function queueRow(item) {
    var row = el("tr");
    cell(row, item.name);
    cell(row, String(item.waiting), item.waiting ? "is-warn" : "");
    cell(row, H.time.clock(item.longest_wait), item.longest_wait >= 60 ? "is-bad" : "");
    cell(row, String(item.agents_ready), item.agents_ready ? "is-ok" : "");
    cell(row, String(item.answered_today));
    return row;
  }

  /** Sub-platforms first, then the busiest queues, as many rows as the panel holds (a wall
   * does not scroll): what does not fit is summed up in a last row. */
  function renderSide(children, queues) {
    var panel = $("wall-side-title").parentNode;
    var childBody = clear($("wall-children-body"));
    var queueBody = clear($("wall-queue-body"));
    var province = children.length > 0;
    $("wall-side-title").textContent = province ? "下级平台实况" : "队列实况";
    $("wall-children-table").hidden = !province;
    $("wall-queue-sub").hidden = !province || !queues.length;
    $("wall-queue-table").hidden = !queues.length;
    $("wall-side-empty").hidden = province || queues.length > 0;
    children.forEach(function (c) { childBody.appendChild(childRow(c)); });
    queues.slice().sort(function (a, b) {
      return b.waiting - a.waiting || b.longest_wait - a.longest_wait || b.answered_today - a.answered_today;
    }).forEach(function (q) { queueBody.appendChild(queueRow(q)); });
    function overflowing() { return panel.scrollHeight > panel.clientHeight + 1; }
    while (overflowing() && queueBody.rows.length) queueBody.removeChild(queueBody.lastChild);
    if (!queueBody.rows.length) { $("wall-queue-table").hidden = true; $("wall-queue-sub").hidden = true; }
    var hidden = 0;
    while (overflowing() && childBody.rows.length > 1) {
      childBody.removeChild(childBody.lastChild);
      hidden += 1;
    }
    if (hidden) {
      childBody.removeChild(childBody.lastChild);
      var more = el("tr", "is-more");
      var td = el("td", "", "其余 " + (hidden + 1) + " 个平台见各自大屏");
      td.colSpan = 6;
      more.appendChild(td);
      childBody.appendChild(more);
    }
  }

  // --- hourly arrivals ------------------------------------------------------------------------
  function renderHourly(hourly) {
    chart("chart-hourly").setOption({
      tooltip: tooltip({ trigger: "axis" }),
      legend: { right: "2%", top: 0, textStyle: textStyle(12), itemWidth: px(14), itemHeight: px(8), data: ["今日", "昨日"] },
      grid: { left: px(40), right: px(14), top: px(28), bottom: px(24) },
      xAxis: {
        type: "category", data: hourly.hours,
        axisLabel: { color: COLORS.muted, fontSize: px(11), interval: 1 },
        axisLine: { lineStyle: { color: COLORS.grid } }, axisTick: { show: false },
      },
      yAxis: {
        type: "value", minInterval: 1,
        axisLabel: { color: COLORS.muted, fontSize: px(11) },
        splitLine: { lineStyle: { color: COLORS.grid } },
      },
      series: [
        {
          name: "今日", type: "bar", data: hourly.today, barWidth: "48%",
          itemStyle: {
            borderRadius: [px(3), px(3), 0, 0],
            color: new window.echarts.graphic.LinearGradient(0, 0, 0, 1, [
              { offset: 0, color: COLORS.cyan }, { offset: 1, color: "rgba(61,139,255,0.25)" },
            ]),
          },
        },
        {
          name: "昨日", type: "line", data: hourly.yesterday, smooth: true, symbol: "circle",
          symbolSize: px(5), lineStyle: { color: COLORS.warn, width: px(2), type: "dashed" },
          itemStyle: { color: COLORS.warn },
        },
      ],
    });
  }

  // --- hot topics -----------------------------------------------------------------------------
  function renderHot(topics) {
    $("wall-hot-empty").hidden = topics.length > 0;
    var wasHidden = $("chart-hot").hidden;
    $("chart-hot").hidden = topics.length === 0;
    if (!topics.length) return;
    if (wasHidden && charts["chart-hot"]) charts["chart-hot"].resize();
    var rows = topics.slice().reverse();
    chart("chart-hot").setOption({
      tooltip: tooltip({ trigger: "item", formatter: function (p) {
        var t = rows[p.dataIndex];
        return t.label + "：本期 " + t.count + " 件，上期 " + t.previous + " 件（" + t.growth_text + "）";
      } }),
      grid: { left: px(8), right: px(92), top: px(4), bottom: px(4), containLabel: true },
      xAxis: { type: "value", show: false },
      yAxis: {
        type: "category", data: rows.map(function (t) { return t.label; }),
        axisLabel: { color: COLORS.text, fontSize: px(14) },
        axisLine: { show: false }, axisTick: { show: false },
      },
      series: [{
        type: "bar", barWidth: "52%",
        data: rows.map(function (t, i) {
          var rank = rows.length - i;
          return {
            value: t.count,
            itemStyle: {
              borderRadius: px(3),
              color: new window.echarts.graphic.LinearGradient(0, 0, 1, 0, [
                { offset: 0, color: "rgba(61,139,255,0.35)" },
                { offset: 1, color: rank <= 3 ? "#ff7a45" : COLORS.cyan },
              ]),
            },
          };
        }),
        label: {
          show: true, position: "right", fontSize: px(13), color: COLORS.text,
          formatter: function (p) {
            var t = rows[p.dataIndex];
            return t.count + "  " + (t.growth === null ? "新" : (t.growth >= 0 ? "↑" : "↓") + t.growth_text.replace(/^[+-]/, ""));
          },
        },
      }],
    }, { replaceMerge: ["series"] });
  }

  // --- orders by area -------------------------------------------------------------------------
  function renderAreas(areas) {
    var total = areas.reduce(function (sum, a) { return sum + a.count; }, 0);
    $("wall-areas-total").textContent = "合计 " + total + " 件";
    var rank = clear($("wall-area-rank"));
    areas.slice(0, 8).forEach(function (a) {
      var li = el("li");
      li.appendChild(el("span", "ar-name", a.area));
      li.appendChild(el("span", "ar-count", String(a.count)));
      rank.appendChild(li);
    });
    if (!areas.length) rank.appendChild(el("li", "", "本月暂无工单"));
    var onMap = geo ? areas.filter(function (a) { return geo.indexOf(a.area) >= 0; }) : [];
    var max = Math.max.apply(null, areas.map(function (a) { return a.count; }).concat([1]));
    if (geo && (onMap.length || !areas.length)) {
      $("wall-map-note").textContent = "区域轮廓为示意图" +
        (areas.length > onMap.length ? "；图外区域见右侧排行" : "");
      chart("chart-areas").setOption({
        tooltip: tooltip({ trigger: "item", formatter: function (p) { return p.name + "：" + (p.value || 0) + " 件"; } }),
        visualMap: {
          min: 0, max: max, calculable: false, orient: "horizontal", left: "2%", bottom: 0,
          itemWidth: px(10), itemHeight: px(90), text: ["多", "少"], textStyle: textStyle(11, COLORS.muted),
          inRange: { color: ["#12386f", "#1a62c4", "#2a9df4", "#5fd4ff"] },
        },
        series: [{
          type: "map", map: "wall-areas", roam: false, layoutCenter: ["50%", "50%"], layoutSize: "98%",
          aspectScale: 0.95,
          itemStyle: { borderColor: "#7fdcff", borderWidth: px(1.5), areaColor: "#0d3b7a" },
          emphasis: { label: { color: "#fff" }, itemStyle: { areaColor: "#3d8bff" } },
          select: { disabled: true },
          label: {
            show: true, color: "#fff", fontSize: px(15), fontWeight: "bold",
            textBorderColor: "#031026", textBorderWidth: px(3),
            formatter: function (p) { return p.name + "\n" + (p.value || 0) + " 件"; },
          },
          data: geo.map(function (name) {
            var found = areas.filter(function (a) { return a.area === name; })[0];
            return { name: name, value: found ? found.count : 0 };
          }),
        }],
      }, { replaceMerge: ["series"] });
    } else {
      // areas the hand-drawn outline does not know (another city): a ranked bar chart
      $("wall-map-note").textContent = "";
      var rows = areas.slice(0, 12).reverse();
      chart("chart-areas").setOption({
        tooltip: tooltip({ trigger: "axis" }),
        grid: { left: px(8), right: px(40), top: px(8), bottom: px(8), containLabel: true },
        xAxis: { type: "value", show: false },
        yAxis: { type: "category", data: rows.map(function (a) { return a.area; }), axisLabel: textStyle(13) },
        series: [{
          type: "bar", data: rows.map(function (a) { return a.count; }), barWidth: "55%",
          itemStyle: { color: COLORS.blue, borderRadius: px(3) },
          label: { show: true, position: "right", color: COLORS.text, fontSize: px(13) },
        }],
      }, { replaceMerge: ["series"] });
    }
  }

  // --- overdue and the voice side ---------------------------------------------------------------
  function renderOverdue(overdue) {
    $("wall-overdue-total").textContent = "合计 " + overdue.total + " 件";
    var box = clear($("wall-overdue"));
    overdue.kinds.forEach(function (k) {
      var tile = el("div", "od" + (k.count ? " is-bad" : ""));
      tile.appendChild(el("div", "od-value", String(k.count)));
      tile.appendChild(el("div", "od-label", k.label));
      box.appendChild(tile);
    });
  }

  function renderVoice(voice) {
    $("wall-voice").textContent = voice.label;
    $("wall-trunk").textContent = voice.trunk_label;
    var lost = voice.nodes.some(function (n) { return n.state === "失联"; });
    $("wall-voice-dot").dataset.state = lost ? "down" : voice.connected ? "on" : "off";
    $("wall-trunk-dot").dataset.state =
      voice.trunk_ok === false ? "down" : voice.trunk_ok ? "on" : "off";
    $("wall-voice").title = voice.alarms.join("\n");
  }

  // --- the whole wall, and the live part --------------------------------------------------------
  function renderLive(live) {
    renderCounters(live.calls, live.kpis);
    renderAgents(live.agents);
    renderSide(live.children, live.queues);
  }

  function render() {
    if (!data) return;
    renderLive(data);
    renderChannels(data.channels);
    renderHourly(data.hourly);
    renderHot(data.hot_topics);
    renderAreas(data.areas);
    renderOverdue(data.overdue);
    renderVoice(data.voice);
  }

  function mergeLive(live) {
    if (!data) { // the first full reading has not come (yet): the counters need not wait
      renderLive(live);
      return;
    }
    var before = {};
    (data.children || []).forEach(function (c) { before[c.code] = c; });
    live.children.forEach(function (c) {
      var old = before[c.code];
      if (old) { c.answer_rate = old.answer_rate; c.overdue = old.overdue; }
    });
    ["now", "calls", "kpis", "agents", "queues", "children"].forEach(function (key) { data[key] = live[key]; });
    renderLive(data);
    stamp("实时更新");
  }

  var refreshing = false;
  function refresh() {
    if (refreshing) return;
    refreshing = true;
    H.request("GET", API).then(function (answer) {
      data = answer;
      render();
      stamp("数据更新于");
    }).catch(function (error) {
      stamp("刷新失败：" + H.errorText(error) + "；上次数据");
      if (error.status === 403 || error.status === 404) alarm(error.detail);
    }).then(function () { refreshing = false; });
  }

  function alarm(text) {
    var box = $("wall-alert");
    box.textContent = text;
    box.hidden = false;
  }

  // --- the ticker -----------------------------------------------------------------------------
  function ticker(event) {
    var box = $("wall-ticker");
    var first = box.querySelector(".tk-empty");
    if (first) first.remove();
    var row = el("div", "tk tk-kind-" + event.kind);
    var at = event.at ? new Date(event.at) : new Date();
    row.appendChild(el("span", "tk-time", timeFormat.format(at)));
    row.appendChild(el("span", "", event.channel_label));
    row.appendChild(el("span", "", event.kind_label));
    box.insertBefore(row, box.firstChild);
    while (box.children.length > TICKER_ROWS) box.removeChild(box.lastChild);
  }

  // --- the socket -------------------------------------------------------------------------------
  function liveState(state, text) {
    $("wall-live").dataset.state = state;
    $("wall-live-text").textContent = text;
    $("wall-socket-dot").dataset.state = state;
    $("wall-socket").textContent = "实时推送：" + text;
  }

  var socket = H.socket({
    path: function () { return SOCKET; },
    onConnecting: function () { liveState("connecting", "正在连接…"); },
    onOpen: function () { socket.ok(); liveState("on", "实时"); },
    onEvent: function (event) {
      if (event.event === "live") mergeLive(event.figures);
      else if (event.event === "fact") ticker(event);
      else if (event.event === "error") alarm(event.detail);
    },
    onClose: function (code) {
      if (code === 4401 || code === 4403 || code === 4404) {
        socket.stop();
        liveState("down", "已断开");
        return;
      }
      liveState("down", "连接中断，正在重连");
    },
    onRetry: function (ms) { liveState("down", Math.round(ms / 1000) + " 秒后重连"); },
  });

  // --- start ----------------------------------------------------------------------------------
  function loadAreas() {
    return fetch(AREAS, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("areas " + response.status);
      return response.json();
    }).then(function (json) {
      window.echarts.registerMap("wall-areas", json);
      geo = json.features.map(function (f) { return f.properties.name; });
    }).catch(function () { geo = null; });
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(function () {
      Object.keys(charts).forEach(function (id) { charts[id].resize(); });
      render();
    }, 150);
  });

  $("wall-ticker").appendChild(el("div", "tk-empty", "等待实时事件…"));
  tick();
  window.setInterval(tick, 1000);
  loadAreas().then(function () {
    refresh();
    socket.connect();
  });
  window.setInterval(refresh, REFRESH);
})();
