/*
 * A stand-in for an analytics tag: it sets a cookie and says it ran. It is
 * loaded in <head>, before the page's body exists, as real tags are: it
 * writes its status once the document is parsed, in the page's own words
 * (data-loaded), so that the English and French pages share it.
 */
(function () {
    document.cookie = "_demo_stats=" + Date.now() + "; path=/; max-age=3600";

    function report() {
        var el = document.getElementById("analytics-status");
        if (el) {
            el.textContent = el.getAttribute("data-loaded");
            el.className = "status loaded";
        }
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", report);
    } else {
        report();
    }
})();
