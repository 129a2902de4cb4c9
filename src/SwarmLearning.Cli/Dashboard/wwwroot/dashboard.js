// SwarmLearning dashboard: one picture of the swarm from GET /v1/dashboard, refreshed when GET /v1/stream (server-sent
// events) says the ledger moved. Everything from the ledger (names come from certificates and transactions) is hostile:
// the DOM is built with textContent and attributes only, never HTML strings. Charts are plain SVG.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const BLOCKS_PER_PAGE = 20;
  const state = { view: null, loading: false, again: false, blocksFrom: null, block: null, tab: "training" };

  // Builds an element: attrs are set as attributes (on: handlers), children are nodes or text.
  function el(tag, attrs, ...children) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);
  const short = (hash, n = 12) => (hash ? String(hash).slice(0, n) : "–");
  const num = (v, digits = 4) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  const when = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "–");
  const badge = (text) => el("span", { class: `badge ${String(text).replace(/[^a-z]/gi, "")}` }, text);

  function table(headers, rows, label) {
    return el("table", { "aria-label": label },
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows));
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `${url}: HTTP ${response.status}`);
    return body;
  }

  // ---- tabs: arrow keys move between them, Tab goes into the panel -------------------------------------------------
  function setupTabs() {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    const select = (tab, focus) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        $(t.getAttribute("aria-controls")).hidden = !on;
      }
      state.tab = tab.id.slice(4);
      if (focus) tab.focus();
      if (state.tab === "ledger") loadBlocks();
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab, false));
      tab.addEventListener("keydown", (e) => {
        const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (next === undefined) return;
        e.preventDefault();
        select(tabs[(next + tabs.length) % tabs.length], true);
      });
    });
  }

  // ---- the picture ------------------------------------------------------------------------------------------------
  async function refresh() {
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    try {
      do {
        state.again = false;
        const view = await getJson("/v1/dashboard");
        state.view = view;
        render(view);
      } while (state.again);
    } catch (e) {
      showProblem(`The dashboard server does not answer: ${e.message}`);
    } finally {
      state.loading = false;
    }
    if (state.tab === "ledger" && state.blocksFrom === null) loadBlocks();
  }

  function showProblem(text) {
    const p = $("problem");
    p.hidden = !text;
    p.textContent = text || "";
  }

  function render(view) {
    $("sn").textContent = view.sn || "–";
    $("identity").textContent = view.context && view.context !== "(flags)" ? `${view.identity} (context ${view.context})` : view.identity;
    $("height").textContent = view.height;
    showProblem(view.problem ? `The SN does not answer: ${view.problem}` : "");
    renderContracts(view);
    renderNodes(view.nodes);
    renderTasks(view);
  }

  function renderNodes(nodes) {
    const ports = (n) => [n.apiPort, n.peerPort, n.filePort].filter((p) => p !== undefined && p !== null).join(" / ") || "–";
    const status = (n) => (n.revoked ? "revoked" : n.active ? "active" : "inactive");
    $("nodes").replaceChildren(nodes.length === 0 ? el("p", { class: "empty" }, "No members yet.") : table(
      ["Role", "Name", "Host", "Ports (API / peer / file)", "Status", "Last heartbeat", "Identity"],
      nodes.map((n) => el("tr", { "data-node": n.name },
        el("td", {}, n.role.toUpperCase()), el("td", {}, n.name, n.administrator ? " (admin)" : ""), el("td", {}, n.host || "–"),
        el("td", { class: "mono" }, ports(n)), el("td", {}, badge(status(n))), el("td", {}, when(n.lastHeartbeat)),
        el("td", { class: "mono", title: n.fingerprint }, short(n.fingerprint, 16)))),
      "Members of the swarm"));
  }

  function renderContracts(view) {
    const root = $("contracts");
    if (view.contracts.length === 0) {
      root.replaceChildren(el("p", { class: "empty" }, "No training contract yet."));
      return;
    }
    root.replaceChildren(...view.contracts.map((panel, index) => contractCard(panel, index)));
  }

  function contractCard(panel, index) {
    const c = panel.contract;
    const history = panel.history || { rounds: [], nodes: [] };
    const curves = new Map(history.nodes.map((n) => [n.fingerprint, n]));
    const series = history.nodes.map((n, i) => ({ name: n.name, fingerprint: n.fingerprint, points: n.points, style: `s${i % 8}` }));
    const titleId = `contract-${index}`;
    const merged = c.lastMerged
      ? `last merge: round ${c.lastMerged.round} by ${c.lastMerged.leader} (${c.lastMerged.mergeMethod}${c.lastMerged.momentum > 0 ? `, momentum ${c.lastMerged.momentum}` : ""}), model ${short(c.lastMerged.modelHash)}`
      : "no merge yet";
    return el("article", { class: "card", "aria-labelledby": titleId, "data-contract": c.name },
      el("header", {},
        el("h2", { id: titleId }, c.name), badge(c.status),
        el("span", { class: "facts" }, `round ${c.round} (${c.phase})${c.leader ? `, leader ${c.leader}` : ""} · ${c.joined} joined, ${c.finished} finished · ${merged}`)),
      el("h3", {}, "ML nodes"),
      perfTable(panel.perf, curves, c.name),
      el("div", { class: "grid" },
        chart(`${c.name}: loss`, "loss", series, (p) => p.loss),
        chart(`${c.name}: metric`, "metric", series, (p) => p.metric)),
      el("h3", {}, "Rounds"),
      roundsTable(history.rounds, c.name));
  }

  function perfTable(perf, curves, contract) {
    if (perf.length === 0) return el("p", { class: "empty" }, "No ML node has joined yet.");
    return table(["Node", "State", "Loss", "Metric", "Epochs", "ETA", "Last report"], perf.map((n) => {
      const curve = curves.get(n.fingerprint);
      const done = n.epochsDone ?? curve?.epochsDone ?? 0;
      const total = n.totalEpochs ?? curve?.totalEpochs ?? 0;
      return el("tr", { "data-node": n.name },
        el("td", {}, n.name, n.leader ? " ★" : "", n.leader ? el("span", { class: "facts" }, " leader") : ""),
        el("td", {}, badge(n.state)),
        el("td", { class: "num" }, num(n.loss)), el("td", { class: "num" }, num(n.metric)),
        el("td", {}, progress(`${n.name} in ${contract}`, done, total)),
        el("td", {}, eta(curve, done, total)),
        el("td", {}, when(n.reportedAt)));
    }), `ML nodes of ${contract}`);
  }

  function progress(label, done, total) {
    const tip = total > 0 ? `${done} of ${total} epochs completed` : `${done} epochs completed (total unknown)`;
    const fill = el("span", {});
    fill.style.width = `${total > 0 ? Math.min(100, (100 * done) / total) : 0}%`;
    return el("span", {},
      el("span", {
        class: "progress", role: "progressbar", tabindex: 0, title: tip, "aria-label": `Epochs of ${label}`,
        "aria-valuemin": 0, "aria-valuemax": total > 0 ? total : null, "aria-valuenow": done, "aria-valuetext": tip,
      }, fill),
      el("span", { class: "progress-label" }, total > 0 ? `${done}/${total}` : `${done}`));
  }

  function eta(curve, done, total) {
    if (total > 0 && done >= total) return "done";
    if (!curve || !curve.etaAt) return "–";
    const seconds = Math.max(0, Math.round((new Date(curve.etaAt) - Date.now()) / 1000));
    return el("span", { title: `expected at ${new Date(curve.etaAt).toLocaleTimeString()}` }, seconds < 90 ? `~${seconds} s` : `~${Math.round(seconds / 60)} min`);
  }

  function roundsTable(rounds, contract) {
    if (rounds.length === 0) return el("p", { class: "empty" }, "No round yet.");
    const latest = [...rounds].reverse().slice(0, 50);
    return el("div", { class: "scroll", tabindex: 0, "aria-label": `Rounds of ${contract}`, role: "region" }, table(
      ["Round", "Status", "Participants", "Leader", "Failover", "Merge", "Duration", "Merged model"],
      latest.map((r) => el("tr", { "data-round": r.round },
        el("td", { class: "num" }, r.round), el("td", {}, badge(r.status)),
        el("td", {}, r.participants.join(", ") || "–"),
        el("td", {}, r.leader || "–", r.mergedBy && r.mergedBy !== r.leader ? ` → ${r.mergedBy}` : ""),
        el("td", {}, r.failovers.length === 0 ? "–" : r.failovers.map((f) => el("div", { title: f.message }, `${f.from} at ${when(f.at)}`))),
        el("td", {}, r.mergeMethod ? `${r.mergeMethod} (${r.contributors})` : "–"),
        el("td", { class: "num" }, r.seconds === undefined || r.seconds === null ? "–" : `${r.seconds.toFixed(1)} s`),
        el("td", { class: "mono", title: r.modelHash || "" }, short(r.modelHash)))),
      `Rounds of ${contract}, latest first`));
  }

  // ---- charts: plain SVG, one line per node over rounds ----------------------------------------------------------
  function chart(title, kind, series, value) {
    const W = 520, H = 220, L = 48, R = 12, T = 22, B = 30;
    const points = series.flatMap((s) => s.points.map((p) => ({ x: p.round, y: value(p) })));
    const svg = el("svg:svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title} over rounds`, "data-chart": kind });
    svg.append(el("svg:text", { x: L, y: 14 }, `${kind} over rounds`));
    if (points.length === 0) {
      svg.append(el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no report yet"));
      return el("figure", { class: "card" }, svg);
    }
    const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    const pad = (y1 - y0) * 0.08; y0 -= pad; y1 += pad;
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      svg.append(el("svg:line", { class: "grid-line", x1: L, x2: W - R, y1: sy(y), y2: sy(y) }));
      svg.append(el("svg:text", { x: L - 6, y: sy(y) + 4, "text-anchor": "end" }, y.toPrecision(3)));
    }
    const step = Math.max(1, Math.ceil((x1 - x0) / 8));
    for (let x = Math.ceil(x0); x <= x1; x += step) {
      svg.append(el("svg:text", { x: sx(x), y: H - B + 14, "text-anchor": "middle" }, x));
    }
    svg.append(el("svg:line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }));
    svg.append(el("svg:line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
    svg.append(el("svg:text", { x: W - R, y: H - 2, "text-anchor": "end" }, "round"));
    for (const s of series) {
      const coords = s.points.map((p) => [sx(p.round), sy(value(p))]);
      svg.append(el("svg:polyline", { class: s.style, points: coords.map((c) => c.join(",")).join(" ") }));
      s.points.forEach((p, i) => svg.append(el("svg:circle", { class: `pt ${s.style}`, cx: coords[i][0], cy: coords[i][1], r: 3 },
        el("svg:title", {}, `${s.name}: ${kind} ${num(value(p))} in round ${p.round}, ${p.epochsDone}/${p.totalEpochs} epochs`))));
    }
    const legend = el("div", { class: "legend", "aria-hidden": "true" },
      series.map((s) => el("span", {}, el("span", { class: `swatch ${s.style}` }), s.name)));
    return el("figure", { class: "card" }, svg, legend);
  }

  // ---- tasks -----------------------------------------------------------------------------------------------------
  function renderTasks(view) {
    $("runners").replaceChildren(view.taskRunners.length === 0 ? el("p", { class: "empty" }, "No task runner yet.") : table(
      ["Runner", "Status", "Task", "Completed", "Failed", "Operators"],
      view.taskRunners.map((r) => el("tr", { "data-runner": r.name },
        el("td", {}, r.name), el("td", {}, badge(r.status)), el("td", {}, r.task || "–"),
        el("td", { class: "num" }, `${r.completed}/${r.requiredPeers}`), el("td", { class: "num" }, r.failed),
        el("td", {}, r.peers.length === 0 ? "–" : r.peers.map((p) => el("div", { title: p.message || "" }, `${p.name}: `, badge(p.state), ` ${when(p.at)}`))))),
      "Task runners"));
    $("tasks").replaceChildren(view.tasks.length === 0 ? el("p", { class: "empty" }, "No task yet.") : table(
      ["Task", "Type", "Finalized", "Author", "Created"],
      view.tasks.map((t) => el("tr", {}, el("td", {}, t.name), el("td", {}, t.taskType), el("td", {}, t.finalized ? "yes" : "no"),
        el("td", {}, t.author), el("td", {}, `${when(t.createdAt)} by ${t.createdBy}`))),
      "Tasks"));
  }

  // ---- ledger explorer ---------------------------------------------------------------------------------------------
  async function loadBlocks() {
    const height = state.view ? state.view.height : 0;
    const from = state.blocksFrom === null ? Math.max(0, height - BLOCKS_PER_PAGE + 1) : state.blocksFrom;
    try {
      const blocks = await getJson(`/v1/blocks?from=${from}&limit=${BLOCKS_PER_PAGE}`);
      $("blocks").replaceChildren(table(["Height", "Time", "Transactions", "Hash"], [...blocks].reverse().map((b) =>
        el("tr", { "aria-current": state.block === b.height ? "true" : null },
          el("td", { class: "num" }, el("button", { class: "link", type: "button", "aria-label": `Block ${b.height}`, onclick: () => showBlock(b.height) }, b.height)),
          el("td", {}, when(new Date(b.timestamp).toISOString())),
          el("td", {}, b.transactions.length === 0 ? "–" : b.transactions.map((t) => t.type).join(", ")),
          el("td", { class: "mono", title: b.hash }, short(b.hash, 16)))), "Blocks, latest first"));
      $("newer").disabled = state.blocksFrom === null;
      $("older").disabled = from === 0;
    } catch (e) {
      $("blocks").replaceChildren(el("p", { class: "problem" }, e.message));
    }
  }

  async function showBlock(height) {
    state.block = height;
    try {
      const b = await getJson(`/v1/blocks/${height}`);
      const names = new Map((state.view?.nodes || []).map((n) => [n.fingerprint, n.name]));
      $("block").replaceChildren(el("h3", {}, `Block ${b.height}`),
        el("dl", {},
          el("dt", {}, "time"), el("dd", {}, new Date(b.timestamp).toISOString()),
          el("dt", {}, "hash"), el("dd", { class: "mono" }, b.hash),
          el("dt", {}, "previous"), el("dd", { class: "mono" }, b.previousHash),
          el("dt", {}, "state"), el("dd", { class: "mono" }, b.stateHash),
          el("dt", {}, "orderer"), el("dd", {}, names.get(b.orderer) || short(b.orderer, 16))),
        b.transactions.length === 0 ? el("p", { class: "empty" }, "No transactions (a block cut for a time rule).") : b.transactions.map((t) => el("div", {},
          el("h4", {}, `${t.type} from ${names.get(t.sender) || short(t.sender, 16)} #${t.sequence}`),
          el("pre", {}, JSON.stringify(t.payload, null, 2)))));
      for (const row of $("blocks").querySelectorAll("tr[aria-current]")) row.removeAttribute("aria-current");
    } catch (e) {
      $("block").replaceChildren(el("p", { class: "problem" }, e.message));
    }
  }

  async function verify() {
    const out = $("verify-result");
    const button = $("verify");
    button.disabled = true;
    out.className = "";
    out.textContent = "verifying every block from genesis…";
    try {
      const v = await getJson("/v1/verify");
      out.className = v.valid ? "valid" : "invalid";
      out.textContent = v.valid
        ? `valid: ${v.blocks} blocks, every signature, contract rule and state hash; head ${short(v.headHash, 16)} at height ${v.height}`
        : `NOT valid at height ${v.badHeight}: ${v.problem}`;
    } catch (e) {
      out.className = "invalid";
      out.textContent = `could not verify: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  }

  function setupLedger() {
    $("verify").addEventListener("click", verify);
    $("latest").addEventListener("click", () => { state.blocksFrom = null; loadBlocks(); });
    $("older").addEventListener("click", () => {
      const height = state.view ? state.view.height : 0;
      const from = state.blocksFrom === null ? Math.max(0, height - BLOCKS_PER_PAGE + 1) : state.blocksFrom;
      state.blocksFrom = Math.max(0, from - BLOCKS_PER_PAGE);
      loadBlocks();
    });
    $("newer").addEventListener("click", () => {
      const height = state.view ? state.view.height : 0;
      const next = (state.blocksFrom ?? 0) + BLOCKS_PER_PAGE;
      state.blocksFrom = next + BLOCKS_PER_PAGE > height ? null : next;
      loadBlocks();
    });
  }

  // ---- live updates ------------------------------------------------------------------------------------------------
  function follow() {
    const live = $("live");
    const stream = new EventSource("/v1/stream");
    stream.addEventListener("open", () => { live.className = "live on"; live.textContent = "live"; });
    stream.addEventListener("error", () => { live.className = "live off"; live.textContent = "reconnecting"; });
    stream.addEventListener("change", (e) => {
      const change = JSON.parse(e.data);
      if (change.problem) showProblem(`The SN does not answer: ${change.problem}`);
      refresh();
    });
    window.addEventListener("pagehide", () => stream.close());
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupTabs();
    setupLedger();
    refresh();
    follow();
  });
})();
