/* A stand-in for an advertising tag; see analytics.js. */
(function () {
    document.cookie = "_demo_ads=1; path=/; max-age=3600";

    function report() {
        var el = document.getElementById("ads-status");
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
