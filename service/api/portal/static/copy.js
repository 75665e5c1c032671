// Copy buttons: a button with data-copy-target copies that input's value to the clipboard.
// The button is hidden in the page and shown here, so without JavaScript only the
// selectable input is there. The result is announced in the nearest role=status element.
(function () {
  "use strict";
  function announce(button, text) {
    var field = button.closest(".copy-field");
    var status = field ? field.querySelector("[role=status]") : null;
    if (status) {
      status.textContent = text;
    }
  }
  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) {
      return;
    }
    input.focus();
    input.select();
    var done = function () { announce(button, "Länken är kopierad."); };
    var failed = function () {
      announce(button, "Det gick inte att kopiera automatiskt. Länken är markerad: kopiera den med Ctrl+C (Cmd+C på Mac).");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, failed);
    } else {
      try {
        if (document.execCommand("copy")) { done(); } else { failed(); }
      } catch (e) {
        failed();
      }
    }
  }
  function init() {
    var buttons = document.querySelectorAll("button[data-copy-target]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) { copy(event.currentTarget); });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
