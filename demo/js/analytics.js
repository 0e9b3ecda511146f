/* A stand-in for an analytics tag: it sets a cookie and says it ran. */
(function () {
    document.cookie = "_demo_stats=" + Date.now() + "; path=/; max-age=3600";
    var el = document.getElementById("analytics-status");
    if (el) { el.textContent = "Analytics script: loaded (you accepted it)."; }
})();
