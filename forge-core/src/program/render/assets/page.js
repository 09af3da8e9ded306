(function () {
  "use strict";
  // The zones are hidden while the page is parsed (laying out a growing column of 100,000
  // rows again and again is slow); show them first, before anything can fail.
  var col = document.getElementById("col");
  col.hidden = false;
  var body = document.body;
  function fail(msg) {
    body.setAttribute("data-error", msg);
    var b = document.getElementById("error");
    if (b) { b.textContent = "forge: the graph could not be drawn: " + msg; b.hidden = false; }
    if (window.console) { console.error("forge render error: " + msg); }
  }
  window.addEventListener("error", function (e) { fail(String(e.message || e)); });

  var meta = JSON.parse(document.getElementById("forge-meta").textContent);
  var svg = document.getElementById("edges");
  var NS = svg.namespaceURI;
  var rows = col.getElementsByClassName("z");
  var n = rows.length;
  var startRow = document.getElementById("start");
  var endRow = document.getElementById("end");

  function target(v) { return v === "end" ? n : +v; }

  function draw() {
    var first = rows[0];
    var L = first.offsetLeft, R = L + first.offsetWidth, h = first.offsetHeight;
    var tops = new Float64Array(n + 2);
    for (var i = 0; i < n; i++) { tops[i] = rows[i].offsetTop; }
    tops[n] = endRow.offsetTop;
    var startTop = startRow.offsetTop, startH = startRow.offsetHeight, endH = endRow.offsetHeight;
    var startR = startRow.offsetLeft + startRow.offsetWidth, endR = endRow.offsetLeft + endRow.offsetWidth;
    function rightOf(i) { return i === n ? endR : i < 0 ? startR : R; }
    function mid(i) { return i === n ? tops[n] + endH / 2 : i < 0 ? startTop + startH / 2 : tops[i] + h / 2; }
    function topOf(i) { return tops[i]; }
    function bottomOf(i) { return i < 0 ? startTop + startH : tops[i] + h; }
    var x = L + 24;
    var straight = [], heads = [];
    var counts = { next: 0, jump: 0, loop: 0 };
    var frag = document.createDocumentFragment();
    function line(from, to) {
      var y1 = bottomOf(from), y2 = topOf(to);
      straight.push("M" + x + " " + y1 + "V" + (y2 - 6));
      heads.push("M" + (x - 4) + " " + (y2 - 7) + "h8l-4 7z");
    }
    function off(span, base, step, cap) { return Math.min(cap, base + step * Math.log2(span + 1)); }
    function arc(cls, from, to, label) {
      var y1 = mid(from), y2 = mid(to), span = Math.abs(to - from), d;
      var back = to <= from && from >= 0;
      if (cls === "e-loop" || back) {
        var o = off(span, 26, 16, 150);
        if (to === from) {
          d = "M" + L + " " + (y1 - 5) + "C" + (L - 44) + " " + (y1 - 30) + " " + (L - 44) + " " + (y1 + 30) + " " + (L - 2) + " " + (y1 + 5);
        } else {
          d = "M" + L + " " + y1 + "C" + (L - o) + " " + y1 + " " + (L - o) + " " + y2 + " " + (L - 2) + " " + y2;
        }
      } else {
        var o2 = cls === "e-jump" ? off(span, 44, 16, 260) : off(span, 22, 12, 180);
        var x1 = rightOf(from), x2 = rightOf(to);
        d = "M" + x1 + " " + y1 + "C" + (R + o2) + " " + y1 + " " + (R + o2) + " " + y2 + " " + (x2 + 2) + " " + y2;
      }
      var p = document.createElementNS(NS, "path");
      p.setAttribute("class", "e " + cls + (back && cls === "e-jump" ? " back" : ""));
      p.setAttribute("d", d);
      p.setAttribute("data-from", from < 0 ? "start" : String(from));
      p.setAttribute("data-to", to === n ? "end" : String(to));
      p.setAttribute("marker-end", "url(#mk-" + cls.slice(2) + ")");
      frag.appendChild(p);
      if (label) {
        var t = document.createElementNS(NS, "text");
        t.setAttribute("class", "lbl");
        var lx = back ? L - off(span, 26, 16, 150) * 0.75 - 6 : R + off(span, 44, 16, 260) * 0.75 + 6;
        t.setAttribute("x", String(lx));
        t.setAttribute("y", String((y1 + y2) / 2 + 4));
        if (back) { t.setAttribute("text-anchor", "end"); }
        t.textContent = label;
        frag.appendChild(t);
      }
    }
    // START -> entry
    if (meta.entry === 0) { line(-1, 0); } else { arc("e-next", -1, meta.entry, null); }
    for (var k = 0; k < n; k++) {
      var row = rows[k];
      var t = target(row.getAttribute("data-n"));
      if (t <= k) { arc("e-loop", k, t, null); counts.loop++; }
      else if (t === k + 1) { line(k, t); counts.next++; }
      else { arc("e-next", k, t, null); counts.next++; }
      var j = row.getAttribute("data-j");
      if (j !== null) { arc("e-jump", k, target(j), meta.control); counts.jump++; }
    }
    var path = document.createElementNS(NS, "path");
    path.setAttribute("class", "e e-next");
    path.setAttribute("d", straight.join(""));
    var hp = document.createElementNS(NS, "path");
    hp.setAttribute("class", "heads");
    hp.setAttribute("d", heads.join(""));
    svg.appendChild(path);
    svg.appendChild(hp);
    svg.appendChild(frag);
    svg.setAttribute("width", String(col.scrollWidth));
    svg.setAttribute("height", String(col.scrollHeight));
    svg.setAttribute("data-next", String(counts.next));
    svg.setAttribute("data-jump", String(counts.jump));
    svg.setAttribute("data-loop", String(counts.loop));
    var c = document.getElementById("counts");
    if (c) { c.textContent = counts.next + " next, " + counts.jump + " jump, " + counts.loop + " loop-back edges"; }
  }

  // ---- details panel
  var selected = -1;
  function dd(dl, name, value) {
    var dt = document.createElement("dt"); dt.textContent = name;
    var d = document.createElement("dd");
    if (typeof value === "string") { d.textContent = value; } else { d.appendChild(value); }
    dl.appendChild(dt); dl.appendChild(d);
  }
  function link(v) {
    var a = document.createElement("a");
    if (v === "end") { a.href = "#end"; a.textContent = "END"; }
    else { a.href = "#z" + v; a.textContent = "zone " + v; }
    return a;
  }
  function select(i) {
    if (i < 0 || i >= n) { return; }
    if (selected >= 0) {
      rows[selected].classList.remove("sel");
      var old = svg.querySelectorAll(".hl");
      for (var q = 0; q < old.length; q++) { old[q].classList.remove("hl"); }
    }
    selected = i;
    var row = rows[i];
    row.classList.add("sel");
    var mine = svg.querySelectorAll('[data-from="' + i + '"],[data-to="' + i + '"]');
    for (var m = 0; m < mine.length; m++) { mine[m].classList.add("hl"); }
    document.getElementById("ptitle").textContent = row.firstChild.nodeValue;
    var dl = document.getElementById("pinfo");
    dl.textContent = "";
    var seq = meta.sequences[+row.getAttribute("data-s")];
    var parts = /^#\d+ .* b(\d+)(?: i(\d+))? z(\d+)$/.exec(row.firstChild.nodeValue);
    dd(dl, "sequence", seq);
    if (parts) { dd(dl, "block", parts[1] + ", instance " + (parts[2] || "0") + ", zone " + parts[3]); }
    var tags = row.getAttribute("data-t");
    dd(dl, "tags", tags ? tags : "none");
    dd(dl, "advance", meta.advances[+row.getAttribute("data-a")] + "  (max " + row.getAttribute("data-m") + " tokens)");
    if (row.hasAttribute("data-input")) { dd(dl, "input", "fed the latest tool result"); }
    if (row.hasAttribute("data-tool")) { dd(dl, "output", "to tool " + row.getAttribute("data-tool")); }
    dd(dl, "next", link(row.getAttribute("data-n")));
    var j = row.getAttribute("data-j");
    if (j !== null) {
      var span = document.createElement("span");
      span.appendChild(document.createTextNode(meta.control + " \u2192 "));
      span.appendChild(link(j));
      dd(dl, "jump", span);
    }
    var ptext = document.getElementById("ptext");
    ptext.textContent = row.getAttribute("data-x");
    ptext.hidden = false;
    document.getElementById("phint").hidden = true;
  }
  function fromHash() {
    var m = /^#z(\d+)$/.exec(location.hash);
    if (m) {
      var i = +m[1];
      select(i);
      if (rows[i] && rows[i].scrollIntoView) { rows[i].scrollIntoView({ block: "center" }); }
    }
  }
  col.addEventListener("click", function (e) {
    var el = e.target;
    var row = el.closest ? el.closest(".z") : null;
    if (!row) { return; }
    e.preventDefault();
    if (location.hash === "#" + row.id) { select(+row.id.slice(1)); }
    else { location.hash = row.id; }
  });
  window.addEventListener("hashchange", fromHash);

  try {
    if (n > 0) { draw(); }
    fromHash();
    if (!body.hasAttribute("data-error")) { body.setAttribute("data-rendered", "ok"); }
  } catch (err) {
    fail(String((err && err.message) || err));
  }
})();
