// The calendar's drag and drop. The page works without this file (each post of the week and
// day views has a small form to pick a new time; keyboard users keep it); with it, a post can
// be dragged onto another day (month and week views), keeping its time of day, or onto an hour
// (week and day views), keeping its minutes. The drop submits the same reschedule form the
// page's own forms post to (with the page's CSRF token), so the server checks and answers as
// for any form: the approval stands because only the time changes. Published and publishing
// posts are not draggable (the server renders no data-move on them). Served by the binary as
// /static/calendar.js.
(function () {
  "use strict";
  var form = document.querySelector("form[data-cal-drop]");
  if (!form || !document.querySelector("[data-move]")) return;
  var view = form.elements.namedItem("view").value;
  var help = document.querySelector("[data-drag-help]");
  if (help) help.hidden = false;
  var dragged = null;
  var over = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Hour targets for the week and day views, made once, shown while dragging.
  function hourTargets() {
    if (view === "month") return;
    Array.prototype.forEach.call(document.querySelectorAll("section[data-date]"), function (col) {
      if (col.querySelector("[data-hours]")) return;
      var list = document.createElement("ol");
      list.className = "cal-hours";
      list.setAttribute("data-hours", "");
      list.setAttribute("aria-hidden", "true");
      for (var h = 0; h < 24; h++) {
        var slot = document.createElement("li");
        slot.setAttribute("data-hour", pad(h));
        slot.textContent = pad(h) + ":00";
        list.appendChild(slot);
      }
      col.appendChild(list);
    });
  }

  // The element a drop on `el` lands on: an hour slot, else a day (not in the day view, whose
  // one day is where the post already is).
  function targetOf(el) {
    if (!el || !el.closest) return null;
    var hour = el.closest("[data-hour]");
    if (hour) return hour;
    return view === "day" ? null : el.closest("[data-date]");
  }

  function mark(el) {
    if (over === el) return;
    if (over) over.classList.remove("cal-over");
    over = el;
    if (over) over.classList.add("cal-over");
  }

  function field(name, value) {
    var input = form.elements.namedItem(name);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  document.addEventListener("dragstart", function (e) {
    var item = e.target.closest && e.target.closest("[data-move]");
    if (!item) return;
    dragged = item;
    item.classList.add("cal-dragged");
    hourTargets();
    document.body.classList.add("cal-dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", item.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("cal-dragged");
    dragged = null;
    mark(null);
    document.body.classList.remove("cal-dragging");
  });

  document.addEventListener("dragover", function (e) {
    if (!dragged) return;
    var target = targetOf(e.target);
    mark(target);
    if (!target) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
  });

  document.addEventListener("drop", function (e) {
    if (!dragged) return;
    var target = targetOf(e.target);
    if (!target) return;
    e.preventDefault();
    var at = dragged.getAttribute("data-at"); // YYYY-MM-DDTHH:MM in the brand's zone
    var day = target.closest("[data-date]").getAttribute("data-date");
    var hour = target.getAttribute("data-hour");
    var time = hour ? hour + at.slice(13) : at.slice(11);
    var next = day + "T" + time;
    if (next === at) return;
    form.action = dragged.getAttribute("data-move");
    field("version", dragged.getAttribute("data-version"));
    field("at", next);
    dragged.classList.add("cal-moving");
    form.submit();
  });
})();
