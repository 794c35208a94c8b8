/* compare report: draws connectors between linked sentences and highlights
   partners on hover/focus. All content is already in the HTML; this only adds. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");
  var sbs = document.querySelector("[data-sbs]");
  if (!sbs) { return; }
  var svg = sbs.querySelector("svg.connectors");
  var NS = "http://www.w3.org/2000/svg";
  var sents = Array.prototype.slice.call(sbs.querySelectorAll(".sent"));
  var byId = {};
  sents.forEach(function (s) { byId[s.id] = s; });
  var responses = sents.filter(function (s) { return s.getAttribute("data-claim"); });
  var hovered = null, focused = null, pending = 0;

  function anchorY(rect, top) { return rect.top - top + Math.min(rect.height / 2, 22); }
  function r1(v) { return Math.round(v * 10) / 10; }
  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function draw() {
    pending = 0;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var shown = getComputedStyle(svg).display !== "none";
    var box = sbs.getBoundingClientRect();
    svg.setAttribute("width", r1(box.width));
    svg.setAttribute("height", r1(box.height));
    svg.setAttribute("viewBox", "0 0 " + r1(box.width) + " " + r1(box.height));
    var drawn = 0;
    if (shown) {
      responses.forEach(function (r) {
        var c = byId[r.getAttribute("data-claim")];
        if (!c) { return; }
        var cr = c.getBoundingClientRect(), rr = r.getBoundingClientRect();
        var x1 = r1(cr.right - box.left), y1 = r1(anchorY(cr, box.top));
        var x2 = r1(rr.left - box.left), y2 = r1(anchorY(rr, box.top));
        var dx = r1(Math.max(16, (x2 - x1) / 2));
        var cls = "s-" + (r.getAttribute("data-strength") || "weak");
        var path = el("path", {
          "class": "conn " + cls,
          "d": "M" + x1 + " " + y1 + " C" + r1(x1 + dx) + " " + y1 + " " + r1(x2 - dx) + " " + y2 + " " + x2 + " " + y2,
          "data-claim": c.id,
          "data-response": r.id
        });
        svg.appendChild(path);
        svg.appendChild(el("circle", { "class": "end " + cls, cx: x1, cy: y1, r: 4, "data-claim": c.id, "data-response": r.id }));
        svg.appendChild(el("circle", { "class": "end " + cls, cx: x2, cy: y2, r: 4, "data-claim": c.id, "data-response": r.id }));
        drawn += 1;
      });
    }
    sbs.setAttribute("data-connectors", String(drawn));
    apply();
  }

  function schedule() {
    if (!pending) { pending = window.requestAnimationFrame(draw); }
  }

  function apply() {
    var active = hovered || focused;
    var partners = active ? (active.getAttribute("data-partners") || "").split(" ").filter(Boolean) : [];
    sbs.classList.toggle("is-focusing", !!active);
    sents.forEach(function (s) {
      var isPartner = partners.indexOf(s.id) >= 0;
      s.classList.toggle("is-active", s === active);
      s.classList.toggle("is-partner", isPartner);
      s.classList.toggle("is-dimmed", !!active && s !== active && !isPartner);
    });
    Array.prototype.forEach.call(svg.querySelectorAll("[data-claim]"), function (p) {
      var on = !!active && (p.getAttribute("data-claim") === active.id || p.getAttribute("data-response") === active.id);
      p.classList.toggle("is-active", on);
      p.classList.toggle("is-dimmed", !!active && !on);
    });
  }

  function sentOf(target) {
    return target && target.closest ? target.closest(".sent") : null;
  }
  sbs.addEventListener("mouseover", function (e) {
    var s = sentOf(e.target);
    if (s !== hovered) { hovered = s; apply(); }
  });
  sbs.addEventListener("mouseleave", function () { hovered = null; apply(); });
  sbs.addEventListener("focusin", function (e) { focused = sentOf(e.target); apply(); });
  sbs.addEventListener("focusout", function (e) {
    if (!sentOf(e.relatedTarget)) { focused = null; apply(); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && (hovered || focused)) { hovered = null; focused = null; apply(); }
  });

  sbs.addEventListener("toggle", schedule, true);
  window.addEventListener("resize", schedule);
  window.addEventListener("load", schedule);
  if (window.ResizeObserver) {
    var ro = new ResizeObserver(schedule);
    ro.observe(sbs);
    sents.forEach(function (s) { ro.observe(s); });
  }
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(schedule); }
  draw();
}());
