// gotrain serve: the page. Plain JavaScript, no build step; charts of runs with uPlot (embedded),
// the sweep and study views as hand-drawn SVG. Everything comes from /api on this server.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const STEP_CHARTS = [
  { key: "loss", title: "loss per step", log: true },
  { key: "acc", title: "accuracy per step (batch)", log: false },
  { key: "lr", title: "learning rate", log: true },
  { key: "grad_norm", title: "gradient norm", log: true },
];
const EPOCH_CHARTS = [
  { title: "loss per epoch (eval dashed)", keys: ["train_loss", "eval_loss"], log: true },
  { title: "accuracy per epoch (eval dashed)", keys: ["train_acc", "eval_acc"], log: false },
  { title: "learning rate (end of epoch)", keys: ["lr"], log: true },
  { title: "samples per second", keys: ["samples_per_sec"], log: false },
];

const state = {
  items: [], byId: new Map(), roots: [],
  selected: [],          // run ids, in the order ticked: fixes their colours
  grid: null,            // id of the sweep or study shown
  details: new Map(),    // id -> run detail
  gridDetail: null,
  sort: { col: -1, dir: 1 }, filters: {},
  charts: new Map(),     // chart key -> {u, sig, zoomed}
  xaxis: "step", logy: true, logx: false, smooth: 0.6, diag: "",
};

const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 1e4, 2e4, 2.5e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];
const DASHES = [undefined, [6, 4], [2, 3], [10, 3, 2, 3]]; // one line style per run in the diagnostics panel
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const k of kids) if (k != null) e.append(k);
  return e;
}
function fmt(v) {
  if (v === null || v === undefined || v === "") return "";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  return String(+v.toPrecision(5));
}
// niceTicks are about n round values (1, 2 or 5 times a power of ten apart) covering [lo, hi].
function niceTicks(lo, hi, n) {
  const raw = (hi - lo) / Math.max(1, n), p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((st) => st >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}
function colorOf(id) { return PALETTE[state.selected.indexOf(id) % PALETTE.length]; }
// label is an item's folder below its root (the root's own name when the root is the item):
// short enough for a legend; the full path is in the list's tooltips.
function label(it) {
  if (!it) return "?";
  const rel = it.id.slice(it.id.indexOf("/") + 1);
  return rel === "." ? it.name.split("/").filter(Boolean).pop() : rel;
}
const shortName = label;

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status + " " + (await r.text()));
  return r.json();
}

// ---- listing ----
async function loadItems() {
  const d = await getJSON("/api/items");
  state.items = d.items; state.roots = d.roots;
  state.byId = new Map(d.items.map((it) => [it.id, it]));
  // Runs deleted meanwhile leave the selection; a sweep deleted closes its view.
  const gone = state.selected.filter((id) => !state.byId.has(id));
  if (gone.length) {
    state.selected = state.selected.filter((id) => state.byId.has(id));
    for (const id of gone) state.details.delete(id);
    renderRuns();
  }
  if (state.grid && !state.byId.has(state.grid)) { state.grid = null; state.gridDetail = null; showView(); }
  renderList();
  $("roots").textContent = "Folders: " + d.roots.map((r) => r.path + (r.exists ? "" : " (not there yet)")).join(", ") +
    " · " + d.items.length + " items";
}

function summaryText(it) {
  const m = it.metrics || {};
  if (it.kind === "run") {
    const parts = [];
    if (it.steps) parts.push(it.steps + " steps");
    if (m.best_eval_acc !== undefined) parts.push((100 * m.best_eval_acc).toFixed(2) + "%");
    return parts.join(" · ");
  }
  if (it.kind === "sweep") return (it.rows || 0) + " runs" + (m.best_eval_acc !== undefined ? " · best " + (100 * m.best_eval_acc).toFixed(2) + "%" : "");
  const p = [(it.rows || 0) + " trials"];
  if (m.pruned) p.push(m.pruned + " pruned");
  if (m.best_value !== undefined) p.push("best " + fmt(m.best_value));
  return p.join(" · ");
}

function matches(it, q) {
  if (!q) return true;
  const hay = [it.name, it.kind, it.status, ...Object.entries(it.options || {}).map(([k, v]) => k + "=" + v)].join(" ").toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}

function itemRow(it, member) {
  const isRun = it.kind === "run";
  const row = el("div", {
    class: "item" + (member ? " member" : "") + ((isRun ? state.selected.includes(it.id) : state.grid === it.id) ? " active" : ""),
    "data-id": it.id, "data-kind": it.kind, title: it.name + (it.note ? "\n" + it.note : ""),
  });
  if (isRun) {
    const cb = el("input", { type: "checkbox", "data-id": it.id });
    cb.checked = state.selected.includes(it.id);
    cb.addEventListener("click", (e) => { e.stopPropagation(); toggleRun(it.id); });
    row.append(cb);
    row.addEventListener("click", () => toggleRun(it.id));
  } else {
    row.addEventListener("click", () => openGrid(it.id));
  }
  row.append(el("span", { class: "name", text: member ? it.name.split("/").pop() : label(it) }), el("span", { class: "meta", text: summaryText(it) }),
    el("span", { class: "badge " + it.status, text: it.status }));
  return row;
}

function renderList() {
  const q = $("filter").value.trim().toLowerCase();
  const list = $("list");
  list.replaceChildren();
  const top = state.items.filter((it) => !it.parent || !state.byId.has(it.parent));
  const byNewest = (a, b) => (a.modified < b.modified ? 1 : a.modified > b.modified ? -1 : a.name.localeCompare(b.name));
  for (const [kind, title] of [["run", "Runs"], ["sweep", "Sweeps"], ["study", "Studies"]]) {
    const its = top.filter((it) => it.kind === kind).sort(byNewest);
    const shown = [];
    for (const it of its) {
      const members = (it.members || []).map((id) => state.byId.get(id)).filter((m) => m && matches(m, q));
      if (!matches(it, q) && members.length === 0) continue;
      shown.push(itemRow(it, false));
      for (const m of members) shown.push(itemRow(m, true));
    }
    if (its.length === 0) continue;
    list.append(el("h3", { text: title + " (" + its.length + ")" }), ...shown);
  }
  if (state.items.length === 0) list.append(el("p", { class: "empty", text: "Nothing here yet: runs appear as soon as they start." }));
}

// ---- navigation ----
function toggleRun(id) {
  const i = state.selected.indexOf(id);
  if (i >= 0) { state.selected.splice(i, 1); state.details.delete(id); }
  else state.selected.push(id);
  state.grid = null;
  saveHash(); renderList(); showView();
  if (i < 0) fetchRuns([id]); else renderRuns();
}
function openGrid(id) {
  state.grid = id; state.gridDetail = null; state.sort = { col: -1, dir: 1 }; state.filters = {};
  saveHash(); renderList(); showView(); fetchGrid();
}
function showView() {
  const runs = !state.grid && state.selected.length > 0;
  $("runs-view").hidden = !runs;
  $("grid-view").hidden = !state.grid;
  $("empty").hidden = runs || !!state.grid;
}
function saveHash() {
  const h = state.grid ? "grid=" + encodeURIComponent(state.grid) : state.selected.length ? "runs=" + state.selected.map(encodeURIComponent).join(",") : "";
  history.replaceState(null, "", h ? "#" + h : location.pathname);
}
function loadHash() {
  const h = location.hash.slice(1);
  if (h.startsWith("grid=")) state.grid = decodeURIComponent(h.slice(5));
  else if (h.startsWith("runs=")) state.selected = h.slice(5).split(",").filter(Boolean).map(decodeURIComponent);
}

// ---- runs: curves ----
function chartWidth() {
  const c = $("charts");
  const w = c.clientWidth || 900;
  const cols = Math.max(1, Math.floor((w + 10) / 450));
  return Math.floor((w - 10 * (cols - 1)) / cols) - 14;
}
async function fetchRuns(ids) {
  ids = ids.filter((id) => state.byId.has(id));
  if (ids.length === 0) { renderRuns(); return; }
  const p = new URLSearchParams();
  for (const id of ids) p.append("id", id);
  p.set("points", String(Math.min(2000, Math.max(200, chartWidth()))));
  p.set("smooth", String(state.smooth));
  p.set("m", STEP_CHARTS.map((c) => c.key).join(","));
  if (state.diag) p.set("diag", state.diag);
  try {
    const d = await getJSON("/api/detail?" + p);
    for (const it of d.items) if (state.selected.includes(it.id)) state.details.set(it.id, it);
    for (const id of d.missing) state.details.delete(id);
  } catch (e) { $("run-notes").textContent = String(e); }
  renderRuns();
}

function logSafe(arr, log) { return log ? arr.map((v) => (v !== null && v > 0 ? v : null)) : arr; }

// chart draws (or updates) one uPlot chart. lines: [{label, color, x, y, dash, faint}]
function chart(key, title, lines, log, width) {
  let c = state.charts.get(key);
  const box = c ? c.box : el("div", { class: "chart", "data-chart": key });
  const sig = JSON.stringify([lines.map((l) => [l.label, l.color, !!l.dash, !!l.faint]), log, state.logx, width]);
  // uPlot wants one x array shared by every series: join the runs' own x values.
  const tables = lines.map((l) => [Float64Array.from(l.x, (v) => (v === null ? NaN : v)), logSafe(l.y, log)]);
  const data = tables.length ? uPlot.join(tables) : [[]];
  let maxX = -Infinity, points = 0;
  for (const l of lines) { points += l.x.length; if (l.x.length) maxX = Math.max(maxX, l.x[l.x.length - 1]); }
  box.dataset.points = String(points);
  box.dataset.maxX = String(maxX === -Infinity ? 0 : maxX);
  box.dataset.series = String(lines.filter((l) => !l.faint).length);
  box.dataset.runs = String(new Set(lines.map((l) => l.run)).size);
  if (c && c.sig === sig) {
    c.u.setData(data, !c.zoomed);
    return box;
  }
  if (c) c.u.destroy();
  box.replaceChildren(el("h4", { text: title }));
  const readout = el("div", { class: "readout" });
  box.append(readout);
  const opts = {
    width, height: 230, legend: { show: false },
    scales: { x: { time: false, distr: state.logx ? 3 : 1 }, y: { distr: log ? 3 : 1 } },
    // x is a step or an epoch: whole numbers only.
    axes: [{ stroke: "#556", grid: { stroke: "#eef" }, incrs: state.logx ? undefined : INT_INCRS }, { stroke: "#556", grid: { stroke: "#eef" }, size: 56, values: (u, vs) => vs.map(fmt) }],
    series: [{}, ...lines.map((l) => ({
      label: l.label, stroke: l.faint ? l.color + "44" : l.color, width: l.faint ? 1 : 1.6,
      dash: Array.isArray(l.dash) ? l.dash : l.dash ? [6, 4] : undefined,
      spanGaps: true, points: { show: false },
    }))],
    cursor: { drag: { x: true, y: false } },
    hooks: {
      setSelect: [() => { const cc = state.charts.get(key); if (cc) cc.zoomed = true; }],
      setCursor: [(u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined) { readout.textContent = ""; return; }
        const parts = [];
        u.series.forEach((s, si) => {
          if (si === 0 || lines[si - 1].faint) return;
          let j = i; while (j >= 0 && i - j < 200 && (u.data[si][j] === null || u.data[si][j] === undefined)) j--;
          if (j >= 0 && u.data[si][j] !== null && u.data[si][j] !== undefined) parts.push(s.label + ": " + fmt(u.data[si][j]));
        });
        readout.textContent = "x " + fmt(u.data[0][i]) + (parts.length ? " · " + parts.slice(0, 4).join(" · ") : "");
      }],
    },
  };
  const u = new uPlot(opts, data, box);
  u.over.addEventListener("dblclick", () => { const cc = state.charts.get(key); if (cc) cc.zoomed = false; });
  state.charts.set(key, { u, sig, zoomed: false, box });
  return box;
}

function renderRuns() {
  showView();
  const runs = state.selected.map((id) => state.details.get(id)).filter(Boolean);
  const legend = $("legend");
  legend.replaceChildren(...state.selected.map((id) => {
    const it = state.byId.get(id); const d = state.details.get(id);
    const sw = el("i"); sw.style.background = colorOf(id);
    return el("span", { "data-id": id }, sw, el("span", { text: shortName(it) + (d ? " (" + d.steps.rows + " steps)" : " …") }),
      it ? el("span", { class: "badge " + it.status, text: it.status }) : null);
  }));
  const width = chartWidth();
  const keep = new Set();
  const boxes = [];
  const smoothOn = state.smooth > 0;
  if (state.xaxis === "step") {
    for (const c of STEP_CHARTS) {
      const lines = [];
      for (const r of runs) {
        const s = r.steps.series[c.key];
        if (!s || s.x.length === 0) continue;
        const name = shortName(state.byId.get(r.id));
        if (smoothOn && s.s) {
          lines.push({ run: r.id, label: name + " (raw)", color: colorOf(r.id), x: s.x, y: s.y, faint: true });
          lines.push({ run: r.id, label: name, color: colorOf(r.id), x: s.x, y: s.s });
        } else lines.push({ run: r.id, label: name, color: colorOf(r.id), x: s.x, y: s.y });
      }
      if (lines.length === 0) continue;
      keep.add("s:" + c.key);
      boxes.push(chart("s:" + c.key, c.title, lines, c.log && state.logy, width));
    }
  } else {
    for (const c of EPOCH_CHARTS) {
      const lines = [];
      for (const r of runs) {
        const name = shortName(state.byId.get(r.id));
        c.keys.forEach((k, ki) => {
          const s = r.epochs.series[k];
          if (s && s.x.length) lines.push({ run: r.id, label: name + " " + k, color: colorOf(r.id), x: s.x, y: s.y, dash: ki > 0 });
        });
      }
      if (lines.length === 0) continue;
      const key = "e:" + c.keys.join(",");
      keep.add(key);
      boxes.push(chart(key, c.title, lines, c.log && state.logy, width));
    }
  }
  for (const [k, c] of state.charts) if (!keep.has(k) && !k.startsWith("d:")) { c.u.destroy(); state.charts.delete(k); }
  $("charts").replaceChildren(...boxes);
  renderDiag(runs, width);
  renderOptions(runs);
  const notes = runs.flatMap((r) => (r.notes || []).map((n) => shortName(state.byId.get(r.id)) + ": " + n));
  $("run-notes").textContent = notes.join("; ");
}

function renderDiag(runs, width) {
  const metrics = [...new Set(runs.flatMap((r) => r.diagnostics_metrics || []))].sort();
  const panel = $("diag");
  panel.hidden = metrics.length === 0;
  if (metrics.length === 0) { for (const [k, c] of state.charts) if (k.startsWith("d:")) { c.u.destroy(); state.charts.delete(k); } return; }
  const sel = $("diag-metric");
  const cur = state.diag && metrics.includes(state.diag) ? state.diag : metrics.includes("grad_norm") ? "grad_norm" : metrics[0]; // as run.go's defaultDiag
  if ([...sel.options].map((o) => o.value).join() !== metrics.join()) sel.replaceChildren(...metrics.map((m) => el("option", { value: m, text: m })));
  sel.value = cur;
  const lines = [];
  const layerColor = new Map();
  const withDiag = runs.filter((r) => r.diagnostics && Object.keys(r.diagnostics.series).length);
  const styles = [];
  withDiag.forEach((r, ri) => {
    const names = Object.keys(r.diagnostics.series).sort();
    styles.push(label(state.byId.get(r.id)) + (ri === 0 ? " solid" : " " + ["", "dashed", "dotted", "dash-dot"][ri % DASHES.length]));
    for (const n of names) {
      if (!(n === cur || n.endsWith("." + cur))) continue;
      const s = r.diagnostics.series[n];
      const layer = n === cur ? "" : n.slice(0, -cur.length - 1);
      if (!layerColor.has(layer)) layerColor.set(layer, PALETTE[layerColor.size % PALETTE.length]);
      lines.push({ run: r.id, label: label(state.byId.get(r.id)) + " " + layer, color: layerColor.get(layer), x: s.x, y: s.s || s.y, dash: DASHES[ri % DASHES.length] || false });
    }
  });
  // "layers.w1", "layers.w2": the shared first part says nothing.
  const names = [...layerColor.keys()];
  const pre = names.length > 1 && names.every((n) => n.includes(".") && n.split(".")[0] === names[0].split(".")[0]) ? names[0].split(".")[0] + "." : "";
  if (pre) for (const l of lines) l.label = l.label.replace(" " + pre, " ");
  const legend = $("diag-legend");
  legend.replaceChildren(...[...layerColor].map(([layer, color]) => {
    const sw = el("i"); sw.style.background = color;
    return el("span", {}, sw, el("span", { text: (pre ? layer.slice(pre.length) : layer) || cur }));
  }), el("span", { class: "hint", text: styles.join(" · ") }));
  const box = chart("d:" + cur, cur + " per layer", lines, state.logy && !/frac|mean|dead|saturated/.test(cur), Math.max(400, $("diag").clientWidth - 30));
  $("diag-chart").replaceChildren(box);
}

function renderOptions(runs) {
  const t = $("options");
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.options)))].sort();
  const head = el("tr", {}, el("th", { text: "option" }), ...runs.map((r) => {
    const sw = el("i", { class: "swatch" }); sw.style.background = colorOf(r.id);
    return el("th", {}, sw, shortName(state.byId.get(r.id)));
  }));
  const rows = keys.map((k) => {
    const vals = runs.map((r) => r.options[k]);
    const differ = runs.length > 1 && new Set(vals.map((v) => (v === undefined ? "\u0000" : v))).size > 1;
    return el("tr", { class: differ ? "diff" : "", "data-option": k }, el("td", { text: k }),
      ...vals.map((v) => el("td", { class: v === undefined ? "default" : "", text: v === undefined ? "default" : v })));
  });
  if (keys.length === 0) rows.push(el("tr", {}, el("td", { text: "every option at its default" })));
  t.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

// ---- sweeps and studies ----
async function fetchGrid() {
  const id = state.grid;
  if (!id) return;
  try {
    const d = await getJSON("/api/detail?id=" + encodeURIComponent(id));
    if (state.grid !== id) return;
    state.gridDetail = d.items[0] || null;
  } catch (e) { $("grid-notes").textContent = String(e); return; }
  renderGrid();
}

function parseFilter(f, col) {
  f = f.trim();
  if (!f) return null;
  const range = f.match(/^(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)$/);
  if (col.numeric && range) { const a = +range[1], b = +range[2]; return (v) => typeof v === "number" && v >= a && v <= b; }
  const m = f.match(/^(<=|>=|<|>|=)\s*(-?[\d.eE+-]+)$/);
  if (col.numeric && m) {
    const x = +m[2];
    return { "<": (v) => v < x, ">": (v) => v > x, "<=": (v) => v <= x, ">=": (v) => v >= x, "=": (v) => v === x }[m[1]];
  }
  const lo = f.toLowerCase();
  return (v) => fmt(v).toLowerCase().includes(lo) || String(v ?? "").toLowerCase().includes(lo);
}

function visibleRows(d) {
  const tests = d.columns.map((c, j) => parseFilter(state.filters[j] || "", c));
  let idx = d.rows.map((_, i) => i).filter((i) => tests.every((t, j) => !t || t(d.rows[i][j])));
  const { col, dir } = state.sort;
  if (col >= 0) {
    idx.sort((a, b) => {
      const x = d.rows[a][col], y = d.rows[b][col];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * dir;
    });
  }
  return idx;
}

function rowState(d, i) {
  const j = d.columns.findIndex((c) => c.role === "state");
  return j >= 0 ? String(d.rows[i][j] || "").toUpperCase() : "";
}

function renderGrid() {
  const d = state.gridDetail;
  if (!d) return;
  const it = state.byId.get(d.id);
  $("grid-title").replaceChildren(el("span", { text: (d.kind === "study" ? "Study " : "Sweep ") + label(it || d) + " ", title: d.name }),
    el("span", { class: "badge " + (it ? it.status : ""), text: it ? it.status : "" }),
    el("span", { class: "hint", text: "  files: " }), ...d.files.map((f) => el("a", { href: "/files/" + d.id.split("/")[0] + "/" + relOf(d.id, f), target: "_blank", text: f + " " })));
  $("grid-notes").textContent = (d.notes || []).join("; ");
  renderTable(d);
  renderImportance(d);
}

function relOf(id, f) {
  const rel = id.slice(id.indexOf("/") + 1);
  return (rel === "." ? "" : rel.split("/").map(encodeURIComponent).join("/") + "/") + encodeURIComponent(f);
}

function renderTable(d) {
  const t = $("grid");
  const head = el("tr", {}, ...d.columns.map((c, j) => {
    const th = el("th", { class: c.role + (state.sort.col === j ? (state.sort.dir > 0 ? " sorted-asc" : " sorted-desc") : ""), "data-col": c.name, text: c.name, title: c.role });
    th.addEventListener("click", () => {
      state.sort = state.sort.col === j ? { col: j, dir: -state.sort.dir } : { col: j, dir: c.role === "objective" && d.direction === "max" ? -1 : 1 };
      renderTable(d);
    });
    return th;
  }), el("th", { text: "run" }));
  const filters = el("tr", { class: "filters" }, ...d.columns.map((c, j) => {
    const inp = el("input", { type: "search", "data-col": c.name, placeholder: c.numeric ? ">0.5" : "text" });
    inp.value = state.filters[j] || "";
    inp.addEventListener("input", () => { state.filters[j] = inp.value; renderBody(d); renderPC(d); renderInter(d); });
    return el("th", {}, inp);
  }), el("th"));
  t.replaceChildren(el("thead", {}, head, filters), el("tbody"));
  renderBody(d); renderPC(d); renderInter(d);
}

function renderBody(d) {
  const idx = visibleRows(d);
  const body = $("grid").tBodies[0];
  body.replaceChildren(...idx.map((i) => {
    const st = rowState(d, i);
    const tr = el("tr", { "data-row": String(i), class: st === "PRUNED" ? "pruned" : st === "FAIL" ? "fail" : "" },
      ...d.rows[i].map((v, j) => el("td", { class: d.columns[j].numeric ? "num" : "", text: fmt(v), title: d.columns[j].role === "reason" ? String(v ?? "") : undefined })));
    const member = d.row_items[i];
    if (member && state.byId.has(member)) {
      const cb = el("input", { type: "checkbox", title: "overlay this run's curves" });
      cb.checked = state.selected.includes(member);
      cb.addEventListener("click", (e) => { e.stopPropagation(); selectFromGrid(member, cb.checked); });
      tr.append(el("td", {}, cb));
    } else tr.append(el("td"));
    tr.addEventListener("mouseenter", () => highlight(i, true));
    tr.addEventListener("mouseleave", () => highlight(i, false));
    return tr;
  }));
  $("grid-count").textContent = idx.length + " of " + d.rows.length + " rows";
}
// Ticking a row's run adds it to the selection; the runs view shows them once one is clicked in the list.
function selectFromGrid(id, on) {
  if (on && !state.selected.includes(id)) state.selected.push(id);
  if (!on) { state.selected = state.selected.filter((x) => x !== id); state.details.delete(id); }
  renderList();
}
function highlight(i, on) {
  for (const e of document.querySelectorAll('[data-row="' + i + '"]')) e.classList.toggle("hl", on);
}

// axisFor maps a column's values to [0, 1] (top is best for the objective).
function axisFor(d, j, idx) {
  const c = d.columns[j];
  const vals = idx.map((i) => d.rows[i][j]).filter((v) => v !== null && v !== undefined);
  if (c.numeric) {
    const log = c.log;
    const f = (v) => (log ? Math.log10(v) : v);
    let lo = Math.min(...vals.map(f)), hi = Math.max(...vals.map(f));
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    const ticks = log ? [] : niceTicks(lo, hi, 4);
    if (log) for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) ticks.push(e);
    return { pos: (v) => (v === null || v === undefined ? null : (f(v) - lo) / (hi - lo)), ticks: ticks.map((t) => [(t - lo) / (hi - lo), log ? fmt(10 ** t) : fmt(t)]) };
  }
  const cats = [...new Set(vals.map(String))].sort();
  const p = (s) => (cats.length === 1 ? 0.5 : cats.indexOf(s) / (cats.length - 1));
  return { pos: (v) => (v === null || v === undefined ? null : p(String(v))), ticks: cats.map((s) => [p(s), s]) };
}

function objColor(t) {
  // from dark blue (worst) to orange (best)
  const a = [49, 54, 149], b = [253, 174, 97], m = [171, 217, 233];
  const mix = (x, y, u) => x.map((v, k) => Math.round(v + (y[k] - v) * u));
  const c = t < 0.5 ? mix(a, m, t * 2) : mix(m, b, (t - 0.5) * 2);
  return "rgb(" + c.join(",") + ")";
}

function renderPC(d) {
  const box = $("pcoords");
  const idx = visibleRows(d);
  const obj = d.columns.findIndex((c) => c.role === "objective");
  const axes = d.columns.map((c, j) => j).filter((j) => {
    if (d.columns[j].role !== "param") return false;
    return new Set(d.rows.map((r) => String(r[j]))).size > 1;
  });
  if (obj >= 0) axes.push(obj);
  const W = Math.max(360, box.clientWidth || 600), H = 260, pad = { l: 40, r: 60, t: 22, b: 18 };
  const root = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "data-rows": String(idx.length) });
  if (axes.length < 2 || idx.length === 0) { box.replaceChildren(el("p", { class: "hint", text: "Needs at least one varied parameter and an objective." })); return; }
  const xs = axes.map((_, k) => pad.l + (k * (W - pad.l - pad.r)) / (axes.length - 1));
  const maps = axes.map((j) => axisFor(d, j, idx));
  const y = (u) => pad.t + (1 - u) * (H - pad.t - pad.b);
  const objMap = obj >= 0 ? maps[maps.length - 1] : null;
  for (const i of idx) {
    const pts = [];
    axes.forEach((j, k) => { const u = maps[k].pos(d.rows[i][j]); if (u !== null) pts.push(xs[k].toFixed(1) + "," + y(u).toFixed(1)); });
    const st = rowState(d, i);
    let t = objMap ? objMap.pos(d.rows[i][obj]) : 0.5;
    if (t !== null && d.direction === "min") t = 1 - t;
    const color = st === "PRUNED" || st === "FAIL" || t === null ? "#b0b0b8" : objColor(t);
    const line = svg("polyline", { class: "pc-line" + (st === "PRUNED" ? " pruned" : ""), points: pts.join(" "), stroke: color, "data-row": String(i) },
      svg("title", {}, document.createTextNode(axes.map((j) => d.columns[j].name + "=" + fmt(d.rows[i][j])).join(", ") + (st ? " (" + st.toLowerCase() + ")" : ""))));
    line.addEventListener("mouseenter", () => highlight(i, true));
    line.addEventListener("mouseleave", () => highlight(i, false));
    root.append(line);
  }
  axes.forEach((j, k) => {
    const g = svg("g", { class: "axis" });
    g.append(svg("line", { x1: xs[k], x2: xs[k], y1: pad.t, y2: H - pad.b }));
    const name = svg("text", { x: xs[k], y: 12, "text-anchor": "middle", "font-weight": "600" }, document.createTextNode(d.columns[j].name));
    g.append(name);
    for (const [u, label] of maps[k].ticks.slice(0, 12)) {
      g.append(svg("line", { x1: xs[k] - 3, x2: xs[k], y1: y(u), y2: y(u) }));
      g.append(svg("text", { x: xs[k] + 4, y: y(u) + 3 }, document.createTextNode(label)));
    }
    root.append(g);
  });
  box.replaceChildren(root);
}

function renderImportance(d) {
  const box = $("importance");
  const imp = d.importance || [];
  $("importance-src").textContent = (d.importance_source || "") +
    (d.not_estimated && d.not_estimated.length ? ". Not estimated (a different value in every row): " + d.not_estimated.join(", ") : "");
  if (imp.length === 0) { box.replaceChildren(el("p", { class: "hint", text: "Not enough varied rows to estimate." })); return; }
  const withTotal = imp.some((x) => x.total !== undefined);
  const W = Math.max(260, box.clientWidth || 360), barH = 9, rowH = withTotal ? 28 : 20, lw = 110, top = withTotal ? 18 : 2;
  const H = top + imp.length * rowH + 4;
  const max = Math.max(...imp.flatMap((x) => [x.value, x.total ?? 0]), 1e-12);
  const scale = (W - lw - 50) / max;
  const root = svg("svg", { width: W, height: H });
  if (withTotal) {
    root.append(svg("rect", { x: lw, y: 3, width: 10, height: 8, fill: "#4e79a7" }), svg("text", { x: lw + 14, y: 11 }, document.createTextNode("alone")),
      svg("rect", { x: lw + 60, y: 3, width: 10, height: 8, fill: "#a0cbe8" }), svg("text", { x: lw + 74, y: 11 }, document.createTextNode("with interactions")));
  }
  imp.forEach((x, k) => {
    const y = top + k * rowH;
    root.append(svg("text", { x: lw - 6, y: y + (withTotal ? 14 : 12), "text-anchor": "end" }, document.createTextNode(x.param)),
      svg("rect", { x: lw, y: y + 2, width: Math.max(1, x.value * scale), height: barH, fill: "#4e79a7", "data-param": x.param }),
      svg("text", { x: lw + x.value * scale + 5, y: y + 10 }, document.createTextNode(x.value.toFixed(3))));
    if (x.total !== undefined) {
      root.append(svg("rect", { x: lw, y: y + 3 + barH, width: Math.max(1, x.total * scale), height: barH, fill: "#a0cbe8", "data-total": x.param }),
        svg("text", { x: lw + x.total * scale + 5, y: y + 11 + barH }, document.createTextNode(x.total.toFixed(3))));
    }
  });
  box.replaceChildren(root);
}

function renderInter(d) {
  const box = $("inter");
  $("inter-title").textContent = "Intermediate values: " + d.curve_metric + " per epoch" + (d.kind === "study" ? " (pruned trials dashed, × where they stopped; hover for the reason)" : "");
  const visible = new Set(visibleRows(d));
  const curves = (d.curves || []).filter((c) => c.row < 0 || visible.has(c.row));
  if (curves.length === 0) { box.replaceChildren(el("p", { class: "hint", text: "No per-epoch values recorded." })); return; }
  const W = Math.max(400, box.clientWidth || 800), H = 270, pad = { l: 50, r: 20, t: 10, b: 34 };
  const allX = curves.flatMap((c) => c.x), allY = curves.flatMap((c) => c.y);
  let x0 = Math.min(...allX), x1 = Math.max(...allX), y0 = Math.min(...allY), y1 = Math.max(...allY);
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
  const X = (v) => pad.l + ((v - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (v) => pad.t + (1 - (v - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const root = svg("svg", { width: W, height: H, "data-curves": String(curves.length) });
  const ax = svg("g", { class: "axis" });
  ax.append(svg("line", { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b }), svg("line", { x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b }));
  for (const v of niceTicks(y0, y1, 5)) {
    ax.append(svg("line", { x1: pad.l - 3, x2: pad.l, y1: Y(v), y2: Y(v) }),
      svg("text", { x: pad.l - 5, y: Y(v) + 3, "text-anchor": "end" }, document.createTextNode(fmt(v))));
  }
  const step = Math.max(1, Math.ceil((x1 - x0) / 10));
  for (let v = Math.ceil(x0); v <= x1; v += step) ax.append(svg("text", { x: X(v), y: H - pad.b + 14, "text-anchor": "middle" }, document.createTextNode(fmt(v))));
  ax.append(svg("text", { x: (pad.l + W - pad.r) / 2, y: H - 3, "text-anchor": "middle" }, document.createTextNode("epoch")));
  root.append(ax);
  const obj = d.columns.findIndex((c) => c.role === "objective");
  const objAxis = obj >= 0 ? axisFor(d, obj, d.rows.map((_, i) => i)) : null;
  curves.forEach((c, k) => {
    const pruned = c.state === "PRUNED";
    let t = objAxis && c.row >= 0 ? objAxis.pos(d.rows[c.row][obj]) : null;
    if (t !== null && d.direction === "min") t = 1 - t;
    const color = pruned || c.state === "FAIL" ? "#a0a0aa" : t === null ? PALETTE[k % PALETTE.length] : objColor(t);
    const label = c.name + (c.state ? " (" + c.state.toLowerCase() + ")" : "") + (c.reason ? ": " + c.reason : "");
    const pts = c.x.map((x, i) => X(x).toFixed(1) + "," + Y(c.y[i]).toFixed(1)).join(" ");
    const g = svg("g", { "data-row": String(c.row), class: pruned ? "pruned" : "" }, svg("title", {}, document.createTextNode(label)));
    g.append(svg("polyline", { class: "pc-line" + (pruned ? " pruned" : ""), points: pts, stroke: color, "data-row": String(c.row) }));
    if (pruned && c.x.length) {
      const px = X(c.x[c.x.length - 1]), py = Y(c.y[c.y.length - 1]);
      g.append(svg("path", { class: "mark", d: `M${px - 4},${py - 4}L${px + 4},${py + 4}M${px - 4},${py + 4}L${px + 4},${py - 4}`, stroke: "#c0392b" }));
    }
    g.addEventListener("mouseenter", () => highlight(c.row, true));
    g.addEventListener("mouseleave", () => highlight(c.row, false));
    root.append(g);
  });
  box.replaceChildren(root);
}

// ---- live updates ----
let pending = { items: false, ids: new Set() }, timer = null;
function onChange(ev) {
  pending.items = pending.items || ev.items;
  for (const id of ev.changed || []) pending.ids.add(id);
  if (!timer) timer = setTimeout(flush, 150);
}
async function flush() {
  timer = null;
  const p = pending; pending = { items: false, ids: new Set() };
  if (p.items || p.ids.size) await loadItems().catch(() => {});
  const runs = state.selected.filter((id) => p.ids.has(id));
  if (runs.length && !state.grid) await fetchRuns(runs);
  if (state.grid && p.ids.has(state.grid)) await fetchGrid();
}
function connect() {
  const es = new EventSource("/api/events");
  es.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn on"; };
  es.onerror = () => { $("conn").textContent = "reconnecting"; $("conn").className = "conn off"; };
  es.addEventListener("change", (e) => onChange(JSON.parse(e.data)));
}

// ---- wiring ----
function refetchAll() { if (state.grid) fetchGrid(); else fetchRuns(state.selected); }
$("filter").addEventListener("input", renderList);
for (const r of document.querySelectorAll('input[name="xaxis"]')) r.addEventListener("change", () => { state.xaxis = r.value; renderRuns(); });
$("logy").addEventListener("change", (e) => { state.logy = e.target.checked; renderRuns(); });
$("logx").addEventListener("change", (e) => { state.logx = e.target.checked; renderRuns(); });
$("smooth").addEventListener("input", (e) => { state.smooth = +e.target.value; $("smooth-v").textContent = state.smooth.toFixed(2); });
$("smooth").addEventListener("change", () => fetchRuns(state.selected));
$("diag-metric").addEventListener("change", (e) => { state.diag = e.target.value; fetchRuns(state.selected); });
$("clear").addEventListener("click", () => { state.selected = []; state.details.clear(); saveHash(); renderList(); showView(); });
let resizeT = null;
window.addEventListener("resize", () => { clearTimeout(resizeT); resizeT = setTimeout(() => { if (state.grid) renderGrid(); else renderRuns(); }, 200); });

(async function start() {
  loadHash();
  await loadItems().catch((e) => { $("roots").textContent = String(e); });
  showView();
  refetchAll();
  connect();
})();
