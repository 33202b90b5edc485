// The live page: reads /services/events (Server-Sent Events) with fetch, so
// a bearer token can be sent, and keeps the table up to date without reloads.
"use strict";

const SEVERITY = ["ok", "idle", "busy", "stopped", "starting", "stopping", "unknown",
  "warning", "degraded", "stale", "error", "failed"];
const FAULTS = new Set(["warning", "degraded", "stale", "error", "failed"]);
const HEALTHY = new Set(["ok", "idle", "busy"]);
const TOKEN_KEY = "servitor-token";

// name -> { report, at } (at: when the report arrived, for ticking uptimes)
const services = new Map();
let order = [];
const open = new Set();
// Set once per page load: tests read it to tell an update from a reload.
window.servitorPageLoadedAt = Date.now();
window.servitorEvents = 0;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function uptime(ms) {
  if (!ms) return "–";
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s %= 86400;
  const h = Math.floor(s / 3600); s %= 3600;
  const m = Math.floor(s / 60); s %= 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function running(report) {
  return !report.ended_at_ms && report.uptime_ms > 0 &&
    (HEALTHY.has(report.status) || ["warning", "degraded", "stale"].includes(report.status));
}

function counts(report) {
  return !report.ended_at_ms || FAULTS.has(report.status);
}

function worst(reports) {
  let w = -1;
  for (const r of reports) if (counts(r)) w = Math.max(w, SEVERITY.indexOf(r.status));
  return w < 0 ? "unknown" : SEVERITY[w];
}

function kindOf(report) {
  if (report.kind === "supervisor") return "supervisor";
  const d = report.details || {};
  const has = (...keys) => keys.every((k) => k in d);
  if (has("hits", "misses", "evicted", "sweeps")) return "cache";
  if (has("published", "dead_letters", "subscriptions")) return "bus";
  if (has("queue_depth", "busy_workers", "retries")) return "tasks";
  if (has("jobs", "job_count")) return "scheduler";
  if (has("backend", "max_connections", "idle")) return "db";
  if (has("rate_limits", "base_url")) return "github";
  if (has("requests", "event_streams", "listening")) return "http";
  return null;
}

function note(report) {
  const parts = [];
  if (report.message) parts.push(document.createTextNode(report.message));
  if (report.last_failure && !(report.message || "").includes(report.last_failure)) {
    if (parts.length) parts.push(document.createTextNode(" "));
    parts.push(el("span", { class: "failure" }, `last failure: ${report.last_failure}`));
  }
  return parts;
}

function row(name) {
  const { report, at } = services.get(name);
  const depth = (report.path.match(/\//g) || []).length;
  const kind = kindOf(report);
  const live = running(report) ? report.uptime_ms + (Date.now() - at) : report.uptime_ms;
  const status = report.ended_at_ms ? `${report.status} (ended)` : report.status;
  const tr = el("tr", {
    class: "service" + (report.ended_at_ms ? " ended" : ""),
    "data-service": name,
    "data-status": report.status,
    "data-restarts": report.restarts,
    onclick: () => { open.has(name) ? open.delete(name) : open.add(name); render(); },
  },
    el("td", { class: "name" },
      el("span", { class: "branch" }, depth ? "  ".repeat(depth - 1) + "└ " : ""),
      name,
      kind ? el("span", { class: "kind" }, kind) : null),
    el("td", { class: "status", "data-status": report.status }, status),
    el("td", { class: "num restarts" }, report.restarts),
    el("td", { class: "num uptime", "data-uptime-ms": live }, uptime(live)),
    el("td", { class: "message" }, ...note(report)));
  const rows = [tr];
  if (open.has(name)) {
    const shown = {
      path: report.path, kind: report.kind, status_since: new Date(report.status_since_ms).toISOString(),
      last_failure: report.last_failure, restart_at: report.restart_at_ms ? new Date(report.restart_at_ms).toISOString() : null,
      health_check_us: report.check_duration_us, details: report.details,
    };
    rows.push(el("tr", { class: "detail", "data-detail-of": name },
      el("td", { colSpan: 5 }, el("pre", {}, JSON.stringify(shown, null, 2)))));
  }
  return rows;
}

function render() {
  const body = $("services");
  const rows = [];
  for (const name of order) if (services.has(name)) rows.push(...row(name));
  body.replaceChildren(...rows);
  const reports = order.filter((n) => services.has(n)).map((n) => services.get(n).report);
  const overall = worst(reports);
  const badge = $("overall");
  badge.dataset.status = HEALTHY.has(overall) ? "ok" : overall;
  badge.textContent = HEALTHY.has(overall) ? "ok" : overall;
  const counted = reports.filter(counts);
  const trouble = {};
  for (const r of counted) if (FAULTS.has(r.status)) trouble[r.status] = (trouble[r.status] || 0) + 1;
  const list = Object.entries(trouble).sort((a, b) => SEVERITY.indexOf(b[0]) - SEVERITY.indexOf(a[0]))
    .map(([s, n]) => `${n} ${s}`);
  const restarts = reports.reduce((sum, r) => sum + r.restarts, 0);
  $("summary").textContent = `${counted.length} services` +
    (list.length ? ` — ${list.join(", ")}` : " — all fine") + ` · ${restarts} restarts`;
  const root = reports.find((r) => !r.path.includes("/"));
  $("root").textContent = root ? root.name : "";
  document.title = `${HEALTHY.has(overall) ? "ok" : overall} · servitor${root ? " · " + root.name : ""}`;
}

function onSnapshot(snapshot) {
  const now = Date.now();
  services.clear();
  order = [];
  for (const report of snapshot.services) {
    services.set(report.name, { report, at: now });
    order.push(report.name);
  }
  render();
}

function onStatus(event) {
  const now = Date.now();
  const known = services.get(event.name);
  let report = event.report;
  if (!report) {
    if (!known) return;
    report = { ...known.report, status: event.status, message: event.message };
  } else {
    // The transition is what the event says; the report may be a step ahead.
    report = { ...report, status: event.status, message: event.message };
  }
  if (!known) {
    // A new service: place it after its parent's subtree.
    order.push(event.name);
    order.sort((a, b) => (services.get(a)?.report.path ?? report.path)
      .localeCompare(services.get(b)?.report.path ?? report.path));
  }
  services.set(event.name, { report, at: now });
  render();
  if (event.from && FAULTS.has(event.status)) {
    const tr = document.querySelector(`tr[data-service="${CSS.escape(event.name)}"]`);
    if (tr) { tr.classList.add("flash"); setTimeout(() => tr.classList.remove("flash"), 1200); }
  }
}

function setLink(state, text) {
  const link = $("link");
  link.dataset.state = state;
  link.textContent = text;
}

async function connect() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Accept: "text/event-stream" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch("/services/events", { headers, cache: "no-store" });
  } catch (e) {
    return retry();
  }
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("login").hidden = false;
    $("login-error").textContent = token ? "that token was refused" : "";
    setLink("reconnecting", "needs a token");
    return;
  }
  if (response.status === 403) {
    const body = await response.json().catch(() => ({}));
    $("notice").hidden = false;
    $("notice").textContent = body.message || "this endpoint does not show details";
    setLink("reconnecting", "details not shown");
    return;
  }
  if (!response.ok || !response.body) return retry();
  $("login").hidden = true;
  setLink("live", "live");
  delay = 500;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      break;
    }
    if (chunk.done) break;
    buffer += chunk.value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      dispatch(block);
    }
  }
  retry();
}

function dispatch(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return;
  let payload;
  try { payload = JSON.parse(data.join("\n")); } catch (e) { return; }
  window.servitorEvents += 1;
  if (event === "snapshot") onSnapshot(payload);
  else if (event === "status") onStatus(payload);
}

let delay = 500;
function retry() {
  setLink("reconnecting", "reconnecting…");
  setTimeout(connect, delay);
  delay = Math.min(delay * 2, 10000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    connect();
  });
  // Uptimes tick between events.
  setInterval(() => {
    for (const td of document.querySelectorAll("td.uptime")) {
      const tr = td.parentElement;
      const entry = services.get(tr.dataset.service);
      if (entry && running(entry.report)) {
        const live = entry.report.uptime_ms + (Date.now() - entry.at);
        td.dataset.uptimeMs = live;
        td.textContent = uptime(live);
      }
    }
  }, 1000);
  connect();
});
