/* LiveInsight tracker: <script defer src="https://YOUR-DASHBOARD/tracker.js" data-domain="example.com"></script>
   Sends a page view on load and on single-page-app navigation; window.liveinsight("signup", {plan: "pro"})
   sends a custom event. When a page is hidden or left, it sends an `engagement` event for it, as
   Plausible's tracker does: the time the page was visible (`e`, ms) and how far it was scrolled
   (`sd`, %); visit durations and bounces count them (docs/analytics.md, "Visits").
   No cookies, no storage. It posts text/plain, so a browser needs no CORS preflight. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var api = script.getAttribute("data-api") || new URL(script.src, location.href).origin + "/api";
  var domain = script.getAttribute("data-domain") || location.hostname;
  if (/^localhost$|^127\./.test(location.hostname) && !script.hasAttribute("data-allow-local")) return;
  var last = null;
  // Engagement on the current page: visible time so far, since when it is visible, deepest scroll,
  // and what the last engagement event said (nothing new, nothing sent).
  var engagedMs = 0, visibleSince = null, scroll = 0, sentMs = 0, sentScroll = 0;

  function post(fields) {
    var body = JSON.stringify(fields);
    var url = api.replace(/\/$/, "") + "/events";
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    fetch(url, { method: "POST", body: body, headers: { "Content-Type": "text/plain" }, keepalive: true })
      .catch(function () { /* analytics never breaks the page */ });
  }
  function send(name, props) {
    post({ name: name, url: location.href, domain: domain, referrer: document.referrer || "", props: props || {} });
  }
  function scrollDepth() {
    var doc = document.documentElement, body = document.body;
    var height = Math.max(doc.scrollHeight, body ? body.scrollHeight : 0);
    var seen = (window.scrollY || doc.scrollTop || 0) + (window.innerHeight || doc.clientHeight || 0);
    return height > 0 ? Math.min(100, Math.round(100 * seen / height)) : 100;
  }
  function visible() { return document.visibilityState === "visible"; }
  function engagement(leaving) {
    if (last === null) return;
    if (visibleSince !== null) engagedMs += Date.now() - visibleSince;
    visibleSince = visible() && leaving !== true ? Date.now() : null;
    scroll = Math.max(scroll, scrollDepth());
    if (engagedMs === sentMs && scroll <= sentScroll) return;
    sentMs = engagedMs;
    sentScroll = scroll;
    post({ name: "engagement", url: last, domain: domain, e: engagedMs, sd: scroll });
  }
  function pageview() {
    if (location.href === last) return;
    engagement(false); // the page being left, before the next one's view
    last = location.href;
    engagedMs = sentMs = sentScroll = 0;
    scroll = scrollDepth();
    visibleSince = visible() ? Date.now() : null;
    send("pageview");
  }
  var push = history.pushState;
  history.pushState = function () { push.apply(this, arguments); pageview(); };
  window.addEventListener("popstate", pageview);
  window.addEventListener("scroll", function () { scroll = Math.max(scroll, scrollDepth()); }, { passive: true });
  document.addEventListener("visibilitychange", function () {
    if (visible()) { if (visibleSince === null) visibleSince = Date.now(); } else engagement(false);
  });
  window.addEventListener("pagehide", function () { engagement(true); });
  window.addEventListener("pageshow", function (e) { // back from the back/forward cache
    if (e.persisted && visible() && visibleSince === null) visibleSince = Date.now();
  });
  window.liveinsight = send;
  pageview();
})();
