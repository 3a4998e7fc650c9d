"use strict";
// The console reads GET /api/groups one page at a time. The function key comes from this
// page's own URL (?code=) or from the form (kept in sessionStorage); the server never puts
// a key in the page. Every value from the API goes into the page as text, never as markup.
(function () {
  // Every 15 s; `?refresh=<seconds>` in the page URL (2 to 3600) changes it.
  const asked = Number(new URLSearchParams(location.search).get("refresh"));
  const REFRESH_MS = 1000 * (asked >= 2 && asked <= 3600 ? asked : 15);
  const KEY_STORE = "vi-failover-console-key";
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const view = { search: "", filter: "", page: 1, pageSize: 25 };
  let lastOk = null;      // Date of the last successful read
  let lastBody = null;    // its body
  let failure = "";       // why the latest read failed, if it did
  let inFlight = null;    // AbortController of the read in progress

  function key() {
    return sessionStorage.getItem(KEY_STORE) || new URLSearchParams(location.search).get("code") || "";
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    for (const child of children) node.append(child instanceof Node ? child : String(child));
    return node;
  }

  function when(iso) {
    if (!iso) return "never";
    const d = new Date(iso);
    return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function ago(date) {
    const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min ago";
  }

  // The colour class of a timeline event.
  function kind(record) {
    const a = record.action;
    if (a === "failed_over" || a === "failed_back" || a === "moved") return "move";
    if (a === "blocked" || a === "would_block") return "block";
    if (a === "would_fail_over" || a === "would_fail_back") return "would";
    if (a === "pinned" || a === "unpinned") return "pin";
    if (a === "readiness") return "readiness";
    if (a === "recorded" || a === "suppressed") {
      const stage = (record.evidence && record.evidence.stage) || "";
      return /resolved|closed|complete/i.test(stage) || / closed /.test(record.reason) ? "closed" : "opened";
    }
    return "other";
  }

  function describe(r) {
    const move = r.from && r.to && r.from !== r.to ? ` ${r.from} → ${r.to}` : "";
    const tracking = r.evidence && r.evidence.trackingId ? ` [${r.evidence.trackingId}]` : "";
    return `${when(r.time)} ${r.action}${move}${tracking} by ${r.actor}: ${r.reason}`;
  }

  function strip(records) {
    const width = 24 * Math.max(records.length, 1) + 16;
    const line = svg("line", { x1: 8, y1: 12, x2: width - 8, y2: 12 });
    const dots = records.map((r, i) =>
      svg("circle", { cx: 12 + 24 * i, cy: 12, r: 7, class: kind(r), "data-action": r.action },
        svg("title", {}, describe(r))));
    const label = svg("text", { x: width + 4, y: 16 }, records.length ? "← newest on the left" : "no history yet");
    return svg("svg", { class: "strip", viewBox: `0 0 ${width + 140} 26`, role: "img",
      "aria-label": "timeline, newest first", preserveAspectRatio: "xMinYMid meet" }, line, ...dots, label);
  }

  function timeline(records) {
    const items = records.map((r) => el("li", { class: "event", "data-action": r.action },
      el("span", { class: "dot " + kind(r) }),
      el("span", { class: "when" }, when(r.time)),
      el("span", { class: "action" }, r.action),
      r.from && r.to && r.from !== r.to ? el("span", { class: "muted" }, `${r.from} → ${r.to} `) : null,
      el("span", { class: "muted" }, `by ${r.actor}`),
      r.evidence && r.evidence.trackingId ? el("span", { class: "muted" }, ` · ${r.evidence.trackingId}`) : null,
      el("span", { class: "why" }, r.reason)));
    return el("div", {}, strip(records),
      el("details", { class: "timeline" },
        el("summary", {}, `Timeline: ${records.length} recent event(s), newest first; reasons`),
        el("ol", { class: "events" }, items)));
  }

  function accounts(g) {
    const rows = g.accounts.map((a) => {
      const r = a.readiness;
      return el("tr", { "data-account": a.name },
        el("td", {}, el("span", { class: a.name === g.account.name ? "active-account" : null }, a.name),
          a.name === g.account.name ? " (active)" : null),
        el("td", {}, a.location), el("td", {}, a.role),
        el("td", {}, el("span", { class: "status status-" + r.status, title: r.ready ? "ready" : "not ready" },
          r.status + (r.consecutiveFailures ? ` ×${r.consecutiveFailures}` : ""))),
        el("td", {}, r.checkedAt ? `${when(r.checkedAt)}` : "never probed"),
        el("td", { class: "evidence" }, (r.evidence || "") + (a.impacted ? " · impacted by an open incident" : "")));
    });
    return el("table", {},
      el("thead", {}, el("tr", {}, ["account", "region", "role", "readiness", "last probe", "evidence"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows));
  }

  function incidents(g) {
    if (!g.openIncidents.length) return el("p", { class: "none" }, "No open incidents.");
    return el("ul", { class: "incidents" }, g.openIncidents.map((i) => el("li", {},
      el("a", { href: i.portalUrl, target: "_blank", rel: "noopener noreferrer",
        title: "Open in the Azure portal's Service Health" }, i.key),
      ` ${i.kind} · ${i.status} (${i.phase}) · ${i.title || "untitled"} · impacts ${i.impacted.join(", ") || "no account"}`
        + ` · updated ${when(i.updatedAt)}`)));
  }

  // Shadow mode: where the controller would have put the group, beside where apps are.
  function shadow(g) {
    if (g.mode !== "shadow") return "";
    const apart = g.apartSince
      ? `would be on ${g.wouldBeAccount} since ${when(g.apartSince)}; nothing moved`
      : `would also be on ${g.wouldBeAccount}`;
    return el("p", { class: "shadow" }, el("span", { class: "muted" }, "Shadow mode: "),
      el("span", { class: "would-be" }, apart),
      g.apartSince ? el("span", { class: "muted" }, ` (${g.wouldBeReason})`) : "");
  }

  function card(g) {
    const secondary = g.role !== "primary";
    const badges = [el("span", { class: "badge " + (secondary ? "role-other" : "role-primary") }, g.role || "unknown")];
    if (g.pinned) badges.push(el("span", { class: "badge pinned" },
      "pinned" + (g.pinExpires ? " until " + when(g.pinExpires) : ", no expiry")));
    if (g.blockedSince) badges.push(el("span", { class: "badge blocked" }, "blocked since " + when(g.blockedSince)));
    if (g.mode === "shadow") badges.push(el("span", { class: "badge shadow" }, "shadow mode"));
    return el("section", { class: "group" + (secondary ? " on-secondary" : "") + (g.blockedSince ? " is-blocked" : ""),
      "data-group": g.group },
      el("div", { class: "head" }, el("h2", {}, g.group),
        el("span", {}, "active: ", el("span", { class: "active-account" }, g.account.name),
          ` (${g.account.location || "?"})`), ...badges,
        el("span", { class: "muted" }, `v${g.version} since ${when(g.since)} by ${g.actor || "?"}`)),
      el("p", { class: "reason" }, el("span", { class: "muted" }, "Reason: "), g.reason),
      shadow(g), accounts(g), incidents(g), timeline(g.timeline));
  }

  function render(body) {
    const main = $("groups");
    // Timelines the reader opened stay open across refreshes.
    const open = new Set([...main.querySelectorAll("section.group")]
      .filter((s) => s.querySelector("details.timeline[open]")).map((s) => s.dataset.group));
    main.replaceChildren(...(body.groups.length ? body.groups.map(card)
      : [el("p", { class: "empty" }, body.configured ? "No group matches." : "No group is configured.")]));
    for (const section of main.querySelectorAll("section.group")) {
      if (open.has(section.dataset.group)) section.querySelector("details.timeline").open = true;
    }
    $("pageinfo").textContent = `page ${body.page} of ${body.pages} · ${body.total} of ${body.configured} group(s)`;
    $("prev").disabled = body.page <= 1;
    $("next").disabled = body.page >= body.pages;
  }

  function showFreshness() {
    const node = $("freshness");
    node.className = "freshness " + (failure ? "failing" : lastOk ? "ok" : "");
    node.textContent = lastOk ? `Updated ${ago(lastOk)} · refreshes every ${REFRESH_MS / 1000} s` : "Loading…";
    const stale = $("stale");
    stale.hidden = !failure;
    stale.textContent = failure ? `Could not refresh: ${failure}.` + (lastOk ? ` Showing data from ${ago(lastOk)}.` : "") : "";
  }

  async function load() {
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    const params = new URLSearchParams({ page: view.page, pageSize: view.pageSize, timeline: 10 });
    if (view.search) params.set("search", view.search);
    if (view.filter) params.set("filter", view.filter);
    const headers = { Accept: "application/json" };
    if (key()) headers["x-functions-key"] = key();
    try {
      const response = await fetch("groups?" + params, { headers, cache: "no-cache", signal: controller.signal });
      if (response.status === 401) {
        $("keyform").hidden = false;
        throw new Error("401: this page needs a function key that opens GET /api/groups");
      }
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(`${response.status} ${body.error || ""} ${body.message || ""}`.trim());
      if (body.page > body.pages && view.page > 1) { view.page = body.pages; return load(); }
      lastOk = new Date();
      failure = "";
      // Unchanged data is not drawn again: a refresh moves nothing under the reader's eyes.
      const { time, ...shown } = body;
      const same = lastBody && JSON.stringify(shown) === lastBody.shown;
      lastBody = { time, shown: JSON.stringify(shown) };
      if (!same) render(body);
    } catch (error) {
      if (error.name === "AbortError") return;
      failure = error.message;
    } finally {
      if (inFlight === controller) inFlight = null;
      showFreshness();
    }
  }

  function changed(reset) {
    if (reset) view.page = 1;
    load();
  }

  let typing = null;
  $("search").addEventListener("input", (e) => {
    clearTimeout(typing);
    typing = setTimeout(() => { view.search = e.target.value.trim(); changed(true); }, 250);
  });
  $("filter").addEventListener("change", (e) => { view.filter = e.target.value; changed(true); });
  $("pagesize").addEventListener("change", (e) => { view.pageSize = Number(e.target.value); changed(true); });
  $("prev").addEventListener("click", () => { view.page = Math.max(1, view.page - 1); changed(false); });
  $("next").addEventListener("click", () => { view.page += 1; changed(false); });
  $("refresh").addEventListener("click", () => changed(false));
  $("keyform").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY_STORE, $("key").value);
    $("key").value = "";
    $("keyform").hidden = true;
    changed(false);
  });
  setInterval(() => { if (!document.hidden && !inFlight) load(); }, REFRESH_MS);
  setInterval(showFreshness, 1000);
    load();
})();
