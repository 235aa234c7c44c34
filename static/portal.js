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
    pickFirstPlan(elt);
    announceIn(elt);
    // What the agent must read next, such as a refusal beside the plan just
    // chosen, is scrolled into sight; the focus stays where it is.
    const reveal = elt.matches("[data-reveal]") ? elt : elt.querySelector("[data-reveal]");
    if (reveal) reveal.scrollIntoView({ block: "nearest" });
    // A swap that took away the focused element, such as the button that
    // sent it, and brought nothing to focus: the keyboard goes on from the
    // new content, not from the top of the page.
    if (document.activeElement === document.body || !document.activeElement) {
      const next = elt.querySelector("a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, [tabindex]");
      if (next) next.focus();
    }
  });

  // A chart's bar opens what it counts, for the mouse: a chart is one
  // image to assistive technology, and the table under it has the same
  // numbers as links.
  document.addEventListener("click", function (e) {
    const bar = e.target.closest && e.target.closest("svg.chart [data-href]");
    if (bar) window.location.assign(bar.dataset.href);
  });

  // An email opens beside the list it is in, on the same page: its
  // preview goes into the slot above the list, and Close (or Esc in it)
  // takes it away and gives the focus back to the email's link.
  let previewOpener = null;
  document.addEventListener("click", function (e) {
    const link = e.target.closest && e.target.closest("a[data-preview]");
    const slot = document.getElementById("email-preview-slot");
    if (!link || !slot || typeof htmx === "undefined" || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    previewOpener = link;
    htmx.ajax("GET", link.getAttribute("href"), { target: slot, select: "#email-preview", swap: "innerHTML" }).then(function () {
      const head = slot.querySelector(".preview-head h3");
      if (head) {
        head.tabIndex = -1;
        head.focus({ preventScroll: true });
        slot.scrollIntoView({ block: "start" });
      }
    });
  });
  function closePreview() {
    const slot = document.getElementById("email-preview-slot");
    if (!slot || !slot.firstElementChild) return false;
    slot.textContent = "";
    if (previewOpener && previewOpener.isConnected) previewOpener.focus();
    return true;
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-preview-close]")) {
      if (!closePreview()) window.history.back();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && e.target.closest && e.target.closest("#email-preview-slot") && closePreview()) e.preventDefault();
  });
  // The preview frame is as tall as the email in it.
  function fitFrame(frame) {
    try {
      const doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      // Measured with no room to spare, so a frame made tall before (at
      // another width) can become short again.
      frame.style.height = "0";
      frame.style.height = (doc.documentElement.scrollHeight + 4) + "px";
    } catch (err) { /* a frame of another origin keeps its height */ }
  }
  document.addEventListener("load", function (e) {
    if (e.target.matches && e.target.matches("iframe.email-frame")) fitFrame(e.target);
  }, true);
  window.addEventListener("resize", function () { document.querySelectorAll("iframe.email-frame").forEach(fitFrame); });

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
  // Each piece a swap brings, out-of-band ones and the content that took
  // the place of its target too, shows its copy buttons and its times in
  // the agent's zone; the rest of the page already does.
  document.addEventListener("htmx:load", function (e) {
    if (!e.detail.elt) return;
    showCopyButtons(e.detail.elt);
    localTimes(e.detail.elt);
  });

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

  // Enter in a country box looks the country up and chooses the first
  // plan of the answer, the cheapest that covers it; it does not submit
  // the form. The keyboard goes to that plan: Enter again adds it.
  let pickFirstIn = "";
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !e.target.matches || !e.target.matches("[data-country-box]")) return;
    e.preventDefault();
    if (!e.target.value.trim() || typeof htmx === "undefined") return;
    pickFirstIn = e.target.getAttribute("hx-target") || "";
    htmx.trigger(e.target, "search");
  }, true);
  function pickFirstPlan(elt) {
    if (!pickFirstIn || !elt.matches(pickFirstIn)) return;
    pickFirstIn = "";
    if (!elt.querySelector("[data-testid=plan-summary]")) return;
    const first = elt.querySelector("input[name=plan]");
    if (!first) return;
    first.focus();
    if (!first.checked) first.click();
  }

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

  // Lines. The keys of a line's tools act on the line that has the focus,
  // else on the one j or k went to last, else on the first: each tool
  // carries its key in data-line-key (and aria-keyshortcuts).
  let chosenLine = null;
  function lines() { return [...document.querySelectorAll("[data-testid=line]")]; }
  function currentLine() {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-testid=line]");
    if (focused) return focused;
    if (chosenLine && chosenLine.isConnected) return chosenLine;
    return lines()[0] || null;
  }
  document.addEventListener("focusin", function (e) {
    const line = e.target.closest && e.target.closest("[data-testid=line]");
    if (line) chosenLine = line;
  });
  function moveLine(step) {
    const all = lines();
    if (!all.length) return false;
    const at = all.indexOf(currentLine());
    const focusedInside = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-testid=line]");
    // The first j goes to the first line, not past it.
    let next = at < 0 || (!focusedInside && chosenLine === null) ? 0 : at + step;
    next = Math.max(0, Math.min(all.length - 1, next));
    chosenLine = all[next];
    chosenLine.focus({ preventScroll: true });
    chosenLine.scrollIntoView({ block: "nearest" });
    return true;
  }
  // runTool does what a line tool's control does when clicked: a summary
  // opens its details and keeps the focus on it.
  function runTool(control) {
    if (control.tagName === "SUMMARY") {
      control.parentElement.open = true;
      control.focus();
      control.scrollIntoView({ block: "nearest" });
      return;
    }
    control.focus({ preventScroll: true });
    control.click();
  }
  function lineTool(key) {
    const line = currentLine();
    const control = line && line.querySelector("[data-line-key=\"" + key + "\"]");
    if (!control) return false;
    runTool(control);
    return true;
  }

  // The command palette: Ctrl-K or ⌘K finds an action of the page or a
  // customer (through the subscriber search) by typing.
  const palette = {
    dialog: null, box: null, list: null, status: null,
    items: [], active: -1, timer: 0, seq: 0, opener: null, enter: undefined,
  };
  function paletteActions() {
    const out = [];
    const add = document.querySelector("[data-testid=add-line]");
    if (add) out.push({ label: "Add line", hint: "a", run: function () { add.click(); } });
    for (const line of lines()) {
      const name = line.dataset.lineName || "";
      line.querySelectorAll("[data-line-key]").forEach(function (control) {
        out.push({ label: control.textContent.trim() + " — line " + name, hint: control.dataset.lineKey, run: function () { runTool(control); } });
      });
    }
    document.querySelectorAll("nav.nav a").forEach(function (a) {
      out.push({ label: "Go to " + a.textContent.trim(), run: function () { window.location.assign(a.href); } });
    });
    out.push({ label: "Keyboard shortcuts", hint: "?", run: openShortcuts });
    return out;
  }
  function matches(label, words) {
    const l = label.toLowerCase();
    return words.every(function (w) { return l.includes(w); });
  }
  function renderPalette(customers, searching) {
    const q = palette.box.value.trim().toLowerCase();
    const words = q.split(/\s+/).filter(Boolean);
    const actions = paletteActions().filter(function (a) { return matches(a.label, words); });
    palette.items = actions.map(function (a) { return Object.assign({ kind: "Action" }, a); })
      .concat((customers || []).map(function (c) { return { kind: "Customer", label: c.name, detail: c.detail, run: function () { window.location.assign(c.href); } }; }));
    palette.list.textContent = "";
    palette.items.forEach(function (item, i) {
      const li = document.createElement("li");
      li.id = "palette-option-" + i;
      li.setAttribute("role", "option");
      li.dataset.kind = item.kind;
      const kind = document.createElement("span");
      kind.className = "palette-kind";
      kind.textContent = item.kind;
      const label = document.createElement("span");
      label.className = "palette-label";
      label.textContent = item.label;
      li.append(kind, label);
      if (item.detail) {
        const d = document.createElement("span");
        d.className = "palette-detail muted small";
        d.textContent = item.detail;
        li.append(d);
      }
      if (item.hint) {
        const k = document.createElement("kbd");
        k.textContent = item.hint;
        k.setAttribute("aria-hidden", "true");
        li.append(k);
      }
      li.addEventListener("click", function () { runPaletteItem(i); });
      palette.list.append(li);
    });
    palette.active = palette.items.length ? Math.max(0, Math.min(palette.active, palette.items.length - 1)) : -1;
    if (customers === null || palette.active < 0) palette.active = palette.items.length ? 0 : -1;
    markActive();
    let said;
    if (searching) said = "Searching customers…";
    else if (!palette.items.length) said = q ? "Nothing matches “" + palette.box.value.trim() + "”." : "";
    else said = palette.items.length === 1 ? "1 match" : palette.items.length + " matches";
    palette.status.textContent = said;
  }
  function markActive() {
    palette.list.querySelectorAll("[role=option]").forEach(function (li, i) {
      li.setAttribute("aria-selected", i === palette.active ? "true" : "false");
    });
    if (palette.active >= 0) {
      const li = document.getElementById("palette-option-" + palette.active);
      palette.box.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    } else {
      palette.box.removeAttribute("aria-activedescendant");
    }
  }
  function searchCustomers() {
    const q = palette.box.value.trim();
    clearTimeout(palette.timer);
    const seq = ++palette.seq;
    if (q.length < 2) {
      renderPalette(null, false);
      return;
    }
    renderPalette(null, true);
    palette.timer = setTimeout(function () {
      fetch("/subscribers?q=" + encodeURIComponent(q), { headers: { "HX-Request": "true", "HX-Target": "results" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (seq !== palette.seq) return;
          const doc = new DOMParser().parseFromString(html, "text/html");
          const found = [...doc.querySelectorAll("[data-testid=search-results] tbody tr")].slice(0, 8).map(function (tr) {
            const a = tr.querySelector("a");
            const matched = tr.querySelector("[data-testid=matched]");
            return { name: a.textContent.trim(), href: a.getAttribute("href"), detail: matched ? matched.textContent.replace(/\s+/g, " ").trim() : "" };
          });
          renderPalette(found, false);
        }, function () {
          if (seq === palette.seq) palette.status.textContent = "Customers not searched — the connection failed.";
        });
    }, 200);
  }
  function runPaletteItem(i) {
    const item = palette.items[i];
    if (!item) return;
    palette.opener = null; // the action decides where the focus goes
    palette.dialog.close();
    item.run();
  }
  function openPalette() {
    palette.dialog = document.getElementById("palette");
    if (!palette.dialog || palette.dialog.open) return;
    palette.box = document.getElementById("palette-q");
    palette.list = document.getElementById("palette-list");
    palette.status = document.getElementById("palette-status");
    palette.opener = document.activeElement;
    palette.enter = undefined;
    palette.box.value = "";
    palette.active = 0;
    palette.dialog.showModal();
    palette.box.focus();
    renderPalette(null, false);
  }
  document.addEventListener("input", function (e) {
    if (e.target.id === "palette-q") searchCustomers();
  });
  document.addEventListener("keydown", function (e) {
    if (e.target.id !== "palette-q" || !palette.items.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = palette.items.length;
      palette.active = (palette.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      markActive();
    } else if (e.key === "Enter") {
      // Run on the key's release: the action may open a dialog of its own,
      // which must not take this Enter as its answer.
      e.preventDefault();
      palette.enter = palette.active;
    }
  });
  document.addEventListener("keyup", function (e) {
    if (e.key !== "Enter" || e.target.id !== "palette-q" || palette.enter === undefined) return;
    const i = palette.enter;
    palette.enter = undefined;
    runPaletteItem(i);
  });
  document.addEventListener("close", function (e) {
    if (e.target.id !== "palette") return;
    clearTimeout(palette.timer);
    palette.seq++;
    // Esc gives the focus back to where the agent was.
    if (palette.opener && palette.opener.isConnected) palette.opener.focus();
  }, true);
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-palette-open]")) openPalette();
  });
  // Ctrl-K and ⌘K open it from anywhere, a field included.
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key === "k" || e.key === "K")) {
      e.preventDefault();
      openPalette();
    }
  });

  // The portal's own confirmation for the requests that ask first
  // (hx-confirm), instead of the browser's: it names what will happen, and
  // says when the same was done a moment ago.
  function confirmDialog(question, recent, yes) {
    const dialog = document.getElementById("confirm");
    if (!dialog) return false;
    const opener = document.activeElement;
    document.getElementById("confirm-question").textContent = question;
    const note = document.getElementById("confirm-recent");
    note.textContent = recent || "";
    note.hidden = !recent;
    const ok = document.getElementById("confirm-yes");
    ok.textContent = yes || "Yes";
    dialog.returnValue = "";
    // data-asking lasts until the answer is taken and the focus is back
    // where it was: the browser gives it back as the dialog closes, but the
    // close event, which decides, comes a moment later.
    dialog.dataset.asking = "";
    dialog.showModal();
    document.getElementById("confirm-no").focus();
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        const confirmed = dialog.returnValue === "yes";
        if (!confirmed && opener && opener.isConnected) opener.focus();
        delete dialog.dataset.asking;
        resolve(confirmed);
      }, { once: true });
    });
  }
  // recentQR says when the line's QR code email last went, from the Emails
  // panel, if it was within the last 10 minutes.
  function recentQR(elt) {
    const iccid = elt.dataset.iccid;
    if (!iccid) return "";
    const cells = [...document.querySelectorAll("#emails tr[data-kind=qr][data-iccid=\"" + iccid + "\"] td[data-queued]")];
    const last = cells.map(function (td) { return Date.parse(td.dataset.queued); }).filter(function (n) { return !isNaN(n); }).sort().pop();
    if (!last) return "";
    const ago = Date.now() - last;
    if (ago < 0 || ago > 10 * 60 * 1000) return "";
    const minutes = Math.round(ago / 60000);
    const when = minutes < 1 ? "less than a minute ago" : minutes === 1 ? "a minute ago" : minutes + " minutes ago";
    return "This QR code email was already queued " + when + " (" + localTime(new Date(last)) + "): the customer may just not have it yet.";
  }
  document.addEventListener("htmx:confirm", function (e) {
    if (!e.detail.question || !document.getElementById("confirm")) return;
    e.preventDefault();
    const elt = e.detail.elt;
    confirmDialog(e.detail.question, recentQR(elt), elt.dataset.confirmYes).then(function (yes) {
      if (yes) e.detail.issueRequest(true);
    });
  });

  // Times: the page gives each in UTC; it reads in the agent's own time
  // zone, with the UTC time on hover.
  const localFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  function localTime(d) { return localFormat.format(d).replace(/ at /, ", "); }
  // A time inside a sentence the server wrote ("Ended 1 Nov 2026, 01:50
  // UTC") reads in the agent's zone too, except where UTC is the point
  // (data-utc: the audit log's details, a day's span of reports).
  const utcInText = /\b(\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d) UTC\b/g;
  function localTimesInText(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        if (!n.nodeValue.includes(" UTC")) return NodeFilter.FILTER_REJECT;
        const p = n.parentElement;
        if (!p || p.closest("time, pre, script, style, textarea, [data-utc], dialog")) return NodeFilter.FILTER_REJECT;
        return NodeFilter.FILTER_ACCEPT;
      },
    });
    const found = [];
    while (walker.nextNode()) found.push(walker.currentNode);
    for (const node of found) {
      const text = node.nodeValue;
      const parts = document.createDocumentFragment();
      let at = 0;
      for (const m of text.matchAll(utcInText)) {
        const d = new Date(m[1].replace(",", "") + " UTC");
        if (isNaN(d)) continue;
        parts.append(text.slice(at, m.index));
        const t = document.createElement("time");
        t.setAttribute("datetime", d.toISOString());
        t.title = m[0];
        t.textContent = localTime(d);
        parts.append(t);
        at = m.index + m[0].length;
      }
      if (at === 0) continue;
      parts.append(text.slice(at));
      node.replaceWith(parts);
    }
  }
  function localTimes(root) {
    const times = root.matches && root.matches("time[data-local]") ? [root] : [];
    times.push(...root.querySelectorAll("time[data-local]"));
    times.forEach(function (t) {
      const d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      if (!t.title) t.title = t.textContent.trim();
      t.textContent = localTime(d);
    });
    // The server's sentences in the page's main part, under root.
    const main = document.getElementById("main");
    if (!main) return;
    if (root.contains(main)) localTimesInText(main);
    else if (main.contains(root)) localTimesInText(root);
  }

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
      case "j":
      case "k":
        if (moveLine(e.key === "j" ? 1 : -1)) e.preventDefault();
        break;
      default:
        if (/^[a-z]$/.test(e.key) && lineTool(e.key)) e.preventDefault();
    }
  });

  // The page says when its keys listen, so a test (or anything else) that
  // presses one waits for that, not for time.
  document.documentElement.setAttribute("data-keys-ready", "");

  function ready() {
    localTimes(document.body);
    announceIn(document.body);
    showCopyButtons(document.body);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
