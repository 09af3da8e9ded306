// forge report page: draws the figures of the embedded data block and runs the transcript
// browser. No network: the streams the page does not embed are read from the script files of
// its sidecar folder (NAME.streams/00000.js, ...), next to the page, with <script> elements
// (which a file:// page may load, where fetch() is refused).
(function () {
  "use strict";
  var D, byIndex = {}, side = null, sideMatches = null, searchRun = 0, cached = null;
  var SIDE_MATCHES = 500;
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
    else if (D.streams < h.range[1] - h.range[0]) {
      b.appendChild(el("p", { "class": "banner warn", id: "incomplete" }, "The file holds " + D.streams + " of the " +
        (h.range[1] - h.range[0]) + " streams of its range " + h.range[0] + ".." + h.range[1] +
        " (the run stopped early, or the file was cut at a line end); forge run --resume with the same arguments completes it."));
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

  // The graph page runs in its own document (the iframe's srcdoc); once it has drawn, the
  // iframe carries what it shows, for a reader of this page's DOM.
  function watchGraph() {
    var f = $("graph");
    if (!f || f.tagName !== "IFRAME") return;
    function check() {
      var doc = f.contentDocument, body = doc && doc.body;
      if (!body) return;
      f.setAttribute("data-rendered", body.getAttribute("data-rendered") || body.getAttribute("data-error") || "no");
      f.setAttribute("data-zones", doc.querySelectorAll(".z").length);
      var edges = doc.getElementById("edges");
      f.setAttribute("data-edges", edges ? edges.querySelectorAll("path").length : 0);
    }
    f.addEventListener("load", check);
    check();
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
    if (sideMatches) sideMatches.forEach(function (m) {
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
  function note(text) {
    var view = $("view");
    view.textContent = "";
    view.removeAttribute("data-stream");
    view.removeAttribute("data-status");
    view.appendChild(el("p", { "class": "hint" }, text));
  }
  function pick(index) {
    if (byIndex[index]) { show(byIndex[index]); return Promise.resolve(); }
    var k = side ? chunkOf(index) : -1;
    if (k < 0) {
      note("Stream " + index + " is not in this run (" + D.streams + " streams from index " + D.header.range[0] + ").");
      return Promise.resolve();
    }
    return loadChunk(k).then(function (list) {
      for (var i = 0; i < list.length; i++) if (list[i].index === index) { show(list[i]); return; }
      note("Stream " + index + " is not in this run.");
    }, function (e) { note(e.message); });
  }

  // ------------------------------------------------------------------ sidecar files

  // The file holding stream `index`: the last one whose first stream is at or before it.
  function chunkOf(index) {
    var f = side.firsts, lo = 0, hi = f.length - 1;
    if (!f.length || index < f[0]) return -1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (f[mid] <= index) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
  function chunkName(k) { var n = String(k); while (n.length < 5) n = "0" + n; return n + ".js"; }
  // What each sidecar file calls: its streams go to the slot of the <script> element running it.
  window.forgeReportStreams = function (k, list) {
    var s = document.currentScript;
    if (s && s.forgeSlot && s.forgeSlot.k === k) s.forgeSlot.list = list;
  };
  // Loads sidecar file `k` (the last one loaded is kept).
  function loadChunk(k) {
    if (cached && cached.k === k) return cached.promise;
    var promise = new Promise(function (resolve, reject) {
      var src = encodeURIComponent(side.dir) + "/" + chunkName(k), s = el("script", { src: src });
      var w = s.forgeSlot = { k: k, list: null };
      function done() { s.remove(); }
      s.onload = function () {
        done();
        if (w.list) resolve(w.list);
        else reject(new Error("The file " + src + " next to this page does not hold streams of this report."));
      };
      s.onerror = function () {
        done();
        if (cached && cached.k === k) cached = null;
        reject(new Error("Cannot load " + src + ": the streams this page does not embed are in the folder " +
          side.dir + ", which must stay next to the page."));
      };
      document.head.appendChild(s);
    });
    cached = { k: k, promise: promise };
    return promise;
  }
  // Lists the streams of the sidecar files that pass the status filter and the search, one
  // file at a time (up to SIDE_MATCHES); a newer search stops an older one.
  function searchSide() {
    var run = ++searchRun, st = $("status").value, q = query(), state = $("sidestate"), found = [];
    sideMatches = null;
    refreshList();
    state.removeAttribute("data-done");
    if (!side || (!q && !st)) { state.textContent = ""; return Promise.resolve(); }
    var n = side.firsts.length;
    function step(k) {
      if (run !== searchRun) return;
      if (k >= n || found.length >= SIDE_MATCHES) {
        sideMatches = found;
        state.textContent = found.length + (found.length >= SIDE_MATCHES ? "+" : "") +
          " more in the streams not embedded (" + (k >= n ? "all " + n : k + " of " + n) + " files searched)";
        state.setAttribute("data-done", found.length);
        refreshList();
        return;
      }
      state.textContent = "searching the streams not embedded: file " + (k + 1) + " of " + n + "…";
      return loadChunk(k).then(function (list) {
        if (run !== searchRun) return;
        var before = found.length;
        for (var i = 0; i < list.length && found.length < SIDE_MATCHES; i++) {
          var s = list[i];
          if ((!st || s.status === st) && matches(s, q)) found.push({ index: s.index, status: s.status });
        }
        if (found.length > before) { sideMatches = found; refreshList(); }
        return step(k + 1);
      }, function (e) {
        if (run !== searchRun) return;
        state.textContent = e.message;
        state.setAttribute("data-done", "error");
      });
    }
    return step(0);
  }
  function filter() { return searchSide(); }

  function fromHash() {
    var h = decodeURIComponent(location.hash.slice(1));
    if (h.indexOf("search=") === 0) {
      $("search").value = h.slice(7);
      filter().then(function () { var first = $("list").firstChild; if (first) first.click(); });
    }
    else if (h.indexOf("status=") === 0) { $("status").value = h.slice(7); filter(); }
    else if (h.indexOf("stream=") === 0) { pick(Number(h.slice(7))); }
  }

  try {
    D = JSON.parse($("forge-report").textContent);
    side = D.sidecar;
    D.transcripts.forEach(function (s) { byIndex[s.index] = s; });
    drawSummary(); drawZones(); drawLoops(); drawFailures(); watchGraph();
    $("search").addEventListener("input", filter);
    $("status").addEventListener("change", filter);
    $("pick").addEventListener("change", function () { pick(Number($("pick").value)); });
    window.addEventListener("hashchange", fromHash);
    refreshList();
    if (location.hash) fromHash(); else if (D.transcripts.length) show(D.transcripts[0]);
    document.body.setAttribute("data-rendered", "ok");
  } catch (e) { fail(e); }
})();
