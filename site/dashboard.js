// LiveInsight dashboard: polls the realtime API every few seconds and the stats API on demand.
// No dependencies, no external requests: everything comes from this site and its /api.
(function () {
  "use strict";
  var state = { api: "/api", site: "", period: "day", refresh: 5, timer: null, failures: 0 };
  var $ = function (id) { return document.getElementById(id); };

  function known() {
    try { return JSON.parse(localStorage.getItem("liveinsight.sites") || "[]"); } catch (e) { return []; }
  }
  function remember(site) {
    var sites = known().filter(function (s) { return s !== site; });
    sites.unshift(site);
    try { localStorage.setItem("liveinsight.sites", JSON.stringify(sites.slice(0, 10))); } catch (e) { /* private mode */ }
    $("known-sites").innerHTML = sites.map(function (s) { return "<option value=\"" + esc(s) + "\">"; }).join("");
  }
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  function status(message, kind) {
    var el = $("status");
    if (!message) { el.hidden = true; return; }
    el.hidden = false; el.textContent = message; el.className = "banner" + (kind ? " " + kind : "");
  }
  function get(path) {
    var headers = {};
    var key = null;
    try { key = localStorage.getItem("liveinsight.apiKey"); } catch (e) { /* ignore */ }
    if (key) headers["X-API-Key"] = key;
    return fetch(state.api + path, { headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 403 && !key && r.headers.get("x-amzn-ErrorType") === "ForbiddenException") {
        var entered = window.prompt("This dashboard needs an API key (ask the site's owner):");
        if (entered) { localStorage.setItem("liveinsight.apiKey", entered.trim()); return get(path); }
      }
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) { var err = new Error(body.error || body.message || ("HTTP " + r.status)); err.http = r.status; throw err; }
        return body;
      });
    });
  }

  function bars(el, points, valueKey, highlightLast) {
    var max = Math.max.apply(null, points.map(function (p) { return p[valueKey]; }).concat([1]));
    var w = 100 / Math.max(points.length, 1);
    var rects = points.map(function (p, i) {
      var h = (p[valueKey] / max) * 92;
      var cls = highlightLast && i === points.length - 1 ? " class=\"now\"" : "";
      return "<rect" + cls + " x=\"" + (i * w + w * 0.1).toFixed(2) + "\" y=\"" + (100 - h).toFixed(2) +
        "\" width=\"" + (w * 0.8).toFixed(2) + "\" height=\"" + Math.max(h, 0.4).toFixed(2) + "\"><title>" +
        esc(p.label) + ": " + p[valueKey] + "</title></rect>";
    }).join("");
    el.innerHTML = "<svg viewBox=\"0 0 100 100\" preserveAspectRatio=\"none\">" + rects + "</svg>";
  }
  function list(el, rows, label, value, unit) {
    if (!rows.length) { el.innerHTML = "<li class=\"empty\">No data yet</li>"; return; }
    var max = Math.max.apply(null, rows.map(function (r) { return r[value]; }).concat([1]));
    el.innerHTML = rows.map(function (r) {
      return "<li><span class=\"fill\"></span><span>" +
        esc(r[label]) + "</span><span>" + r[value] + " " + unit + "</span></li>";
    }).join("");
    // Widths go through the CSSOM: the Content-Security-Policy allows no inline style attribute.
    var fills = el.querySelectorAll(".fill");
    rows.forEach(function (r, i) { fills[i].style.width = (r[value] / max * 100).toFixed(1) + "%"; });
  }

  function unreachable(err) {
    state.failures += 1;
    if (err && err.http && err.http < 500) { status(err.message); return; }
    status("API unreachable: " + (err && err.message ? err.message : "no answer") + ". Retrying every " + state.refresh + " s.");
  }

  function realtime() {
    if (!state.site) return;
    get("/realtime?site=" + encodeURIComponent(state.site)).then(function (data) {
      state.failures = 0; status("");
      $("active").textContent = data.active_visitors;
      $("updated").textContent = new Date().toLocaleTimeString();
      bars($("minutes"), data.pageviews_per_minute.map(function (m) {
        return { label: m.minute.slice(11, 16), pageviews: m.pageviews };
      }), "pageviews", true);
      list($("now-pages"), data.top_pages, "path", "visitors", "visitors");
    }).catch(unreachable);
  }
  function stats() {
    if (!state.site) return;
    get("/stats?site=" + encodeURIComponent(state.site) + "&period=" + state.period).then(function (data) {
      $("visitors").textContent = data.visitors;
      $("pageviews").textContent = data.pageviews;
      $("series-caption").textContent = state.period === "day" ? "Page views per hour (UTC)" : "Page views per day";
      bars($("series"), data.timeseries.map(function (t) {
        return { label: t.time, pageviews: t.pageviews };
      }), "pageviews", false);
      list($("pages"), data.top_pages, "path", "pageviews", "views");
      list($("refs"), data.top_referrers, "referrer", "pageviews", "views");
    }).catch(unreachable);
  }

  function show(site) {
    state.site = site.trim().toLowerCase();
    if (!state.site) return;
    $("site").value = state.site;
    remember(state.site);
    var url = new URL(location.href); url.searchParams.set("site", state.site); history.replaceState(null, "", url);
    realtime(); stats();
    if (state.timer) clearInterval(state.timer);
    state.timer = setInterval(function () { realtime(); if (Date.now() % 60000 < state.refresh * 1000) stats(); },
                              state.refresh * 1000);
  }

  $("site-form").addEventListener("submit", function (e) { e.preventDefault(); show($("site").value); });
  document.querySelectorAll("[data-period]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.period = b.getAttribute("data-period");
      document.querySelectorAll("[data-period]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      stats();
    });
  });

  fetch("config.json", { cache: "no-store" }).then(function (r) { return r.ok ? r.json() : {}; }).catch(function () { return {}; })
    .then(function (cfg) {
      if (cfg.apiBase) state.api = cfg.apiBase.replace(/\/$/, "");
      if (cfg.realtimeRefreshSeconds) state.refresh = cfg.realtimeRefreshSeconds;
      var fromUrl = new URL(location.href).searchParams.get("site");
      var first = fromUrl || known()[0] || "";
      remember(first || "example.com");
      if (first) { show(first); } else { status("Choose a site to see its visitors.", "info"); }
    });
})();
