/**
 * The viewer's script (served at `/p/assets/viewer.js`): progressive enhancement only, the page
 * works without it. It follows the page's event stream (`GET /v1/pages/<id>/events`, the page
 * id from `<body data-page-id>`: the Content-Security-Policy allows no inline script) and on
 * each event refetches the page and swaps its `<main>`, keeping what the person is typing
 * (changed fields, the focus and the caret, chosen files, open `<details>`). The refetch sends
 * `X-Trellis-Live: 1` so that it does not count as another view. It also asks to confirm the
 * buttons of actions that declare `confirm`.
 */
import { Asset } from "trellis/plugin"

export const viewerJsSource = `(function () {
  "use strict";
  var body = document.body;
  var pageId = body && body.getAttribute("data-page-id");

  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target && target.closest ? target.closest("button[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  if (!pageId || typeof EventSource === "undefined" || typeof DOMParser === "undefined" || typeof fetch === "undefined") return;

  function keyOf(el) {
    if (el.id) return "#" + el.id;
    if (el.name) return "@" + (el.form && el.form.id ? el.form.id : "") + ":" + el.name;
    return null;
  }

  function snapshot(root) {
    var fields = {};
    var files = {};
    var controls = root.querySelectorAll("input, textarea, select");
    for (var i = 0; i < controls.length; i++) {
      var el = controls[i];
      var key = keyOf(el);
      if (!key || el.type === "hidden") continue;
      if (el.type === "file") {
        if (el.files && el.files.length > 0) files[key] = el;
      } else if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) fields[key] = { checked: el.checked };
      } else if (el.tagName === "SELECT") {
        var changed = false;
        for (var j = 0; j < el.options.length; j++) if (el.options[j].selected !== el.options[j].defaultSelected) changed = true;
        if (changed) fields[key] = { value: el.value };
      } else if (el.value !== el.defaultValue) {
        fields[key] = { value: el.value };
      }
    }
    var open = [];
    var details = root.querySelectorAll("details");
    for (var k = 0; k < details.length; k++) open.push(details[k].open);
    var active = document.activeElement;
    var focus = active && root.contains(active) ? keyOf(active) : null;
    var selection = null;
    try {
      if (focus && typeof active.selectionStart === "number") selection = [active.selectionStart, active.selectionEnd];
    } catch (e) { selection = null; }
    return { fields: fields, files: files, open: open, focus: focus, selection: selection };
  }

  function find(root, key) {
    var controls = root.querySelectorAll("input, textarea, select");
    for (var i = 0; i < controls.length; i++) if (keyOf(controls[i]) === key) return controls[i];
    return null;
  }

  function restore(root, state) {
    Object.keys(state.fields).forEach(function (key) {
      var el = find(root, key);
      if (!el) return;
      var saved = state.fields[key];
      if ("checked" in saved) el.checked = saved.checked; else el.value = saved.value;
    });
    Object.keys(state.files).forEach(function (key) {
      var el = find(root, key);
      if (el && el.parentNode) el.parentNode.replaceChild(state.files[key], el);
    });
    var details = root.querySelectorAll("details");
    if (details.length === state.open.length) for (var k = 0; k < details.length; k++) details[k].open = state.open[k];
    if (state.focus) {
      var focused = find(root, state.focus);
      if (focused) {
        focused.focus();
        try {
          if (state.selection) focused.setSelectionRange(state.selection[0], state.selection[1]);
        } catch (e) { /* not a text control */ }
      }
    }
  }

  var running = false;
  var again = false;

  function refresh() {
    if (running) { again = true; return; }
    running = true;
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "accept": "text/html", "x-trellis-live": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var next = new DOMParser().parseFromString(text, "text/html").getElementById("content");
        var current = document.getElementById("content");
        if (!next || !current) return;
        var state = snapshot(current);
        var adopted = document.importNode(next, true);
        current.parentNode.replaceChild(adopted, current);
        restore(adopted, state);
        body.setAttribute("data-live-version", adopted.getAttribute("data-version") || "");
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        running = false;
        if (again) { again = false; refresh(); }
      });
  }

  var connectedOnce = false;
  function onEvent(event) {
    var type = event.type;
    try {
      var parsed = JSON.parse(event.data);
      if (parsed && typeof parsed.type === "string") type = parsed.type;
    } catch (e) { /* keepalive or not JSON */ }
    if (type === "connected") {
      // A reconnect may have missed events: refresh once.
      if (connectedOnce) refresh();
      connectedOnce = true;
      body.setAttribute("data-live-connected", "1");
      return;
    }
    refresh();
  }

  var source = new EventSource("/v1/pages/" + encodeURIComponent(pageId) + "/events");
  source.onmessage = onEvent;
  ["connected", "blocks.appended", "block.updated", "blocks.reordered", "action.executed", "decision.recorded",
   "comment.added", "comment.updated", "comment.deleted", "file.uploaded", "file.deleted", "page.published",
   "page.updated", "page.completed", "page.revoked", "page.expired"].forEach(function (name) {
    source.addEventListener(name, onEvent);
  });
  body.setAttribute("data-live", "on");
})();
`

export const viewerJs = Asset.text("text/javascript", viewerJsSource)
