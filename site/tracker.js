/* LiveInsight tracker: <script defer src="https://YOUR-DASHBOARD/tracker.js" data-domain="example.com"></script>
   Sends a page view on load and on single-page-app navigation; window.liveinsight("signup", {plan: "pro"})
   sends a custom event. No cookies, no storage. It posts text/plain, so a browser needs no CORS preflight. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var api = script.getAttribute("data-api") || new URL(script.src, location.href).origin + "/api";
  var domain = script.getAttribute("data-domain") || location.hostname;
  if (/^localhost$|^127\./.test(location.hostname) && !script.hasAttribute("data-allow-local")) return;
  var last = null;
  function send(name, props) {
    var body = JSON.stringify({ name: name, url: location.href, domain: domain,
                                referrer: document.referrer || "", props: props || {} });
    var url = api.replace(/\/$/, "") + "/events";
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    fetch(url, { method: "POST", body: body, headers: { "Content-Type": "text/plain" }, keepalive: true })
      .catch(function () { /* analytics never breaks the page */ });
  }
  function pageview() {
    if (location.href === last) return;
    last = location.href;
    send("pageview");
  }
  var push = history.pushState;
  history.pushState = function () { push.apply(this, arguments); pageview(); };
  window.addEventListener("popstate", pageview);
  window.liveinsight = send;
  pageview();
})();
