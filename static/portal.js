// portal.js: what the portal's pages do in the browser besides htmx. It
// announces what changed, says so in place when a request fails, and adds
// copy buttons and keyboard shortcuts. The pages work without it.
(function () {
  "use strict";

  // Announcements. The live regions are empty when the page loads; a
  // message goes in a moment after, so screen readers notice the change.
  // Each element marked data-announce ("status" or "alert") that a page load
  // or a swap brings is read out.
  const timers = {};
  function announce(kind, text) {
    const region = document.getElementById("announce-" + kind);
    if (!region || !text) return;
    clearTimeout(timers[kind]);
    region.textContent = "";
    timers[kind] = setTimeout(function () { region.textContent = text; }, 120);
  }

  function announceIn(root) {
    const said = { status: [], alert: [] };
    const marked = root.matches && root.matches("[data-announce]") ? [root] : [];
    marked.push(...root.querySelectorAll("[data-announce]"));
    for (const el of marked) {
      const text = el.textContent.replace(/\s+/g, " ").trim();
      const kind = el.dataset.announce === "alert" ? "alert" : "status";
      if (text) said[kind].push(text);
    }
    for (const kind of ["status", "alert"]) {
      if (said[kind].length) announce(kind, said[kind].join(" "));
    }
  }

  // The line name follows the country box while the agent has not typed a
  // name of their own (the plan list swaps alone, so the server cannot).
  function fillLineName(root) {
    const picker = root.matches && root.matches("[data-line-name]") ? root : root.querySelector("[data-line-name]");
    if (!picker) return;
    const form = picker.closest("form");
    const name = form && form.querySelector("[name=line_name]");
    const auto = form && form.querySelector("[name=line_name_auto]");
    // Not while the agent is typing a name of their own.
    if (!name || !auto || document.activeElement === name) return;
    if (name.value.trim() === "" || name.value === auto.value) {
      name.value = picker.dataset.lineName;
      auto.value = picker.dataset.lineName;
    }
  }

  // Failures. htmx swaps nothing when the connection fails or the server
  // answers with an error, so without this nothing would change on screen.
  function failureMessage(detail) {
    const verb = (detail.requestConfig && detail.requestConfig.verb) === "get" ? "Not loaded" : "Not sent";
    const xhr = detail.xhr;
    if (!xhr || !xhr.status) {
      return verb + " — the connection failed. Nothing was changed; try again.";
    }
    if (xhr.status >= 500) {
      return verb + " — the portal hit a problem. Nothing was changed; try again, and if it keeps happening, tell the portal team.";
    }
    // An error page says why in its message.
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const why = page.querySelector("[data-testid=error-page] p:not(.muted)");
    return verb + " — " + (why ? why.textContent.trim() : "the portal refused it.") + " Nothing was changed.";
  }

  function showFailure(detail) {
    const elt = detail.elt;
    if (!elt || !elt.isConnected) return;
    const form = elt.closest("form") || elt;
    clearFailure(form);
    const box = document.createElement("div");
    box.className = "alert error request-failed";
    box.setAttribute("data-testid", "request-failed");
    box.tabIndex = -1;
    box.textContent = failureMessage(detail);
    const actions = form.querySelector && form.querySelector(".form-actions");
    if (actions) {
      actions.before(box);
    } else if (form.tagName === "FORM") {
      form.append(box);
    } else {
      form.after(box);
    }
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: "nearest" });
    announce("alert", box.textContent);
  }

  function clearFailure(elt) {
    const form = elt.closest ? elt.closest("form") || elt : elt;
    const next = form.nextElementSibling;
    if (next && next.matches(".request-failed")) next.remove();
    if (form.querySelectorAll) form.querySelectorAll(".request-failed").forEach(function (e) { e.remove(); });
  }

  document.addEventListener("htmx:sendError", function (e) { showFailure(e.detail); });
  document.addEventListener("htmx:responseError", function (e) { showFailure(e.detail); });
  document.addEventListener("htmx:beforeRequest", function (e) { if (e.detail.elt) clearFailure(e.detail.elt); });
  document.addEventListener("htmx:afterSettle", function (e) {
    const elt = e.detail.elt;
    if (!elt || !elt.isConnected) return;
    fillLineName(elt);
    announceIn(elt);
    // What the agent must read next, such as a refusal beside the plan just
    // chosen, is scrolled into sight; the focus stays where it is.
    const reveal = elt.matches("[data-reveal]") ? elt : elt.querySelector("[data-reveal]");
    if (reveal) reveal.scrollIntoView({ block: "nearest" });
    showCopyButtons(elt);
    // A swap that took away the focused element, such as the button that
    // sent it, and brought nothing to focus: the keyboard goes on from the
    // new content, not from the top of the page.
    if (document.activeElement === document.body || !document.activeElement) {
      const next = elt.querySelector("a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, [tabindex]");
      if (next) next.focus();
    }
  });

  // Line tools (Add plan, Replace eSIM, Rename, Cancel a plan, and Add line
  // on the profile) open in a slot of the page, [data-tool-slot], and close
  // there: Esc, or the form's Keep it / Cancel ([data-tool-close]), empties
  // the slot and gives the focus back to the control that opened the tool.
  // A tool opened from inside another (Add plan's way out to Add line)
  // takes that one's place, and its opener.
  function closeTool(slot) {
    const opener = slot.toolOpener;
    slot.replaceChildren();
    slot.toolOpener = null;
    if (opener && opener.isConnected) opener.focus();
  }

  document.addEventListener("htmx:afterSwap", function (e) {
    const slot = e.detail.target;
    if (!slot || !slot.matches || !slot.matches("[data-tool-slot]")) return;
    const elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (elt && !slot.contains(elt)) {
      const from = elt.closest("[data-tool-slot]");
      if (from && from !== slot) {
        slot.toolOpener = from.toolOpener;
        from.replaceChildren();
        from.toolOpener = null;
      } else {
        slot.toolOpener = elt;
      }
    }
    if (!slot.contains(document.activeElement)) {
      const first = slot.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button, a[href]");
      if (first) first.focus({ preventScroll: true });
    }
    const form = slot.firstElementChild;
    if (form) form.scrollIntoView({ block: "nearest" });
  });

  document.addEventListener("click", function (e) {
    const close = e.target.closest("[data-tool-close]");
    const slot = close && close.closest("[data-tool-slot]");
    if (!slot) return;
    e.preventDefault();
    closeTool(slot);
  });

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    // In a country box with text, Esc clears the box first, as it does in
    // any search field; the next Esc closes the tool.
    if (e.target.matches && e.target.matches("input[type=search]") && e.target.value) return;
    const slot = e.target.closest && e.target.closest("[data-tool-slot]");
    if (!slot || !slot.firstElementChild) return;
    e.preventDefault();
    closeTool(slot);
  });

  // Copy buttons: hidden until the clipboard can be written. Each piece of
  // a swap is shown as htmx loads it, out-of-band pieces and the content
  // that took the place of its target too.
  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
  }
  document.addEventListener("htmx:load", function (e) { if (e.detail.elt) showCopyButtons(e.detail.elt); });

  document.addEventListener("click", function (e) {
    const button = e.target.closest("button[data-copy]");
    if (!button) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      const label = button.dataset.copyWhat || "Text";
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
      announce("status", label + " copied: " + button.dataset.copy);
    }, function () {
      announce("alert", "Not copied — the browser did not allow it.");
    });
  });

  // Enter in a country box looks the country up; it does not submit the form.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches && e.target.matches("[data-country-box]")) e.preventDefault();
  }, true);

  // Keyboard shortcuts, not while typing in a field.
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true], dialog[open]");
  }

  function openShortcuts() {
    const dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-shortcuts-open]")) openShortcuts();
  });

  // A `/` the shortcut took types nothing. Cancelling its keydown is not
  // always enough: a keypress may still follow (as from a remote keyboard),
  // and would type the slash into the box the shortcut just focused.
  let slashTaken = false;
  document.addEventListener("keypress", function (e) {
    if (slashTaken && e.key === "/") e.preventDefault();
  }, true);
  document.addEventListener("keyup", function (e) {
    if (e.key === "/") slashTaken = false;
  }, true);

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    // In the subscriber search box too, `/` goes to the search rather than
    // typing a slash (nothing it finds has one; line names on the eSIM List
    // may): it selects what is there, so the next search replaces it.
    if (e.key === "/" && e.target.matches && e.target.matches("[data-slash-selects]")) {
      e.preventDefault();
      slashTaken = true;
      e.target.select();
      return;
    }
    if (typing(e.target)) return;
    switch (e.key) {
      case "/": {
        e.preventDefault();
        slashTaken = true;
        const box = document.querySelector("[data-search-box]");
        if (box) {
          box.focus();
          box.select();
        } else {
          window.location.assign("/subscribers");
        }
        break;
      }
      case "a": {
        const add = document.querySelector("[data-testid=add-line]");
        if (add) {
          e.preventDefault();
          add.click();
        }
        break;
      }
      case "?":
        e.preventDefault();
        openShortcuts();
        break;
    }
  });

  // The page says when its keys listen, so a test (or anything else) that
  // presses one waits for that, not for time.
  document.documentElement.setAttribute("data-keys-ready", "");

  function ready() {
    announceIn(document.body);
    showCopyButtons(document.body);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
