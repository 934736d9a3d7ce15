// LiveInsight dashboard: polls the realtime API every few seconds and the stats API on demand.
// No dependencies, no external requests: everything comes from this site and its /api.
// Every text from the API goes into the page through textContent or an attribute, never as markup
// (the fields are documented in docs/http-api.md); a field the API does not send yet shows as
// "not available" rather than breaking the page.
(function () {
  "use strict";
  var state = { api: "/api", site: "", period: "day", refresh: 5, timer: null, failures: 0, stats: null, asked: 0,
                open: Object.create(null) };  // goals whose props are shown, kept open across refreshes
  var $ = function (id) { return document.getElementById(id); };
  var SVG = "http://www.w3.org/2000/svg";

  // The panels, by the name the API's format=csv&panel=NAME takes: which field, which columns.
  var PANELS = {
    // Until the API sends sources, its referrer hosts stand in for them.
    sources: { field: "sources", label: "source", value: "visitors", head: ["Source", "Visitors"],
               fallback: { field: "top_referrers", label: "referrer", value: "pageviews", head: ["Referrer", "Views"] } },
    channels: { field: "channels", label: "channel", value: "visitors", head: ["Channel", "Visitors"] },
    utm_mediums: { field: "utm_mediums", label: "value", value: "visitors", head: ["UTM medium", "Visitors"] },
    utm_campaigns: { field: "utm_campaigns", label: "value", value: "visitors", head: ["UTM campaign", "Visitors"] },
    pages: { field: "top_pages", label: "path", value: "pageviews", head: ["Page", "Views"] },
    entry_pages: { field: "entry_pages", label: "path", value: "visits", head: ["Entry page", "Visits"] },
    exit_pages: { field: "exit_pages", label: "path", value: "visits", head: ["Exit page", "Visits"] },
    countries: { field: "countries", label: "country", value: "visitors", head: ["Country", "Visitors"], name: country },
    devices: { field: "devices", label: "name", value: "visitors", head: ["Device", "Visitors"], name: device },
    browsers: { field: "browsers", label: "name", value: "visitors", head: ["Browser", "Visitors"] },
    os: { field: "os", label: "name", value: "visitors", head: ["Operating system", "Visitors"] }
  };
  // The headline row; bounce rate is a percentage already, so its change is told in points, and
  // down is the good direction.
  var METRICS = [
    { key: "visitors", id: "visitors", format: integer },
    { key: "visits", id: "visits", format: integer },
    { key: "pageviews", id: "pageviews", format: integer },
    { key: "views_per_visit", id: "views-per-visit", format: decimal, perVisit: true },
    { key: "bounce_rate", id: "bounce-rate", format: percent, points: true, lowerIsBetter: true, perVisit: true },
    { key: "visit_duration_s", id: "visit-duration", format: duration, perVisit: true }
  ];

  // Builds an element: attributes (text sets textContent, class sets className) and children.
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") el.textContent = String(attrs[k]);
      else if (k === "class") el.className = attrs[k];
      else el.setAttribute(k, String(attrs[k]));
    });
    (children || []).forEach(function (c) { el.appendChild(c); });
    return el;
  }
  function fill(el, nodes) { el.replaceChildren.apply(el, nodes); }

  function integer(n) { return Math.round(n).toLocaleString(); }
  function decimal(n) { return n.toLocaleString(undefined, { maximumFractionDigits: 2 }); }
  function percent(n) { return n.toLocaleString(undefined, { maximumFractionDigits: 1 }) + "%"; }
  function duration(seconds) {
    var s = Math.round(seconds);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  }
  function isNumber(n) { return typeof n === "number" && isFinite(n); }

  // A country's name in the reader's language from its ISO 3166-1 alpha-2 code, by the browser
  // itself (https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Intl/DisplayNames):
  // nothing is fetched. An unknown code, or a browser without Intl.DisplayNames, shows the code.
  var regions = null;
  try { regions = new Intl.DisplayNames([navigator.language || "en", "en"], { type: "region", fallback: "code" }); } catch (e) { regions = null; }
  function country(code) {
    var text = String(code);
    if (!regions || !/^[A-Z]{2}$/.test(text)) return text;
    try { return regions.of(text) || text; } catch (e) { return text; }
  }

  // The API names devices in lower case (desktop, mobile, tablet); a heading word reads better.
  function device(name) {
    var text = String(name);
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function known() {
    try { return JSON.parse(localStorage.getItem("liveinsight.sites") || "[]"); } catch (e) { return []; }
  }
  function remember(site) {
    var sites = known().filter(function (s) { return s !== site; });
    sites.unshift(site);
    try { localStorage.setItem("liveinsight.sites", JSON.stringify(sites.slice(0, 10))); } catch (e) { /* private mode */ }
    fill($("known-sites"), sites.map(function (s) { return h("option", { value: s }); }));
  }
  function status(message, kind) {
    var el = $("status");
    if (!message) { el.hidden = true; return; }
    el.hidden = false; el.textContent = message; el.className = "banner" + (kind ? " " + kind : "");
  }
  function apiKey() {
    try { return localStorage.getItem("liveinsight.apiKey"); } catch (e) { return null; }
  }
  // GET from the API with the key the owner entered, if any (sent as X-API-Key); asks for one on
  // API Gateway's 403.
  function request(path) {
    var headers = {};
    var key = apiKey();
    if (key) headers["X-API-Key"] = key;
    return fetch(state.api + path, { headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 403 && !key && r.headers.get("x-amzn-ErrorType") === "ForbiddenException") {
        var entered = window.prompt("This dashboard needs an API key (ask the site's owner):");
        if (entered) { localStorage.setItem("liveinsight.apiKey", entered.trim()); return request(path); }
      }
      return r;
    });
  }
  function failed(r) {
    return r.json().catch(function () { return {}; }).then(function (body) {
      var err = new Error(body.error || body.message || ("HTTP " + r.status)); err.http = r.status; throw err;
    });
  }
  function get(path) {
    return request(path).then(function (r) { return r.ok ? r.json() : failed(r); });
  }

  function chart(el, points, valueKey, highlightLast) {
    var max = Math.max.apply(null, points.map(function (p) { return p[valueKey]; }).concat([1]));
    var w = 100 / Math.max(points.length, 1);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 100 100");
    svg.setAttribute("preserveAspectRatio", "none");
    points.forEach(function (p, i) {
      var hgt = (p[valueKey] / max) * 92;
      var rect = document.createElementNS(SVG, "rect");
      if (highlightLast && i === points.length - 1) rect.setAttribute("class", "now");
      rect.setAttribute("x", (i * w + w * 0.1).toFixed(2));
      rect.setAttribute("y", (100 - hgt).toFixed(2));
      rect.setAttribute("width", (w * 0.8).toFixed(2));
      rect.setAttribute("height", Math.max(hgt, 0.4).toFixed(2));
      var title = document.createElementNS(SVG, "title");
      title.textContent = p.label + ": " + p[valueKey];
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    fill(el, [svg]);
  }
  function placeholder(el, text) { fill(el, [h("li", { class: "empty", text: text })]); }
  // Rows as bars: a label (cut with an ellipsis; the whole text is its tooltip) and a number.
  function list(el, rows, label, value, head, name) {
    if (!Array.isArray(rows)) { placeholder(el, "Not available from this API"); return; }
    if (!rows.length) { placeholder(el, "No data yet"); return; }
    var max = Math.max.apply(null, rows.map(function (r) { return Number(r[value]) || 0; }).concat([1]));
    var items = rows.map(function (r) {
      var text = name ? name(r[label]) : String(r[label]);
      var bar = h("span", { class: "fill" });
      // Widths go through the CSSOM: the Content-Security-Policy allows no inline style attribute.
      bar.style.width = ((Number(r[value]) || 0) / max * 100).toFixed(1) + "%";
      return h("li", {}, [bar, h("span", { class: "label", text: text, title: String(r[label]) }),
                          h("span", { class: "value", text: isNumber(r[value]) ? integer(r[value]) : "–" })]);
    });
    if (head) items.unshift(h("li", { class: "head", "aria-hidden": "true" }, [h("span", { text: head[0] }), h("span", { text: head[1] })]));
    fill(el, items);
  }

  function headline(data) {
    var previous = data.comparison && typeof data.comparison === "object" ? data.comparison : {};
    METRICS.forEach(function (m) {
      var now = data[m.key];
      $(m.id).textContent = isNumber(now) ? m.format(now) : "–";
      var delta = document.querySelector("[data-metric=" + m.key + "] .delta");
      var before = previous[m.key];
      delta.className = "delta";
      if (!isNumber(now) || !isNumber(before)) { delta.textContent = ""; delta.removeAttribute("title"); return; }
      var change, text;
      if (m.perVisit && previous.visits === 0) {  // an average over no visits: nothing to compare with
        delta.textContent = now === 0 && data.visits === 0 ? "" : "new";
        delta.title = "No visits in the previous period";
        return;
      }
      if (m.points) { change = now - before; text = Math.abs(change).toLocaleString(undefined, { maximumFractionDigits: 1 }) + " pp"; }
      else if (before === 0) { change = now; text = now === 0 ? "0%" : "new"; }
      else { change = (now - before) / before * 100; text = Math.abs(Math.round(change)) + "%"; }
      var rounded = m.points ? Math.round(change * 10) : Math.round(change);
      var arrow = rounded > 0 ? "▲ " : rounded < 0 ? "▼ " : "";
      delta.textContent = arrow + text;
      if (rounded !== 0) delta.className = "delta " + ((rounded > 0) !== Boolean(m.lowerIsBetter) ? "good" : "bad");
      delta.title = "Previous period: " + m.format(before);
    });
  }

  // A revenue goal's total and average per currency (goals[].revenue: amounts as strings, never summed
  // across currencies).
  function revenue(rows) {
    if (!Array.isArray(rows) || !rows.length) return [];
    var parts = rows.map(function (r) {
      return String(r.currency) + " " + String(r.total) + " total, " + String(r.average) + " average";
    });
    return [h("p", { class: "goal-revenue", text: "Revenue: " + parts.join(" · ") })];
  }

  function goals(el, rows) {
    if (!Array.isArray(rows)) { fill(el, [h("p", { class: "empty", text: "Not available from this API" })]); return; }
    if (!rows.length) { fill(el, [h("p", { class: "empty", text: "No goals yet: send a custom event (any name but pageview)" })]); return; }
    var head = h("div", { class: "goal-row head", "aria-hidden": "true" }, ["Goal", "Visitors", "Events", "Conversion"].map(function (t) {
      return h("span", { text: t });
    }));
    var items = rows.map(function (g) {
      var cells = [h("span", { class: "label", text: String(g.goal), title: String(g.goal) }),
                   h("span", { text: isNumber(g.visitors) ? integer(g.visitors) : "–" }),
                   h("span", { text: isNumber(g.events) ? integer(g.events) : "–" }),
                   h("span", { text: isNumber(g.conversion_rate) ? percent(g.conversion_rate) : "–" })];
      // The column heads are hidden from screen readers; each row says what its numbers are.
      var said = String(g.goal) + ": " + cells[1].textContent + " visitors, " + cells[2].textContent + " events, " +
        cells[3].textContent + " conversion";
      var props = g.props && typeof g.props === "object" ? Object.keys(g.props) : [];
      var money = revenue(g.revenue);
      if (!props.length) {
        return h("div", { class: "goal" }, [h("div", { class: "goal-row", role: "group", "aria-label": said }, cells)].concat(money));
      }
      var breakdown = props.map(function (key) {
        var ol = h("ol", { class: "bars" });
        list(ol, g.props[key], "value", "events", [key, "Events"]);
        return ol;
      });
      var details = h("details", { class: "goal" }, [h("summary", { class: "goal-row", "aria-label": said }, cells), h("div", { class: "props" }, breakdown)]);
      var name = String(g.goal);
      details.open = Object.prototype.hasOwnProperty.call(state.open, name);
      details.addEventListener("toggle", function () {
        if (details.open) state.open[name] = true; else delete state.open[name];
      });
      return money.length ? h("div", {}, [details].concat(money)) : details;
    });
    fill(el, [head].concat(items));
  }

  // One panel: the selected tab's rows, and its CSV link.
  function panel(section) {
    var tab = section.querySelector("[role=tab][aria-selected=true]");
    var name = tab.getAttribute("data-panel");
    var link = section.querySelector(".csv");
    var path = "/stats?site=" + encodeURIComponent(state.site) + "&period=" + state.period + "&format=csv&panel=" + name;
    link.setAttribute("data-path", path);
    link.href = state.api + path;
    link.download = state.site + "-" + name + "-" + state.period + ".csv";
    link.setAttribute("aria-label", "Download " + tab.textContent + " as CSV");
    if (!state.stats) {  // a site just chosen: no rows of another site meanwhile
      var rowsEl = section.querySelector(name === "goals" ? ".goals" : "ol");
      fill(rowsEl, [h(name === "goals" ? "p" : "li", { class: "empty", text: "Loading…" })]);
      return;
    }
    if (name === "goals") { goals(section.querySelector(".goals"), state.stats.goals); return; }
    var p = PANELS[name];
    if (!Array.isArray(state.stats[p.field]) && p.fallback && Array.isArray(state.stats[p.fallback.field])) p = p.fallback;
    list(section.querySelector("ol"), state.stats[p.field], p.label, p.value, p.head, p.name);
  }
  function panels() { document.querySelectorAll(".panel").forEach(panel); }

  function select(tab) {
    var section = tab.closest(".panel");
    section.querySelectorAll("[role=tab]").forEach(function (t) {
      t.setAttribute("aria-selected", String(t === tab));
      t.tabIndex = t === tab ? 0 : -1;
    });
    panel(section);
  }
  // The CSV goes through fetch, so the API key header goes with it, then to the disk as a Blob.
  function download(e) {
    e.preventDefault();
    var link = e.currentTarget;
    if (!state.site) return;
    request(link.getAttribute("data-path")).then(function (r) {
      return r.ok ? r.blob() : failed(r);
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = h("a", { href: url, download: link.download });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }).catch(function (err) { status("CSV download failed: " + err.message); });
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
      chart($("minutes"), data.pageviews_per_minute.map(function (m) {
        return { label: m.minute.slice(11, 16), pageviews: m.pageviews };
      }), "pageviews", true);
      list($("now-pages"), data.top_pages, "path", "visitors", ["Page", "Visitors"]);
    }).catch(unreachable);
  }
  function stats() {
    if (!state.site) return;
    var asked = ++state.asked;
    panels();  // the CSV links follow the site and period at once
    get("/stats?site=" + encodeURIComponent(state.site) + "&period=" + state.period + "&compare=previous_period")
      .then(function (data) {
        if (asked !== state.asked) return;  // a newer request (another period or site) answers instead
        state.stats = data;
        headline(data);
        // Past 92 days the API answers a point per month (docs/http-api.md).
        var monthly = (Date.parse(data.to) - Date.parse(data.from)) / 86400000 + 1 > 92;
        $("series-caption").textContent = state.period === "day" ? "Page views per hour (UTC)"
          : monthly ? "Page views per month" : "Page views per day";
        chart($("series"), (data.timeseries || []).map(function (t) {
          return { label: monthly ? String(t.time).slice(0, 7) : t.time, pageviews: t.pageviews };
        }), "pageviews", false);
        panels();
      }).catch(unreachable);
  }

  function show(site) {
    state.site = site.trim().toLowerCase();
    if (!state.site) return;
    $("site").value = state.site;
    remember(state.site);
    var url = new URL(location.href); url.searchParams.set("site", state.site); history.replaceState(null, "", url);
    state.stats = null; state.open = Object.create(null);
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
  document.querySelectorAll("[role=tab]").forEach(function (tab) {
    tab.tabIndex = tab.getAttribute("aria-selected") === "true" ? 0 : -1;
    tab.addEventListener("click", function () { select(tab); });
    // Arrow keys move between tabs (https://www.w3.org/WAI/ARIA/apg/patterns/tabs/).
    tab.addEventListener("keydown", function (e) {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll("[role=tab]"));
      var next = tabs[(tabs.indexOf(tab) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      next.focus(); select(next);
    });
  });
  document.querySelectorAll(".csv").forEach(function (a) { a.addEventListener("click", download); });

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
