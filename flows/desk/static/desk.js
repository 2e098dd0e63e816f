// The desk's keyboard and htmx glue (no build step). Shortcuts act only when no text field has focus:
// queue: j / k move the selection, Enter opens it, n claims the next case;
// case: a approve, r return, x reject (then type the reason and press Enter), j / k next / previous case.
(function () {
  "use strict";
  if (window.htmx) {
    // Show refusals (4xx) too: the desk's error fragment says what the service refused and why.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
  }

  // A new case arrives with the keyboard on the page, not in its reason field (htmx gives focus back to
  // the element of the same id, which would swallow the next shortcut as text).
  document.addEventListener("htmx:afterSwap", function () {
    var el = document.activeElement;
    if (el && el.id === "reason") { el.blur(); }
  });

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-nav-item]")); }

  function select(list, i) {
    list.forEach(function (el, j) { el.classList.toggle("selected", i === j); });
    if (list[i]) { list[i].scrollIntoView({ block: "nearest" }); }
  }

  function decide(form, decision) {
    var reason = form.querySelector("[name=reason]");
    form.querySelector("[name=decision]").value = decision;
    if (decision !== "approve" && !reason.value.trim()) {
      form.dataset.pending = decision;
      document.getElementById("pending").textContent = form.dataset["msg" + decision.charAt(0).toUpperCase() + decision.slice(1)] || "";
      reason.focus();
      return;
    }
    delete form.dataset.pending;
    if (window.htmx) { htmx.trigger(form, "submit"); } else { form.submit(); }
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-decide]");
    if (b) { ev.preventDefault(); decide(b.form, b.dataset.decide); }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var form = document.getElementById("decide-form");
    if (ev.key === "Enter" && form && ev.target.name === "reason" && form.contains(ev.target)) {
      ev.preventDefault();
      var d = form.dataset.pending || form.querySelector("[name=decision]").value;
      if (d) { decide(form, d); }
      return;
    }
    if (typing(ev.target)) { return; }
    var list = items();
    var at = list.findIndex(function (el) { return el.classList.contains("selected"); });
    var kase = document.getElementById("case");
    if (form) {
      if (ev.key === "a") { ev.preventDefault(); decide(form, "approve"); return; }
      if (ev.key === "r") { ev.preventDefault(); decide(form, "return"); return; }
      if (ev.key === "x") { ev.preventDefault(); decide(form, "reject"); return; }
    }
    if (list.length) {
      if (ev.key === "j") { ev.preventDefault(); select(list, Math.min(at + 1, list.length - 1)); return; }
      if (ev.key === "k") { ev.preventDefault(); select(list, Math.max(at - 1, 0)); return; }
      if (ev.key === "Enter" && at >= 0) { ev.preventDefault(); window.location = list[at].dataset.href; return; }
    } else if (kase) {
      if (ev.key === "j" && kase.dataset.nextHref) { ev.preventDefault(); window.location = kase.dataset.nextHref; return; }
      if (ev.key === "k" && kase.dataset.prevHref) { ev.preventDefault(); window.location = kase.dataset.prevHref; return; }
    }
    if (ev.key === "n") {
      var claim = document.getElementById("claim-next");
      if (claim) { ev.preventDefault(); claim.click(); }
    }
  });

  document.addEventListener("input", function (ev) {
    if (ev.target.id === "year") {
      var y = ev.target.value.trim();
      var a = document.getElementById("year-dossier");
      if (a && /^\d{4}$/.test(y)) { a.href = "/audit/year/" + y + "/dossier.pdf"; }
    }
  });
})();
