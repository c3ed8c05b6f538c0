/**
 * The `/admin` status page: one static HTML document that polls `/admin/status.json` every
 * REFRESH_MS and redraws itself (no build step, no external asset). Every value goes in through
 * `textContent` or an escaping helper, so a model name or an error message cannot inject markup.
 *
 * For screen-reader and keyboard users (WCAG 2.2 AA; an accessibility audit): a redraw replaces
 * only the table rows whose text changed (rows are known by key), and none while text on the page
 * is selected, so a reader keeps their place and a job id can be copied; "Pause updates" stops
 * redraws (2.2.2); what matters changing (workers come or go, a new failure, the status readable
 * again) is said in a polite status region, not by re-reading tables, and the status becoming
 * unreadable in an alert, once; the chart's values are in its label and in a
 * data table; the layout reflows to 320 px (each table scrolls in its own box, a region the
 * keyboard reaches).
 * Its links and its fetch carry PUBLIC_PATH (http/public-path.ts), whose characters need no
 * escaping in HTML or a script's string.
 */
import { createHash } from 'node:crypto';

export const REFRESH_MS = 2000;

/** The page for clients that reach the API under `publicPath`, and its inline script's hash. */
export function statusPage(publicPath: string): { html: string; scriptHash: string } {
  const html = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>maas · cluster status</title>
<link rel="icon" href="data:,">
<style>
  :root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --accent:#2e6bd9; --bad:#c4320a; --ok:#12805c; --bg:#f8f9fb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#fff; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; }
  header .meta { color:var(--muted); font-size:12px; }
  header a { margin-left:auto; color:var(--accent); text-decoration:none; }
  main { padding: 16px 24px; display:grid; gap:16px; grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr)); }
  header { flex-wrap: wrap; }
  .scroll { overflow-x:auto; }
  .sr-only { position:absolute; width:1px; height:1px; padding:0; margin:-1px; overflow:hidden; clip:rect(0,0,0,0); white-space:nowrap; border:0; }
  button { font:inherit; font-size:12px; padding:2px 10px; border:1px solid var(--line); border-radius:6px; background:#fff; color:var(--fg); cursor:pointer; }
  button[aria-pressed="true"] { background:var(--fg); color:#fff; }
  :focus-visible { outline:2px solid var(--accent); outline-offset:2px; }
  details { margin-top:8px; }
  section { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 16px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size:14px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { font-weight:600; font-size:12px; color:var(--muted); }
  tbody th { font-size:14px; color:var(--fg); }
  td a { color:var(--accent); }
  td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
  .pill { display:inline-block; padding:0 6px; margin:1px 2px; border-radius:10px; background:#eef2ff; color:#3538cd; font-size:12px; }
  .none { color:var(--bad); }
  .empty { color:var(--muted); font-style:italic; }
  .err { color:var(--bad); }
  #stale { display:none; color:var(--bad); }
  svg text { font-size:10px; fill:var(--muted); }
</style>
</head>
<body>
<header>
  <h1>maas · cluster status</h1>
  <span class="meta">updated <span id="updated">…</span> · refreshes every ${REFRESH_MS / 1000} s · history <span id="window">0</span> s</span>
  <button type="button" id="pause" aria-pressed="false">Pause updates</button>
  <span id="stale" role="alert">status unavailable: <span id="stale-why"></span></span>
  <a href="${publicPath}/admin/queues">Queue board <span aria-hidden="true">→</span></a>
  <div id="announce" class="sr-only" role="status" aria-live="polite"></div>
</header>
<main>
  <section class="wide">
    <h2 id="models-h">Models</h2>
    <div class="scroll" tabindex="0" role="region" aria-labelledby="models-h"><table id="models" aria-labelledby="models-h"><thead><tr>
      <th scope="col">Model</th><th scope="col">Version</th><th scope="col">Workers (device / provider)</th>
      <th scope="col" class="num">Queued</th><th scope="col" class="num">Running</th><th scope="col" class="num">Oldest queued</th>
      <th scope="col" class="num">Jobs/s</th><th scope="col" class="num">Rows per batch</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <section>
    <h2 id="chart-h">Throughput (jobs/s) and batch size</h2>
    <div id="chart"></div>
    <details id="chart-data"><summary>The chart's values as a table</summary>
      <div class="scroll" tabindex="0" role="region" aria-labelledby="chart-h"><table id="series" aria-labelledby="chart-h"><thead><tr><th scope="col">Time</th><th scope="col" class="num">Jobs/s</th><th scope="col" class="num">Rows per batch</th></tr></thead><tbody></tbody></table></div>
    </details>
  </section>
  <section>
    <h2 id="workers-h">Workers</h2>
    <div class="scroll" tabindex="0" role="region" aria-labelledby="workers-h"><table id="workers" aria-labelledby="workers-h"><thead><tr><th scope="col">Worker</th><th scope="col">Host</th><th scope="col">Device</th><th scope="col">Serves</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section class="wide">
    <h2 id="failures-h">Recent failures</h2>
    <div class="scroll" tabindex="0" role="region" aria-labelledby="failures-h"><table id="failures" aria-labelledby="failures-h"><thead><tr><th scope="col">When</th><th scope="col">Job</th><th scope="col">Model</th><th scope="col">Tenant</th><th scope="col">Error</th></tr></thead><tbody></tbody></table></div>
  </section>
</main>
<script>
"use strict";
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
/** A table row of \`cells\`, known across redraws by \`key\` (a worker's id, a failure's, a sample's time). */
const row = (cells, key) => { const tr = document.createElement("tr"); for (const c of cells) tr.appendChild(c); tr.dataset.key = key; return tr; };
// A row whose key and text are the same as a redraw before stays the same element, wherever
// rows came or went around it: a reader's place (and focus) stays where it was.
const fill = (id, rows, empty, span) => {
  const body = document.querySelector("#" + id + " tbody");
  const next = rows.length ? rows : [row([Object.assign(el("td", empty, "empty"), { colSpan: span })], "empty")];
  const old = new Map(Array.from(body.rows, (r) => [r.dataset.key, r]));
  const want = next.map((tr) => {
    tr.dataset.text = Array.from(tr.cells, (c) => c.textContent).join("\u0001");
    const prev = old.get(tr.dataset.key);
    return prev && prev.dataset.text === tr.dataset.text ? prev : tr;
  });
  const kept = new Set(want);
  for (const r of Array.from(body.rows)) if (!kept.has(r)) r.remove();
  want.forEach((tr, i) => { if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] || null); });
};
const announce = (text) => { if (text) document.getElementById("announce").textContent = text; };
let paused = false;
let last = null; // what the previous redraw showed: worker ids, the newest failure's time, whether the status was readable
// A toggle button: its name stays, aria-pressed says whether updates are paused.
document.getElementById("pause").addEventListener("click", (e) => {
  paused = !paused;
  e.currentTarget.setAttribute("aria-pressed", String(paused));
  if (!paused) refreshNow();
});
// A selection (a job id being copied) or an update paused holds the page as it is.
const held = () => paused || String(document.getSelection() || "").length > 0;
const age = (s) => s === null ? "—" : s < 60 ? s.toFixed(1) + " s" : s < 3600 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h";
const num = (n) => n === null || n === undefined ? "—" : String(n);

function chart(points) {
  const box = document.getElementById("chart");
  if (points.length === 0) {
    box.replaceChildren(el("p", "No samples yet: history builds up while the API runs.", "empty"));
    fill("series", [], "No samples yet.", 3);
    return;
  }
  const W = 480, H = 140, pad = 28, n = points.length;
  const maxJ = Math.max(1, ...points.map((p) => p.jobs_per_s));
  const maxR = Math.max(1, ...points.map((p) => p.avg_batch_rows || 0));
  const bw = (W - pad) / n;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + (H + 18)); svg.setAttribute("width", "100%"); svg.setAttribute("role", "img");
  const latest = points[n - 1];
  const meanJ = points.reduce((a, p) => a + p.jobs_per_s, 0) / n;
  svg.setAttribute("aria-label", "jobs per second (bars) and rows per batch (line) over the last " + Math.round((latest.at - points[0].at) / 1000) + " s: now " + latest.jobs_per_s + " jobs/s and " + num(latest.avg_batch_rows) + " rows per batch; highest " + maxJ.toFixed(1) + " jobs/s, mean " + meanJ.toFixed(1) + " jobs/s; the values are in the table below");
  const add = (name, attrs, text) => { const e = document.createElementNS(ns, name); for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; svg.appendChild(e); return e; };
  points.forEach((p, i) => {
    const h = (p.jobs_per_s / maxJ) * (H - 10);
    add("rect", { x: pad + i * bw + 1, y: H - h, width: Math.max(1, bw - 2), height: h, fill: "#5b84d6" });
  });
  const line = points.map((p, i) => p.avg_batch_rows === null ? null : (pad + i * bw + bw / 2) + "," + (H - (p.avg_batch_rows / maxR) * (H - 10))).filter(Boolean);
  if (line.length > 1) add("polyline", { points: line.join(" "), fill: "none", stroke: "#c4320a", "stroke-width": 2 });
  add("text", { x: 0, y: 10 }, maxJ.toFixed(1) + "/s");
  add("text", { x: 0, y: H }, "0");
  const span = Math.round((points[n - 1].at - points[0].at) / 1000);
  add("text", { x: pad, y: H + 14 }, "−" + span + " s");
  add("text", { x: W - 22, y: H + 14 }, "now");
  add("text", { x: pad + 60, y: H + 14 }, "bars: jobs/s (max " + maxJ.toFixed(1) + ") · line: rows per batch (max " + maxR + ")");
  box.replaceChildren(svg);
  // The data table only while it is open (it can hold a few hundred rows).
  if (document.getElementById("chart-data").open) {
    // By clock time, newest first: a sample's row stays as it was (only the live last one changes).
    fill("series", points.slice().reverse().map((p) => row([el("td", new Date(p.at).toLocaleTimeString()), el("td", p.jobs_per_s, "num"), el("td", num(p.avg_batch_rows), "num")], String(p.at))), "No samples yet.", 3);
  }
}

// A failed job's id links to its page on the queue board (its data's shape, its error's stack).
const BOARD = ${JSON.stringify(`${publicPath}/admin/queues/queue/`)};
function jobCell(f) {
  const a = el("a", f.id);
  a.href = BOARD + encodeURIComponent(f.queue) + "/" + encodeURIComponent(f.id);
  const td = el("td");
  td.appendChild(a);
  return td;
}

function render(s) {
  document.getElementById("updated").textContent = new Date(s.generated_at).toLocaleTimeString();
  document.getElementById("window").textContent = s.window_s;
  const models = [];
  for (const m of s.models) m.versions.forEach((v, i) => {
    const workers = el("td");
    if (v.workers.length === 0) workers.appendChild(el("span", v.served === false ? "—" : "no live worker", "none"));
    for (const w of v.workers) workers.appendChild(el("span", w.id + " · " + w.device + " / " + w.provider, "pill"));
    const name = Object.assign(el("th", m.name), { scope: "row" });
    models.push(row([name, el("td", v.served === false ? v.version + " (not served: its last jobs)" : v.version), workers, el("td", v.queued, "num"), el("td", v.active, "num"),
      el("td", age(v.oldest_queued_s), "num"), el("td", i === 0 && m.throughput ? m.throughput.jobs_per_s : "—", "num"),
      el("td", i === 0 && m.throughput ? num(m.throughput.avg_batch_rows) : "—", "num")], m.name + ":" + v.version));
  });
  fill("models", models, "No model is served.", 8);
  fill("workers", s.workers.map((w) => { const td = el("td"); if (w.draining) td.appendChild(el("span", "draining: takes no jobs ", "none")); for (const x of w.serves) td.appendChild(el("span", x, "pill")); return row([el("td", w.id), el("td", w.host + " (pid " + w.pid + ")"), el("td", w.device), td], w.id); }), "No live worker: start one with npm run worker.", 4);
  fill("failures", s.failures.map((f) => row([el("td", new Date(f.failed_at).toLocaleTimeString()), jobCell(f), el("td", f.model + ":" + f.version), el("td", f.tenant), el("td", f.type + ": " + f.message, "err")], f.queue + "/" + f.id)), "No failed job.", 5);
  chart(s.series);
  // (failures newest first; one that only enters the list, as others leave it, is not new)
  const now = { workers: new Set(s.workers.map((w) => w.id)), newest: s.failures.length ? s.failures[0].failed_at : "" };
  if (last) {
    const said = [];
    const came = [...now.workers].filter((id) => !last.workers.has(id)).length, went = [...last.workers].filter((id) => !now.workers.has(id)).length;
    if (came) said.push(came + (came === 1 ? " worker" : " workers") + " joined");
    if (went) said.push(went + (went === 1 ? " worker" : " workers") + " left");
    if (came || went) said.push(now.workers.size + " live");
    const failed = s.failures.filter((f) => f.failed_at > last.newest);
    if (failed.length) said.push(failed.length + " new " + (failed.length === 1 ? "failure" : "failures") + ", the latest " + failed[0].model + ": " + failed[0].type);
    if (last.unreadable) said.push("status readable again");
    announce(said.join("; "));
  }
  if (last && now.newest < last.newest) now.newest = last.newest;
  last = now;
}

let timer;
async function refresh() {
  try {
    const r = await fetch(${JSON.stringify(`${publicPath}/admin/status.json`)}, { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const status = await r.json();
    document.getElementById("stale").style.display = "none";
    if (held()) return;
    render(status);
  } catch (e) {
    // Said once as it becomes unreadable (an alert), not at every poll that fails.
    const stale = document.getElementById("stale"), why = document.getElementById("stale-why");
    if (stale.style.display !== "inline" || why.textContent !== e.message) { stale.style.display = "inline"; why.textContent = e.message; }
    if (last) last.unreadable = true;
  } finally {
    clearTimeout(timer);
    if (!paused) timer = setTimeout(refresh, ${REFRESH_MS});
  }
}
const refreshNow = () => { clearTimeout(timer); refresh(); };
document.getElementById("chart-data").addEventListener("toggle", refreshNow);
refresh();
</script>
</body>
</html>
`;
  // The one inline script, by its SHA-256, as its Content-Security-Policy allows it (routes/admin.ts): no other script runs.
  const script = html.slice(html.indexOf('<script>') + 8, html.indexOf('</script>'));
  return { html, scriptHash: `'sha256-${createHash('sha256').update(script).digest('base64')}'` };
}
