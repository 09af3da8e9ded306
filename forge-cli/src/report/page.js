// forge report page: draws the figures of the embedded data block and runs the transcript
// browser. No network: a run file the user opens is read in the browser with the File API.
(function () {
  "use strict";
  var D, byIndex = {}, file = null, offsets = null, fileMatches = null;
  var END_ORDER = ["pattern", "jump", "forced_jump", "limit", "eos", "forced", "unfinished"];
  var KIND_TITLE = { forced: "forced", generated: "generated", fed: "fed (tool result)", forced_close: "forced close" };

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function pct(x) { return (100 * x).toFixed(x < 0.1 && x > 0 ? 1 : 0) + "%"; }
  function endColor(name) { return END_ORDER.indexOf(name) >= 0 ? "var(--" + name + ")" : "var(--other)"; }
  function zoneName(i) {
    var z = D.zones[i];
    return z ? z.label + (z.tags.length ? " [" + z.tags.join(", ") + "]" : "") : "zone " + i;
  }
  function bounds(k) { return k === 0 ? "0" : (k === 1 ? "1" : Math.pow(2, k - 1) + "–" + (Math.pow(2, k) - 1)); }
  function hist(h) {
    var box = el("span", { "class": "hist" });
    var top = Math.max.apply(null, h.buckets.concat([1]));
    h.buckets.forEach(function (n, k) {
      var s = el("span", { title: bounds(k) + ": " + n });
      s.style.height = Math.max(1, Math.round(28 * n / top)) + "px";
      box.appendChild(s);
    });
    return box;
  }
  function fail(e) {
    document.body.setAttribute("data-error", String(e && e.message || e));
    var p = $("error");
    p.hidden = false;
    p.textContent = "forge report error: " + (e && e.message || e);
    if (window.console) console.error("forge report error", e);
  }

  function drawSummary() {
    var h = D.header;
    $("summary").textContent = D.streams + " streams (" + D.finished + " finished, " + D.failed +
      " failed) of range " + h.range[0] + ".." + h.range[1] + " · seed " + h.seed + " · " +
      D.tokens + " tokens generated · run format version " + h.version;
    var b = $("banners");
    if (D.stopped) {
      b.appendChild(el("p", { "class": "banner bad", id: "stopped" },
        (D.stopped.torn ? "The file is torn" : "The file could not be read to its end") + " at line " +
        D.stopped.line + ": " + D.stopped.message + " The figures cover the " + D.streams + " streams before it."));
    }
    D.zones.forEach(function (z) { if (z.warning) b.appendChild(el("p", { "class": "banner warn" }, z.warning)); });
    var run = $("run");
    run.appendChild(el("p", null, "How the streams were executed (the header's generator):"));
    run.appendChild(el("pre", null, JSON.stringify(h.generator, null, 1)));
    var names = Object.keys(h.extractions);
    if (names.length) {
      run.appendChild(el("p", null, "Extractions: " + names.map(function (n) { return n + " [" + h.extractions[n].join(", ") + "]"; }).join(" · ")));
    }
    var p = el("p", null, "Tokens per stream: mean " + (D.tokens_per_stream.count ? (D.tokens_per_stream.sum / D.tokens_per_stream.count).toFixed(1) : 0) +
      ", min " + D.tokens_per_stream.min + ", max " + D.tokens_per_stream.max + " ");
    p.appendChild(hist(D.tokens_per_stream));
    run.appendChild(p);
  }

  function drawZones() {
    var seen = {};
    D.zones.forEach(function (z) { Object.keys(z.ends).forEach(function (e) { seen[e] = 1; }); });
    var names = END_ORDER.filter(function (e) { return seen[e]; })
      .concat(Object.keys(seen).filter(function (e) { return END_ORDER.indexOf(e) < 0; }));
    var lg = $("legend");
    lg.className = "legend";
    names.forEach(function (e) {
      var s = el("span"); var sw = el("i", { "class": "sw" }); sw.style.background = endColor(e);
      s.appendChild(sw); s.appendChild(document.createTextNode(e)); lg.appendChild(s);
    });
    var t = $("zones");
    var head = el("tr");
    ["zone", "visits", "how visits ended", "at limit", "tokens per visit", ""].forEach(function (c) { head.appendChild(el("th", null, c)); });
    t.appendChild(head);
    D.zones.forEach(function (z, i) {
      var tr = el("tr", { id: "zone" + i, "data-visits": z.visits, "data-limit": z.ends.limit || 0 });
      tr.appendChild(el("td", null, zoneName(i)));
      tr.appendChild(el("td", null, z.visits));
      var td = el("td"), bar = el("div", { "class": "bar" });
      names.forEach(function (e) {
        var n = z.ends[e] || 0;
        if (!n) return;
        var s = el("span", { title: e + ": " + n + " (" + pct(n / z.visits) + ")", "data-end": e });
        s.style.width = (100 * n / z.visits) + "%";
        s.style.background = endColor(e);
        bar.appendChild(s);
      });
      td.appendChild(bar); tr.appendChild(td);
      tr.appendChild(el("td", null, z.visits ? pct(z.limit_rate) : "–"));
      var th = el("td");
      if (z.tokens.sum > 0) { th.appendChild(hist(z.tokens)); th.appendChild(document.createTextNode(" mean " + (z.tokens.sum / z.tokens.count).toFixed(1) + ", max " + z.tokens.max)); }
      tr.appendChild(th);
      tr.appendChild(el("td", { "class": "flag" }, z.warning ? "the model is not writing " + z.advance : ""));
      t.appendChild(tr);
    });
  }

  function drawLoops() {
    var box = $("loops");
    if (!D.loops.length && !D.whens.length) { box.appendChild(el("p", { "class": "hint" }, "The workflow has no loop and no when.")); return; }
    D.loops.forEach(function (l) {
      var c = D.zones[l.control], exits = Object.keys(c.ends).filter(function (e) { return e.indexOf("jump") >= 0; })
        .map(function (e) { return e + " " + c.ends[e]; });
      var p = el("p", { "class": "loop", "data-control": l.control },
        "loop, control " + zoneName(l.control) + ": body runs per stream over " + l.iterations.count + " streams: mean " +
        (l.iterations.count ? (l.iterations.sum / l.iterations.count).toFixed(2) : 0) + ", min " + l.iterations.min +
        ", max " + l.iterations.max + "; exits: " + (exits.join(", ") || "none") + " ");
      p.appendChild(hist(l.iterations));
      box.appendChild(p);
    });
    D.whens.forEach(function (w) {
      box.appendChild(el("p", { "class": "when", "data-control": w.control },
        "when, control " + zoneName(w.control) + ": then " + w.then + ", otherwise " + w.otherwise));
    });
  }

  function drawFailures() {
    var box = $("failures");
    if (!D.failures.length) { box.appendChild(el("p", { "class": "hint" }, "No stream failed.")); return; }
    var t = el("table");
    var head = el("tr");
    ["kind", "streams", "example"].forEach(function (c) { head.appendChild(el("th", null, c)); });
    t.appendChild(head);
    D.failures.forEach(function (f) {
      var tr = el("tr", { "data-kind": f.kind });
      tr.appendChild(el("td", null, f.kind));
      tr.appendChild(el("td", null, f.count));
      var td = el("td"), a = el("a", { href: "#stream=" + f.index }, "stream " + f.index);
      td.appendChild(a); td.appendChild(document.createTextNode(": " + f.example));
      tr.appendChild(td); t.appendChild(tr);
    });
    box.appendChild(t);
  }

  function drawGraph() {
    var box = $("graph");
    D.graph.forEach(function (g, i) {
      var z = D.zones[i];
      var r = z.limit_rate || 0;
      var d = el("div", { "class": "g", id: "g" + i, "data-limit-rate": r.toFixed(3) });
      d.style.background = "hsl(0, 75%, " + (97 - 45 * r).toFixed(0) + "%)";
      d.style.borderLeftColor = z.input ? "#f9a825" : (r > 0.5 ? "#c62828" : "#ccc");
      var txt = zoneName(i) + "  → " + (g.next === null ? "END" : "#" + g.next);
      if (g.control !== null) txt += "  ⤳ " + g.control + " " + (g.jump === null ? "END" : "#" + g.jump);
      txt += "  · " + z.visits + " visits, " + pct(r) + " at the limit";
      d.textContent = txt;
      box.appendChild(d);
    });
  }

  // ------------------------------------------------------------------ transcript browser

  function query() { return $("search").value; }
  function matches(s, q) {
    if (!q) return true;
    if (s.error && s.error.message.indexOf(q) >= 0) return true;
    for (var i = 0; i < s.spans.length; i++) if (s.spans[i].text.indexOf(q) >= 0) return true;
    for (var k in s.extractions) if (s.extractions[k].some(function (t) { return t.indexOf(q) >= 0; })) return true;
    return false;
  }
  function listItem(index, status, onpick) {
    var li = el("li", { "data-index": index, "class": status }, "stream " + index + (status === "failed" ? " (failed)" : ""));
    li.addEventListener("click", onpick);
    return li;
  }
  function refreshList() {
    var list = $("list"), st = $("status").value, q = query(), shown = 0;
    list.textContent = "";
    D.transcripts.forEach(function (s) {
      if (shown >= 1000 || (st && s.status !== st) || !matches(s, q)) return;
      shown++;
      list.appendChild(listItem(s.index, s.status, function () { show(s); }));
    });
    if (fileMatches) fileMatches.forEach(function (m) {
      if (byIndex[m.index] || (st && m.status !== st)) return;
      list.appendChild(listItem(m.index, m.status, function () { pick(m.index); }));
    });
    list.setAttribute("data-count", list.children.length);
    var cur = $("view").getAttribute("data-stream");
    Array.prototype.forEach.call(list.children, function (li) { li.classList.toggle("on", li.getAttribute("data-index") === cur); });
  }
  function marked(parent, text, q) {
    if (!q) { parent.appendChild(document.createTextNode(text)); return; }
    var at = 0, k;
    while ((k = text.indexOf(q, at)) >= 0) {
      parent.appendChild(document.createTextNode(text.slice(at, k)));
      parent.appendChild(el("mark", null, q));
      at = k + q.length;
    }
    parent.appendChild(document.createTextNode(text.slice(at)));
  }
  function show(s) {
    var view = $("view"), q = query();
    view.textContent = "";
    view.setAttribute("data-stream", s.index);
    view.setAttribute("data-status", s.status);
    if (s.error) view.appendChild(el("p", { "class": "banner bad" }, s.error.message));
    var visit = -1;
    s.spans.forEach(function (sp) {
      if (sp.visit !== visit) {
        visit = sp.visit;
        var v = s.visits[visit] || {};
        view.appendChild(el("span", { "class": "zb", "data-zone": sp.zone },
          zoneName(sp.zone) + " · ended " + v.end + " · " + v.tokens + " tokens"));
      }
      var span = el("span", { "class": "k-" + sp.kind, title: KIND_TITLE[sp.kind] || sp.kind });
      marked(span, sp.text, q);
      view.appendChild(span);
    });
    var ex = $("extractions");
    ex.textContent = "";
    ex.appendChild(el("h3", null, "extractions"));
    var dl = el("dl"), names = Object.keys(s.extractions);
    if (!names.length) dl.appendChild(el("dd", null, "none"));
    names.forEach(function (n) {
      dl.appendChild(el("dt", null, n + " (" + s.extractions[n].length + ")"));
      s.extractions[n].forEach(function (t) { dl.appendChild(el("dd", null, t)); });
    });
    ex.appendChild(dl);
    $("pick").value = s.index;
    refreshList();
  }
  function pick(index) {
    if (byIndex[index]) { show(byIndex[index]); return; }
    var first = D.header.range[0];
    if (offsets && index >= first && index - first + 1 < offsets.length - 1) {
      var k = index - first + 1;
      file.slice(offsets[k], offsets[k + 1]).text().then(function (t) { show(JSON.parse(t)); }).catch(fail);
      return;
    }
    var view = $("view");
    view.textContent = "";
    view.removeAttribute("data-stream");
    view.appendChild(el("p", { "class": "hint" }, "Stream " + index + " is not embedded in this page (it holds the first " +
      D.transcripts.length + " streams and some later failed ones). Open the run file above to browse every stream."));
  }

  // Indexes the opened run file: the byte offset of every line start.
  function openFile(f) {
    file = f; offsets = [0]; fileMatches = null;
    var state = $("filestate"), pos = 0, reader = f.stream().getReader();
    state.textContent = "indexing…";
    function step(r) {
      if (r.done) {
        if (offsets[offsets.length - 1] !== pos) offsets.push(pos);
        state.textContent = (offsets.length - 2) + " streams in " + f.name;
        state.setAttribute("data-lines", offsets.length - 1);
        if (query()) searchFile();
        return;
      }
      var b = r.value;
      for (var i = 0; i < b.length; i++) if (b[i] === 10) offsets.push(pos + i + 1);
      pos += b.length;
      return reader.read().then(step);
    }
    reader.read().then(step).catch(fail);
  }
  // Scans the opened file's lines for the search text (as it is written in JSON).
  function searchFile() {
    var q = query();
    if (!file || !q) { fileMatches = null; refreshList(); return; }
    var needle = JSON.stringify(q).slice(1, -1), found = [], rest = "", line = 0;
    var reader = file.stream().pipeThrough(new TextDecoderStream()).getReader();
    function step(r) {
      var text = rest + (r.done ? "" : r.value), parts = text.split("\n");
      rest = r.done ? "" : parts.pop();
      for (var i = 0; i < parts.length && found.length < 500; i++, line++) {
        if (line === 0 || parts[i].indexOf(needle) < 0) continue;
        found.push({ index: D.header.range[0] + line - 1, status: parts[i].indexOf("\"status\":\"failed\"") >= 0 ? "failed" : "finished" });
      }
      if (r.done || found.length >= 500) { fileMatches = found; refreshList(); return; }
      return reader.read().then(step);
    }
    reader.read().then(step).catch(fail);
  }

  function fromHash() {
    var h = decodeURIComponent(location.hash.slice(1));
    if (h.indexOf("search=") === 0) { $("search").value = h.slice(7); refreshList(); var first = $("list").firstChild; if (first) first.click(); }
    else if (h.indexOf("status=") === 0) { $("status").value = h.slice(7); refreshList(); }
    else if (h.indexOf("stream=") === 0) { pick(Number(h.slice(7))); }
  }

  try {
    D = JSON.parse($("forge-report").textContent);
    D.transcripts.forEach(function (s) { byIndex[s.index] = s; });
    drawSummary(); drawZones(); drawLoops(); drawFailures(); drawGraph();
    $("search").addEventListener("input", function () { refreshList(); if (file) searchFile(); });
    $("status").addEventListener("change", refreshList);
    $("pick").addEventListener("change", function () { pick(Number($("pick").value)); });
    $("runfile").addEventListener("change", function () { if (this.files[0]) openFile(this.files[0]); });
    window.addEventListener("hashchange", fromHash);
    refreshList();
    if (location.hash) fromHash(); else if (D.transcripts.length) show(D.transcripts[0]);
    document.body.setAttribute("data-rendered", "ok");
  } catch (e) { fail(e); }
})();
