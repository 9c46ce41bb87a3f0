// The review queue's keyboard. The page works without this file; with it:
//   j / k   select the next / previous draft
//   a       focus "Approve" of the selected draft (Enter then approves it)
//   r       focus the rejection reason (Ctrl+Enter then rejects)
//   e       open the selected draft in the editor
//   Escape  leave a text field
// Keys typed into a text field are left alone. Served by the binary as /static/review.js.
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-review-item]"));
  if (!items.length) return;
  var current = -1;

  function mark(i) {
    if (current >= 0 && items[current]) items[current].classList.remove("selected");
    current = i;
    items[i].classList.add("selected");
  }

  function select(i) {
    if (i < 0 || i >= items.length) return;
    mark(i);
    items[i].focus({ preventScroll: true });
    items[i].scrollIntoView({ block: "start" });
  }

  items.forEach(function (el, i) {
    el.addEventListener("focusin", function () {
      if (current !== i) mark(i);
    });
  });

  var help = document.querySelector("[data-keyboard-help]");
  if (help) help.hidden = false;
  // Start on the draft named in the address, else the first (without moving the page).
  var start = items.findIndex(function (el) { return "#" + el.id === window.location.hash; });
  mark(start >= 0 ? start : 0);

  function act(selector) {
    var item = items[current];
    var target = item && item.querySelector(selector);
    if (target) target.focus();
    return !!target;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.altKey || e.metaKey) return;
    var t = e.target;
    var tag = t && t.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) {
      if (e.key === "Escape") {
        t.blur();
        if (current >= 0) items[current].focus({ preventScroll: true });
        e.preventDefault();
      } else if (e.key === "Enter" && e.ctrlKey && tag === "TEXTAREA" && t.form) {
        e.preventDefault();
        if (t.form.requestSubmit) t.form.requestSubmit(); else t.form.submit();
      }
      return;
    }
    if (e.ctrlKey) return;
    switch (e.key) {
      case "j": select(Math.min(current + 1, items.length - 1)); break;
      case "k": select(Math.max(current - 1, 0)); break;
      case "a": if (!act("[data-action=approve]")) return; break;
      case "r": if (!act("[data-action=reject] textarea")) return; break;
      case "e": {
        var link = items[current] && items[current].querySelector("[data-action=edit]");
        if (!link) return;
        window.location.assign(link.href);
        break;
      }
      default: return;
    }
    e.preventDefault();
  });
})();
