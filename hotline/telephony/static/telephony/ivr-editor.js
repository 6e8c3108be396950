/* IVR 流程编辑: the flow's nodes as one card each, written back as JSON on submit.
 *
 * The form's <textarea name="nodes"> holds the flow's nodes ({name: step}, as stored and
 * as hotline/telephony/ivr.py declares them); this script reads it on load, shows a card
 * per node with the fields of its type, and serialises the cards into it when the form
 * is submitted. The server checks the flow again and shows its refusals on the page.
 * "编辑 JSON" shows the textarea itself (also shown when its text is not valid JSON).
 *
 * Config (<script type="application/json" id="ivr-config">): kinds [[code, label]],
 * links {kind: [required link fields]}, callers [[code, label]], digits, queues
 * [[code, name]], recordings [[file, label]], tts_url, recording_url, text_max,
 * error_node (the node a server refusal named).
 *
 * A step keeps the fields this page does not show (e.g. "hold"). Server text goes in
 * through textContent only; no inline script or style (CSP).
 */
(function () {
  "use strict";

  var form = document.getElementById("ivr-form");
  var configNode = document.getElementById("ivr-config");
  if (!form || !configNode) return;
  var config = JSON.parse(configNode.textContent);

  var H = window.Hotline;
  var el = H.dom.el, icon = H.dom.icon, clear = H.dom.clear;

  var source = document.getElementById("ivr-nodes-json");
  var jsonBox = document.getElementById("ivr-json");
  var list = document.getElementById("ivr-nodes");
  var addCard = document.getElementById("ivr-add-card");
  var outline = document.getElementById("ivr-outline");
  var startSelect = document.getElementById("ivr-start");
  var problemBox = document.getElementById("ivr-problem");
  var jsonToggle = document.getElementById("ivr-json-toggle");
  var countNode = document.getElementById("ivr-node-count");
  var addName = document.getElementById("ivr-add-name");
  var addKind = document.getElementById("ivr-add-kind");

  var NAME_MAX = 40;
  var KIND_LABELS = {};
  config.kinds.forEach(function (pair) { KIND_LABELS[pair[0]] = pair[1]; });
  var CALLER_CODES = config.callers.map(function (pair) { return pair[0]; });
  var KIND_ICONS = {
    play: "volume-up", menu: "keyboard", hours: "clock", caller: "person-badge",
    queue: "people", survey: "star-half", hangup: "telephone-x",
  };
  var LINK_LABELS = {
    next: "下一节点", fail: "多次无效或超时后", open: "服务时间内", closed: "非服务时间",
    after: "坐席挂机后", other: "其他来电",
  };
  config.callers.forEach(function (pair) { if (pair[0] !== "other") LINK_LABELS[pair[0]] = pair[1]; });
  var firstQueue = config.queues.length ? config.queues[0][0] : "";

  var state = { order: [], nodes: {}, start: startSelect.value, json: false };
  var ids = 0;

  // --- small helpers -------------------------------------------------------------------------
  function nextId() { ids += 1; return "ivr-f" + ids; }

  function problem(text) { H.flash(problemBox, text); }

  function set(step, key, value) {
    if (value === "" || value === null || value === undefined) delete step[key];
    else step[key] = value;
  }

  function button(label, iconName, css) {
    var node = el("button", "btn btn-sm " + (css || "btn-outline-secondary"));
    node.type = "button";
    if (iconName) node.appendChild(icon(iconName));
    if (label) node.appendChild(el("span", "", label));
    return node;
  }

  function option(value, label) {
    var node = el("option", "", label);
    node.value = value;
    return node;
  }

  /** Fill a select with [value, label] pairs (and an empty choice); a value that is not
   * among them stays, marked 不存在, so that nothing is lost silently. */
  function fill(select, pairs, value, empty) {
    clear(select);
    if (empty !== undefined) select.appendChild(option("", empty));
    pairs.forEach(function (pair) { select.appendChild(option(pair[0], pair[1])); });
    value = value === undefined || value === null ? "" : String(value);
    if (value && !pairs.some(function (pair) { return pair[0] === value; })) {
      select.appendChild(option(value, value + "（不存在）"));
    }
    select.value = value;
  }

  function selectNode(css) {
    return el("select", "form-select form-select-sm " + (css || ""));
  }

  function nodeChoices() {
    return state.order.map(function (name) {
      return [name, name + " · " + (KIND_LABELS[state.nodes[name].type] || "未知类型")];
    });
  }

  /** A labelled field: ``width`` is "full", "half" or "third" of the card's grid. */
  function field(label, control, width, help) {
    var wrap = el("div", "ivr-field ivr-w-" + (width || "half"));
    var target = control.matches("input, select, textarea")
      ? control : control.querySelector("input, select, textarea");
    var lab = el("label", "form-label", label);
    if (target) {
      target.id = target.id || nextId();
      lab.htmlFor = target.id;
    }
    wrap.appendChild(lab);
    wrap.appendChild(control);
    if (help) wrap.appendChild(el("div", "form-text", help));
    return wrap;
  }

  function linkFields(kind) {
    var fields = (config.links[kind] || []).slice();
    if (kind === "caller") fields = CALLER_CODES.slice();
    if (fields.indexOf("after") < 0) fields.push("after");
    return fields;
  }

  /** Point every link to ``from`` at ``to`` (null: clear it). */
  function relink(step, from, to) {
    linkFields(step.type).forEach(function (key) {
      if (step[key] === from) set(step, key, to);
    });
    if (step.keys && typeof step.keys === "object") {
      Object.keys(step.keys).forEach(function (digit) {
        if (step.keys[digit] === from) step.keys[digit] = to || "";
      });
    }
  }

  /** Where each node is reached from: {name: ["menu（按键 1）", …]}. */
  function incoming() {
    var found = Object.create(null);
    state.order.forEach(function (name) { found[name] = []; });
    state.order.forEach(function (name) {
      var step = state.nodes[name];
      linkFields(step.type).forEach(function (key) {
        if (found[step[key]]) found[step[key]].push(name + "（" + LINK_LABELS[key] + "）");
      });
      Object.keys(step.keys || {}).forEach(function (digit) {
        var target = step.keys[digit];
        if (found[target]) found[target].push(name + "（按键 " + digit + "）");
      });
    });
    return found;
  }

  // --- 试听 ----------------------------------------------------------------------------------
  var playing = null; // {button, audio, src}

  function playState(node, on, label) {
    node.classList.toggle("active", on);
    clear(node);
    node.appendChild(icon(on ? "stop-fill" : "play-fill"));
    node.appendChild(el("span", "", label || (on ? "停止" : "试听")));
  }

  function stop() {
    if (!playing) return;
    if (playing.audio) playing.audio.pause();
    if (playing.src) URL.revokeObjectURL(playing.src);
    playState(playing.button, false);
    playing = null;
  }

  function preview(node, url) {
    var again = playing && playing.button === node;
    stop();
    if (again) return;
    var mine = (playing = { button: node, audio: null, src: "" });
    playState(node, true, "合成中…");
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          return response.text().then(function (text) {
            throw new Error(text || "试听失败（" + response.status + "）");
          });
        }
        return response.blob();
      })
      .then(function (blob) {
        if (playing !== mine) return;
        mine.src = URL.createObjectURL(blob);
        mine.audio = new Audio(mine.src);
        mine.audio.addEventListener("ended", function () { if (playing === mine) stop(); });
        playState(node, true);
        return mine.audio.play();
      })
      .catch(function (error) {
        if (playing === mine) stop();
        problem(error && error.name === "NotAllowedError" ? "浏览器未允许播放声音" : String(error.message || "试听失败"));
      });
  }

  function ttsButton(textSource) {
    var node = button("试听", "play-fill", "btn-outline-primary ivr-play");
    node.title = "按来电人听到的声音试听";
    node.addEventListener("click", function () {
      var text = textSource().trim();
      if (!text) { problem("请先填写要播放的文字"); return; }
      if (text.length > config.text_max) { problem("试听文本不能超过 " + config.text_max + " 个字"); return; }
      preview(node, config.tts_url + "?text=" + encodeURIComponent(text));
    });
    return node;
  }

  // --- fields --------------------------------------------------------------------------------
  function linkField(step, key, optional, emptyLabel) {
    var select = selectNode("ivr-link");
    select.dataset.link = key;
    fill(select, nodeChoices(), step[key], emptyLabel || (optional ? "（不设置）" : "请选择节点"));
    function mark() { select.classList.toggle("is-invalid", !optional && !select.value); }
    mark();
    select.addEventListener("change", function () {
      set(step, key, select.value);
      mark();
      refresh();
    });
    return field(LINK_LABELS[key], select, "half");
  }

  function numberField(step, key, label, low, high, fallback, help) {
    var input = el("input", "form-control form-control-sm");
    input.type = "number";
    input.min = low;
    input.max = high;
    input.step = 1;
    input.dataset.key = key;
    input.placeholder = "默认 " + fallback;
    if (step[key] !== undefined) input.value = step[key];
    input.addEventListener("input", function () {
      var text = input.value.trim();
      set(step, key, text === "" ? "" : Number(text));
    });
    return field(label, input, "third", help);
  }

  function textField(step, key, label, options) {
    options = options || {};
    var input = el(options.multiline ? "textarea" : "input", "form-control form-control-sm");
    if (options.multiline) input.rows = 2;
    input.dataset.key = key;
    input.placeholder = options.placeholder || "";
    input.value = step[key] || "";
    input.addEventListener("input", function () { set(step, key, input.value); });
    var row = el("div", "ivr-text-row");
    row.appendChild(input);
    row.appendChild(ttsButton(function () { return input.value; }));
    return field(label, row, options.width || "full", options.help);
  }

  /** 播放内容: the text to speak (TTS) or an uploaded recording. */
  function promptField(step, label) {
    var wrap = el("div", "ivr-prompt");
    var name = nextId();
    var modes = el("div", "btn-group btn-group-sm ivr-modes");
    modes.setAttribute("role", "group");
    modes.setAttribute("aria-label", "播放方式");
    var textPanel = el("div", "ivr-text-row");
    var recPanel = el("div", "ivr-text-row");
    var keptText = step.text || "";

    var textarea = el("textarea", "form-control form-control-sm ivr-prompt-text");
    textarea.rows = 2;
    textarea.dataset.key = "text";
    textarea.placeholder = "输入要播放的文字，系统合成普通话语音";
    textarea.value = keptText;
    textarea.addEventListener("input", function () { keptText = textarea.value; set(step, "text", textarea.value); });
    textPanel.appendChild(textarea);
    textPanel.appendChild(ttsButton(function () { return textarea.value; }));

    var recording = selectNode("ivr-recording");
    fill(recording, config.recordings, step.recording,
      config.recordings.length ? "请选择录音" : "尚未上传录音（在流程列表页上传）");
    recording.addEventListener("change", function () { set(step, "recording", recording.value); });
    var recPlay = button("试听", "play-fill", "btn-outline-primary ivr-play");
    recPlay.addEventListener("click", function () {
      if (!recording.value) { problem("请先选择录音"); return; }
      preview(recPlay, config.recording_url + encodeURIComponent(recording.value));
    });
    recPanel.appendChild(recording);
    recPanel.appendChild(recPlay);

    function mode(useRecording) {
      textPanel.hidden = useRecording;
      recPanel.hidden = !useRecording;
      if (useRecording) {
        delete step.text;
        set(step, "recording", recording.value);
      } else {
        delete step.recording;
        set(step, "text", keptText);
      }
    }
    [["text", "文字合成"], ["recording", "上传录音"]].forEach(function (pair) {
      var radio = el("input", "btn-check");
      radio.type = "radio";
      radio.name = name;
      radio.id = nextId();
      radio.value = pair[0];
      radio.checked = (pair[0] === "recording") === Boolean(step.recording);
      radio.addEventListener("change", function () { mode(pair[0] === "recording"); });
      var lab = el("label", "btn btn-outline-secondary", pair[1]);
      lab.htmlFor = radio.id;
      modes.appendChild(radio);
      modes.appendChild(lab);
    });
    textPanel.hidden = Boolean(step.recording);
    recPanel.hidden = !step.recording;
    wrap.appendChild(modes);
    wrap.appendChild(textPanel);
    wrap.appendChild(recPanel);
    var result = field(label || "播放内容", wrap, "full");
    result.querySelector("label.form-label").htmlFor = textarea.id = nextId();
    return result;
  }

  function queueField(step) {
    var select = selectNode("ivr-queue");
    fill(select, config.queues.map(function (pair) { return [pair[0], pair[1] + "（" + pair[0] + "）"]; }),
      step.queue, config.queues.length ? "请选择队列" : "本平台尚未设置队列");
    select.classList.toggle("is-invalid", !select.value);
    select.addEventListener("change", function () {
      set(step, "queue", select.value);
      select.classList.toggle("is-invalid", !select.value);
    });
    return field(step.type === "hours" ? "按此队列的服务时间" : "进入队列", select, "half");
  }

  function switchField(step, key, label, fallback) {
    var wrap = el("div", "form-check form-switch ivr-switch-field");
    var input = el("input", "form-check-input");
    input.type = "checkbox";
    input.setAttribute("role", "switch");
    input.id = nextId();
    input.checked = step[key] === undefined ? fallback : Boolean(step[key]);
    input.addEventListener("change", function () { step[key] = input.checked; });
    var lab = el("label", "form-check-label", label);
    lab.htmlFor = input.id;
    wrap.appendChild(input);
    wrap.appendChild(lab);
    var outer = el("div", "ivr-field ivr-w-third ivr-field-switch");
    outer.appendChild(wrap);
    return outer;
  }

  /** 按键: rows of key → node; a key is used once. */
  function keysField(step) {
    var box = el("div", "ivr-keys");
    if (!step.keys || typeof step.keys !== "object") step.keys = {};

    function rows() {
      return Object.keys(step.keys).sort(function (a, b) {
        return config.digits.indexOf(a) - config.digits.indexOf(b);
      });
    }

    function draw() {
      clear(box);
      var used = rows();
      used.forEach(function (digit) {
        var row = el("div", "ivr-key-row");
        row.dataset.key = digit;
        var keySelect = selectNode("ivr-key");
        keySelect.setAttribute("aria-label", "按键");
        fill(keySelect, config.digits.filter(function (d) {
          return d === digit || used.indexOf(d) < 0;
        }).map(function (d) { return [d, "按 " + d]; }), digit);
        keySelect.addEventListener("change", function () {
          var target = step.keys[digit];
          delete step.keys[digit];
          step.keys[keySelect.value] = target;
          draw();
          refresh();
        });
        var target = selectNode("ivr-key-target");
        target.setAttribute("aria-label", "按键 " + digit + " 进入");
        fill(target, nodeChoices(), step.keys[digit], "请选择节点");
        target.classList.toggle("is-invalid", !target.value);
        target.addEventListener("change", function () {
          step.keys[digit] = target.value;
          target.classList.toggle("is-invalid", !target.value);
          refresh();
        });
        var remove = button("", "x-lg", "btn-outline-danger ivr-key-remove");
        remove.title = "删除按键 " + digit;
        remove.setAttribute("aria-label", "删除按键 " + digit);
        remove.addEventListener("click", function () {
          delete step.keys[digit];
          draw();
          refresh();
        });
        var arrow = el("span", "ivr-key-arrow");
        arrow.appendChild(icon("arrow-right"));
        row.appendChild(keySelect);
        row.appendChild(arrow);
        row.appendChild(target);
        row.appendChild(remove);
        box.appendChild(row);
      });
      if (!used.length) box.appendChild(el("div", "ivr-keys-empty", "尚未设置按键"));
      var free = config.digits.filter(function (d) { return used.indexOf(d) < 0; });
      var add = button("添加按键", "plus-lg", "btn-outline-primary ivr-key-add");
      add.disabled = !free.length;
      add.addEventListener("click", function () {
        step.keys[free[0]] = "";
        draw();
        refresh();
        var rowsNow = box.querySelectorAll(".ivr-key-row[data-key='" + free[0] + "'] .ivr-key-target");
        if (rowsNow.length) rowsNow[0].focus();
      });
      box.appendChild(add);
    }
    draw();
    return field("按键", box, "full", "来电人在提示播放中即可按键；未设置的按键视为按错");
  }

  var FIELDS = {
    play: function (step, body) {
      body.appendChild(promptField(step));
      body.appendChild(linkField(step, "next"));
    },
    menu: function (step, body) {
      body.appendChild(promptField(step, "菜单提示"));
      body.appendChild(keysField(step));
      body.appendChild(numberField(step, "timeout", "等待按键（秒）", 1, 60, 5));
      body.appendChild(numberField(step, "retries", "无效后重播次数", 0, 9, 2));
      body.appendChild(linkField(step, "fail"));
      body.appendChild(textField(step, "invalid_text", "按错提示", { placeholder: "如：您的按键有误。" }));
    },
    hours: function (step, body) {
      body.appendChild(queueField(step));
      body.appendChild(el("div", "ivr-field ivr-w-half"));
      body.appendChild(linkField(step, "open"));
      body.appendChild(linkField(step, "closed"));
    },
    caller: function (step, body) {
      CALLER_CODES.forEach(function (code) {
        body.appendChild(code === "other"
          ? linkField(step, code)
          : linkField(step, code, true, "（不单独处理）"));
      });
    },
    queue: function (step, body) {
      body.appendChild(queueField(step));
      body.appendChild(linkField(step, "after", true, "（通话结束即挂机）"));
      body.appendChild(numberField(step, "announce_every", "排队通报间隔（秒）", 0, 600, 30, "0 为不通报，否则 10–600 秒"));
      body.appendChild(switchField(step, "voicemail", "非服务时间允许语音留言", true));
      body.appendChild(numberField(step, "voicemail_seconds", "留言最长（秒）", 5, 300, 60));
    },
    survey: function (step, body) {
      body.appendChild(promptField(step, "评价提示"));
      body.appendChild(numberField(step, "timeout", "等待按键（秒）", 1, 60, 8));
      body.appendChild(numberField(step, "retries", "无效后重播次数", 0, 9, 1));
      body.appendChild(linkField(step, "next"));
      body.appendChild(textField(step, "thanks", "评价后致谢", { placeholder: "如：感谢您的评价，再见。" }));
    },
    hangup: function (step, body) {
      body.appendChild(textField(step, "text", "挂机前播放", {
        multiline: true, placeholder: "可留空：直接挂机", help: "如：感谢您的来电，再见。",
      }));
    },
  };

  var FRESH = {
    play: function () { return { text: "" }; },
    menu: function () { return { text: "", keys: {}, timeout: 5, retries: 2, invalid_text: "您的按键有误。" }; },
    hours: function () { return { queue: firstQueue }; },
    caller: function () { return {}; },
    queue: function () { return { queue: firstQueue, announce_every: 30, hold: "tone" }; },
    survey: function () {
      return { text: "请对本次服务进行评价：非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5。",
        timeout: 8, thanks: "感谢您的评价，再见。" };
    },
    hangup: function () { return {}; },
  };

  function fresh(kind, from) {
    var step = Object.assign({ type: kind }, FRESH[kind]());
    if (from && ["play", "menu", "survey", "hangup"].indexOf(kind) >= 0) {
      if (from.text) step.text = from.text;
      if (from.recording && kind !== "hangup") step.recording = from.recording;
    }
    if (!step.text) delete step.text;
    return step;
  }

  // --- cards ---------------------------------------------------------------------------------
  function card(name, refs) {
    var step = state.nodes[name];
    var kind = step.type;
    var box = el("section", "card ivr-node ivr-kind-" + (KIND_ICONS[kind] ? kind : "unknown"));
    box.dataset.node = name;
    if (name === config.error_node) box.classList.add("ivr-node-error");

    var head = el("div", "ivr-node-head");
    var badge = el("span", "ivr-node-icon");
    badge.appendChild(icon(KIND_ICONS[kind] || "question-circle"));
    head.appendChild(badge);
    var nameInput = el("input", "form-control form-control-sm ivr-node-name");
    nameInput.value = name;
    nameInput.maxLength = NAME_MAX;
    nameInput.setAttribute("aria-label", "节点名称");
    nameInput.title = "节点名称（修改后，指向它的链接一并更新）";
    nameInput.addEventListener("change", function () { rename(name, nameInput); });
    head.appendChild(nameInput);
    var type = selectNode("ivr-node-type");
    type.setAttribute("aria-label", "节点类型");
    fill(type, config.kinds, kind);
    type.addEventListener("change", function () {
      state.nodes[name] = fresh(type.value, step);
      render();
    });
    head.appendChild(type);
    var tools = el("div", "ivr-node-tools");
    if (name === state.start) {
      var startTag = el("span", "role-badge ivr-start-tag");
      startTag.appendChild(icon("flag-fill"));
      startTag.appendChild(el("span", "", "起始节点"));
      tools.appendChild(startTag);
    } else {
      var makeStart = button("设为起始", "flag", "btn-outline-secondary");
      makeStart.addEventListener("click", function () { state.start = name; render(); });
      tools.appendChild(makeStart);
    }
    var remove = button("", "trash", "btn-outline-danger");
    remove.title = "删除节点";
    remove.setAttribute("aria-label", "删除节点 " + name);
    remove.dataset.confirm = "确定删除节点“" + name + "”吗？" +
      (refs.length ? "指向它的 " + refs.length + " 处链接将被清空。" : "");
    remove.addEventListener("click", function () { removeNode(name); });
    tools.appendChild(remove);
    head.appendChild(tools);
    box.appendChild(head);

    var body = el("div", "ivr-node-body");
    if (FIELDS[kind]) FIELDS[kind](step, body);
    else body.appendChild(el("div", "text-danger", "未知的节点类型“" + kind + "”：请选择类型"));
    box.appendChild(body);
    var foot = el("div", "ivr-node-foot");
    box.appendChild(foot);
    return box;
  }

  function footText(foot, name, refs) {
    clear(foot);
    foot.appendChild(icon("arrow-return-right"));
    if (refs.length) {
      foot.appendChild(el("span", "", "来自：" + refs.join("、")));
      foot.classList.remove("ivr-orphan");
    } else if (name === state.start) {
      foot.appendChild(el("span", "", "来电接通后从这里开始"));
      foot.classList.remove("ivr-orphan");
    } else {
      foot.appendChild(el("span", "", "没有节点进入此节点，来电不会到达这里"));
      foot.classList.add("ivr-orphan");
    }
  }

  function summary(step) {
    if (step.type === "menu") {
      return Object.keys(step.keys || {}).map(function (d) { return d + "→" + (step.keys[d] || "?"); }).join("  ");
    }
    if (step.type === "queue") return "队列 " + (step.queue || "?") + (step.after ? " → " + step.after : "");
    if (step.type === "hangup") return "挂断";
    return linkFields(step.type).filter(function (key) { return step[key]; })
      .map(function (key) { return "→ " + step[key]; }).join("  ");
  }

  function drawOutline(refs) {
    clear(outline);
    state.order.forEach(function (name, index) {
      var step = state.nodes[name];
      var item = el("li", "ivr-outline-item");
      var link = el("button", "ivr-outline-link");
      link.type = "button";
      var badge = el("span", "ivr-outline-icon ivr-kind-" + step.type);
      badge.appendChild(icon(KIND_ICONS[step.type] || "question-circle"));
      link.appendChild(badge);
      var text = el("span", "ivr-outline-text");
      var top = el("span", "ivr-outline-name", name);
      text.appendChild(top);
      text.appendChild(el("span", "ivr-outline-sub", (KIND_LABELS[step.type] || "未知类型") + "  " + summary(step)));
      link.appendChild(text);
      if (name === state.start) link.appendChild(el("span", "tag tag-ok", "起始"));
      else if (!refs[name].length) link.appendChild(el("span", "tag tag-muted", "未引用"));
      link.addEventListener("click", function () {
        var target = list.children[index];
        if (!target) return;
        target.scrollIntoView({ behavior: "smooth", block: "start" });
        target.classList.remove("ivr-node-flash");
        void target.offsetWidth; // restart the highlight
        target.classList.add("ivr-node-flash");
      });
      item.appendChild(link);
      outline.appendChild(item);
    });
  }

  /** After a link changed: the footers, the outline and the start choice. */
  function refresh() {
    var refs = incoming();
    Array.prototype.forEach.call(list.children, function (box) {
      var name = box.dataset.node;
      if (refs[name]) footText(box.querySelector(".ivr-node-foot"), name, refs[name]);
    });
    drawOutline(refs);
    fill(startSelect, state.order.map(function (n) { return [n, n]; }), state.start);
    countNode.textContent = "共 " + state.order.length + " 个";
  }

  function render() {
    stop();
    var refs = incoming();
    clear(list);
    state.order.forEach(function (name) { list.appendChild(card(name, refs[name])); });
    refresh();
  }

  // --- structure: rename, remove, add --------------------------------------------------------
  function nameProblem(name, except) {
    if (!name) return "节点名称不能为空";
    if (name.length > NAME_MAX) return "节点名称不能超过 " + NAME_MAX + " 个字";
    if (name !== except && Object.prototype.hasOwnProperty.call(state.nodes, name)) {
      return "已有名为“" + name + "”的节点";
    }
    return "";
  }

  function rename(from, input) {
    if (!Object.prototype.hasOwnProperty.call(state.nodes, from)) return; // a card drawn over
    var to = input.value.trim();
    var why = nameProblem(to, from);
    if (why) {
      input.value = from;
      problem(why);
      return;
    }
    if (to === from) { input.value = from; return; }
    state.order = state.order.map(function (n) { return n === from ? to : n; });
    state.nodes[to] = state.nodes[from];
    delete state.nodes[from];
    state.order.forEach(function (n) { relink(state.nodes[n], from, to); });
    if (state.start === from) state.start = to;
    render();
  }

  function removeNode(name) {
    state.order = state.order.filter(function (n) { return n !== name; });
    delete state.nodes[name];
    state.order.forEach(function (n) { relink(state.nodes[n], name, null); });
    if (state.start === name) state.start = state.order[0] || "";
    render();
  }

  function suggestName(kind) {
    var name = kind;
    for (var i = 2; Object.prototype.hasOwnProperty.call(state.nodes, name); i += 1) name = kind + i;
    return name;
  }

  document.getElementById("ivr-add").addEventListener("click", function () {
    var kind = addKind.value;
    var name = addName.value.trim() || suggestName(kind);
    var why = nameProblem(name);
    if (why) { problem(why); addName.focus(); return; }
    state.order.push(name);
    state.nodes[name] = fresh(kind);
    if (!state.start) state.start = name;
    addName.value = "";
    render();
    var added = list.lastElementChild;
    added.scrollIntoView({ block: "center" });
    added.classList.add("ivr-node-flash");
    var first = added.querySelector(".ivr-node-body textarea, .ivr-node-body input, .ivr-node-body select");
    if (first) first.focus({ preventScroll: true });
  });
  addName.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      document.getElementById("ivr-add").click();
    }
  });

  // Enter in a card's one-line field is not "save the flow": it only commits the field
  list.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || event.isComposing || target.tagName !== "INPUT") return;
    if (target.type !== "text" && target.type !== "number") return;
    event.preventDefault();
    target.dispatchEvent(new Event("change"));
  });

  startSelect.addEventListener("change", function () {
    state.start = startSelect.value;
    render();
  });

  // --- JSON in, JSON out ---------------------------------------------------------------------
  function load(text) {
    var parsed;
    try {
      parsed = JSON.parse(text || "{}");
    } catch (e) {
      return "节点数据不是有效的 JSON：" + e.message;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      return "节点数据应为“节点名称 → 节点设置”的 JSON 对象";
    }
    var names = Object.keys(parsed);
    for (var i = 0; i < names.length; i += 1) {
      var step = parsed[names[i]];
      if (!step || typeof step !== "object" || Array.isArray(step)) {
        return "节点“" + names[i] + "”的设置应为 JSON 对象";
      }
    }
    state.order = names;
    state.nodes = parsed;
    return "";
  }

  function serialise() {
    var out = {};
    state.order.forEach(function (name) { out[name] = state.nodes[name]; });
    return JSON.stringify(out, null, 2);
  }

  function showJson(on) {
    state.json = on;
    jsonBox.hidden = !on;
    list.hidden = on;
    addCard.hidden = on;
    outline.closest(".ivr-outline-card").classList.toggle("ivr-dim", on);
    jsonToggle.querySelector("span").textContent = on ? "返回卡片编辑" : "编辑 JSON";
  }

  jsonToggle.addEventListener("click", function () {
    if (!state.json) {
      source.value = serialise();
      showJson(true);
      return;
    }
    var why = load(source.value);
    if (why) { problem(why); return; }
    if (!state.nodes[state.start]) state.start = startSelect.value;
    showJson(false);
    render();
  });

  /** What the server would refuse, said in the page's words (the server checks again). */
  function check() {
    for (var i = 0; i < state.order.length; i += 1) {
      var name = state.order[i];
      var step = state.nodes[name];
      var where = "节点“" + name + "”";
      if (!FIELDS[step.type]) return [name, where + "的类型无效"];
      var required = (config.links[step.type] || []);
      for (var j = 0; j < required.length; j += 1) {
        if (!step[required[j]]) return [name, where + "未选择“" + LINK_LABELS[required[j]] + "”"];
      }
      if ((step.type === "play" || step.type === "survey") && !String(step.text || "").trim() && !step.recording) {
        return [name, where + "需要填写播放文字或选择录音"];
      }
      if (step.type === "menu") {
        var digits = Object.keys(step.keys || {});
        if (!digits.length) return [name, where + "至少需要一个按键"];
        for (var k = 0; k < digits.length; k += 1) {
          if (!step.keys[digits[k]]) return [name, where + "按键 " + digits[k] + " 未选择进入的节点"];
        }
      }
      if ((step.type === "queue" || step.type === "hours") && !step.queue) {
        return [name, where + "未选择队列"];
      }
    }
    if (!state.order.length) return ["", "流程至少需要一个节点"];
    return null;
  }

  form.addEventListener("submit", function (event) {
    stop();
    if (state.json) return; // the text as typed: the server says what is wrong with it
    var found = check();
    if (found) {
      event.preventDefault();
      problem(found[1]);
      var box = list.querySelector(".ivr-node[data-node='" + CSS.escape(found[0]) + "']");
      Array.prototype.forEach.call(list.querySelectorAll(".ivr-node-error"), function (n) {
        n.classList.remove("ivr-node-error");
      });
      if (box) {
        box.classList.add("ivr-node-error");
        box.scrollIntoView({ block: "center" });
      }
      return;
    }
    source.value = serialise();
  });

  // --- start ---------------------------------------------------------------------------------
  var why = load(source.value);
  if (why) {
    showJson(true);
    problem(why);
  } else {
    render();
    // a refusal naming a node: a way to it from the summary at the top of the page
    var failed = config.error_node && list.querySelector(".ivr-node-error");
    var summaryBox = document.getElementById("ivr-errors");
    if (failed && summaryBox) {
      var go = button("定位到节点“" + config.error_node + "”", "arrow-down", "btn-outline-danger ivr-goto");
      go.addEventListener("click", function () {
        failed.scrollIntoView({ behavior: "smooth", block: "center" });
      });
      summaryBox.appendChild(go);
    }
  }
})();
