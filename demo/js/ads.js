/* A stand-in for an advertising tag. */
(function () {
    document.cookie = "_demo_ads=1; path=/; max-age=3600";
    var el = document.getElementById("ads-status");
    if (el) { el.textContent = "Advertising script: loaded (you accepted it)."; }
})();
