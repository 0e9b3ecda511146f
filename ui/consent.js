/*
 * nginx-consent: the banner without a page load. Everything also works
 * without this file: the banner is a form that POSTs to the endpoint.
 * With it, "Customise" opens the categories in place, and the choice is
 * sent as JSON, then the page reloads so that the server gates it.
 */

(function () {
    "use strict";

    var b = document.getElementById("consent-banner"),
        f = b && b.querySelector("form"),
        p, s, c, last;

    if (!f || !window.fetch || !window.JSON) {
        return;
    }

    p = document.getElementById("consent-panel");
    s = document.getElementById("consent-save");
    c = document.getElementById("consent-customise");

    if (c && p && s) {
        c.addEventListener("click", function (e) {
            var i = p.querySelector("input:not([disabled])");

            e.preventDefault();
            p.hidden = false;
            s.hidden = false;
            c.hidden = true;
            (i || s).focus();
        });
    }

    f.addEventListener("click", function (e) {
        if (e.target.name === "action") {
            last = e.target;
        }
    });

    f.addEventListener("submit", function (e) {
        var t = e.submitter || last, a, m = [], q, i, x;

        if (!t || !t.value) {
            return;
        }

        e.preventDefault();
        a = t.value;

        if (a === "save") {
            q = f.querySelectorAll("input[name=category]");

            for (i = 0; i < q.length; i++) {
                if (q[i].checked && !q[i].disabled) {
                    m.push(q[i].value);
                }
            }
        }

        function plain() {
            x = document.createElement("input");
            x.type = "hidden";
            x.name = "action";
            x.value = a;
            f.appendChild(x);
            f.submit();
        }

        /* f.action would be the buttons named "action" */

        fetch(f.getAttribute("action"), {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ action: a, categories: m, source: "banner",
                                   lang: f.elements.lang
                                         && f.elements.lang.value })
        }).then(function (r) {
            if (r.ok) {
                location.reload();
            } else {
                plain();
            }
        }, plain);
    });

    if (document.activeElement === document.body) {
        b.focus({ preventScroll: true });
    }
})();
