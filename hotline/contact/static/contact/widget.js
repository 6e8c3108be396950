/* 网页在线咨询挂件: a site adds
 *
 *   <script src="https://<hotline>/static/contact/widget.js" data-entry="SY/web" async></script>
 *
 * and gets a floating “在线咨询” button that opens a panel with the hotline's chat page in a
 * frame (/chat/SY/web/?embed=1). Everything lives in a shadow root with its own styles
 * (a constructed style sheet: allowed under a strict Content-Security-Policy), so the
 * host page's styles and the widget's do not touch. Whether the panel is open is kept per
 * entry in the host site's localStorage.
 *
 * Optional attributes: data-label (the button's text), data-title (the panel's title).
 * The frame and the widget exchange only two things by postMessage: the panel is
 * open/closed (so replies are acknowledged when seen) and how many replies are unread.
 */
(function () {
  "use strict";

  var script =
    document.currentScript ||
    document.querySelector('script[src*="/static/contact/widget.js"][data-entry]');
  if (!script) return;
  var entry = (script.getAttribute("data-entry") || "").trim();
  if (!/^[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+$/.test(entry)) {
    if (window.console) window.console.warn("在线咨询挂件：data-entry 应形如 SY/web");
    return;
  }
  var registry = (window.__hotlineWebchat = window.__hotlineWebchat || {});
  if (registry[entry]) return; // the snippet pasted twice
  registry[entry] = true;

  var base = new URL(script.src, window.location.href).origin;
  var label = script.getAttribute("data-label") || "在线咨询";
  var title = script.getAttribute("data-title") || "12345 在线咨询";
  var chatUrl = base + "/chat/" + entry + "/?embed=1";
  var storeKey = "hotline.widget." + entry + ".open";

  var ICON_CHAT =
    "M16 8c0 3.866-3.582 7-8 7a9 9 0 0 1-2.347-.306c-.584.296-1.925.864-4.181 1.234-.2.032-.352-.176-.273-.362.354-.836.674-1.95.77-2.966C.744 11.37 0 9.76 0 8c0-3.866 3.582-7 8-7s8 3.134 8 7M5 8a1 1 0 1 0-2 0 1 1 0 0 0 2 0m4 0a1 1 0 1 0-2 0 1 1 0 0 0 2 0m3 1a1 1 0 1 0 0-2 1 1 0 0 0 0 2";
  var ICON_MINIMISE = "M2 8a.5.5 0 0 1 .5-.5h11a.5.5 0 0 1 0 1h-11A.5.5 0 0 1 2 8";

  var CSS = [
    // the host element is the site's: nothing of the site's CSS may style it
    ":host { all: initial !important; }",
    ".hlw-root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;",
    "  font-family: 'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', system-ui, sans-serif;",
    "  font-size: 15px; line-height: 1.4; color: #1d2939; }",
    ".hlw-root *, .hlw-root *::before, .hlw-root *::after { box-sizing: border-box; }",
    ".hlw-launcher { position: relative; display: inline-flex; align-items: center; gap: 8px;",
    "  margin: 0; padding: 12px 20px 12px 16px; border: 0; border-radius: 999px;",
    "  background: #1f4e79; color: #fff; font: inherit; font-size: 15px; font-weight: 600;",
    "  letter-spacing: 1px; cursor: pointer;",
    "  box-shadow: 0 8px 24px rgba(15, 44, 72, 0.28), 0 2px 6px rgba(15, 44, 72, 0.18); }",
    ".hlw-launcher:hover { background: #163b5e; }",
    ".hlw-launcher:focus-visible, .hlw-close:focus-visible { outline: 3px solid #f0b429; outline-offset: 2px; }",
    ".hlw-icon { width: 20px; height: 20px; fill: currentColor; flex: none; }",
    ".hlw-dot { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px;",
    "  padding: 0 6px; border-radius: 10px; background: #d92d20; color: #fff; font-size: 12px;",
    "  line-height: 20px; text-align: center; border: 2px solid #fff; }",
    ".hlw-panel { position: fixed; right: 20px; bottom: 20px; display: flex; flex-direction: column;",
    "  width: 400px; height: min(640px, calc(100vh - 40px)); border-radius: 14px; overflow: hidden;",
    "  background: #fff; box-shadow: 0 16px 48px rgba(15, 44, 72, 0.28), 0 2px 8px rgba(15, 44, 72, 0.12); }",
    ".hlw-bar { display: flex; align-items: center; gap: 8px; padding: 10px 8px 10px 14px;",
    "  background: #1f4e79; color: #fff; flex: none; }",
    ".hlw-title { flex: 1; display: inline-flex; align-items: center; gap: 8px; font-size: 15px; font-weight: 600; }",
    ".hlw-close { display: inline-flex; align-items: center; justify-content: center; width: 34px; height: 34px;",
    "  margin: 0; padding: 0; border: 0; border-radius: 8px; background: transparent; color: #fff; cursor: pointer; }",
    ".hlw-close:hover { background: rgba(255, 255, 255, 0.16); }",
    ".hlw-frame { display: block; width: 100%; flex: 1; border: 0; background: #f5f7fa; }",
    "[hidden] { display: none !important; }",
    "@media (max-width: 520px) {",
    "  .hlw-root { right: 14px; bottom: 14px; }",
    "  .hlw-panel { right: 0; bottom: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; }",
    "}",
  ].join("\n");

  function svg(path) {
    var ns = "http://www.w3.org/2000/svg";
    var node = document.createElementNS(ns, "svg");
    node.setAttribute("viewBox", "0 0 16 16");
    node.setAttribute("class", "hlw-icon");
    node.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    node.appendChild(p);
    return node;
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }
  function remembered() {
    try {
      return window.localStorage.getItem(storeKey) === "1";
    } catch (e) {
      return false;
    }
  }
  function remember(open) {
    try {
      window.localStorage.setItem(storeKey, open ? "1" : "0");
    } catch (e) {
      /* not remembered: fine */
    }
  }

  function start() {
    // an element of its own name, which no site style sheet aims at
    var host = document.createElement("hotline-webchat");
    host.setAttribute("data-hotline-webchat", entry);
    if (!host.attachShadow) return; // a browser too old for the widget: the page is untouched
    var shadow = host.attachShadow({ mode: "open" });
    if (shadow.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      var style = document.createElement("style"); // needs style-src allowing it
      style.textContent = CSS;
      shadow.appendChild(style);
    }

    var rootNode = el("div", "hlw-root");
    var launcher = el("button", "hlw-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-haspopup", "dialog");
    launcher.appendChild(svg(ICON_CHAT));
    launcher.appendChild(el("span", "hlw-label", label));
    var dot = el("span", "hlw-dot");
    dot.hidden = true;
    dot.setAttribute("aria-label", "有新回复");
    launcher.appendChild(dot);

    var panel = el("div", "hlw-panel");
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", title);
    var bar = el("div", "hlw-bar");
    var heading = el("span", "hlw-title");
    heading.appendChild(svg(ICON_CHAT));
    heading.appendChild(el("span", "", title));
    var close = el("button", "hlw-close");
    close.type = "button";
    close.setAttribute("aria-label", "收起在线咨询");
    close.title = "收起";
    close.appendChild(svg(ICON_MINIMISE));
    bar.appendChild(heading);
    bar.appendChild(close);
    panel.appendChild(bar);

    rootNode.appendChild(launcher);
    rootNode.appendChild(panel);
    shadow.appendChild(rootNode);
    document.body.appendChild(host);

    var frame = null;
    var frameLoaded = false;
    var isOpen = false;

    function tellFrame() {
      if (frame && frameLoaded && frame.contentWindow) {
        frame.contentWindow.postMessage({ source: "hotline-widget", open: isOpen }, base);
      }
    }

    function setOpen(open) {
      isOpen = open;
      if (open && !frame) {
        // the chat (and its socket) starts only when the citizen first opens the panel
        frame = el("iframe", "hlw-frame");
        frame.title = title;
        frame.src = chatUrl;
        frame.setAttribute("allow", "clipboard-write");
        frame.addEventListener("load", function () {
          frameLoaded = true;
          tellFrame();
        });
        panel.appendChild(frame);
      }
      panel.hidden = !open;
      launcher.hidden = open;
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        dot.hidden = true;
        dot.textContent = "";
      }
      remember(open);
      tellFrame();
    }

    launcher.addEventListener("click", function () {
      setOpen(true);
      close.focus();
    });
    close.addEventListener("click", function () {
      setOpen(false);
      launcher.focus();
    });
    shadow.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen) {
        setOpen(false);
        launcher.focus();
      }
    });
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (!frame || event.origin !== base || event.source !== frame.contentWindow) return;
      if (!data || data.source !== "hotline-webchat") return;
      var unread = parseInt(data.unread, 10) || 0;
      if (!isOpen && unread > 0) {
        dot.textContent = unread > 99 ? "99+" : String(unread);
        dot.hidden = false;
      }
    });

    if (remembered()) setOpen(true);
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
