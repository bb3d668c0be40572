"use strict";
// The rheology page: starts the fit → NUTS chain through the sample's endpoint, then follows both jobs
// over JobRuntime's WebSocket ({type:"watch", job_id}); results come from the REST API when they end.
// Everything shown is set with textContent.

const $ = id => document.getElementById(id);
const jobs = "jobs/api/jobs/";
const finished = new Set(["Completed", "Failed", "Cancelled", "TimedOut"]);
let socket = null;
const watching = new Map();   // job id -> handler of its messages

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function say(text) { $("message").textContent = text; }

function badge(id, status) { const b = $(id); b.textContent = status; b.className = "badge " + status; }

function link(id, jobId) { const a = $(id); a.textContent = "details"; a.href = "jobs/ui/#/job/" + encodeURIComponent(jobId); }

function openSocket() {
  if (socket && socket.readyState <= WebSocket.OPEN) return Promise.resolve(socket);
  socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/jobs/ws");
  socket.addEventListener("message", e => {
    const message = JSON.parse(e.data);
    if (message.type === "error") { say(message.message || "The server refused a message."); return; }
    const handler = watching.get(message.job_id);
    if (handler) handler(message);
  });
  return new Promise((resolve, reject) => {
    socket.addEventListener("open", () => resolve(socket), { once: true });
    socket.addEventListener("error", () => reject(new Error("The WebSocket did not open.")), { once: true });
  });
}

async function watch(jobId, handler) {
  watching.set(jobId, handler);
  (await openSocket()).send(JSON.stringify({ type: "watch", job_id: jobId }));
}

function unwatch(jobId) {
  watching.delete(jobId);
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "unwatch", job_id: jobId }));
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json().catch(() => null);
  if (!response.ok) {
    const errors = json && json.errors ? Object.values(json.errors).flat().join(" ") : "";
    throw new Error((json && json.title ? json.title + ". " : "") + errors || response.statusText);
  }
  return json;
}

async function view(jobId) { return await (await fetch(jobs + encodeURIComponent(jobId))).json(); }

function number(value, digits) { return Number(value).toPrecision(digits); }

function table(caption, head, rows, id) {
  const t = el("table"); t.id = id;
  t.appendChild(el("caption", caption));
  const tr = el("tr"); head.forEach(h => tr.appendChild(el("th", h))); t.appendChild(tr);
  for (const row of rows) { const r = el("tr"); row.forEach(c => r.appendChild(el("td", c))); t.appendChild(r); }
  return t;
}

function chainRows(count) {
  const rows = [];
  $("chains-view").replaceChildren(...Array.from({ length: count }, (_, c) => {
    const row = el("div", null, "chain"); row.dataset.chain = String(c);
    const fill = el("div"); const bar = el("div", null, "bar"); bar.appendChild(fill);
    const text = el("span", "waiting for the fit");
    row.append(el("span", "chain " + (c + 1)), bar, text);
    rows.push({ row, fill, text });
    return row;
  }));
  return rows;
}

async function run(event) {
  event.preventDefault();
  const request = {
    modes: Number($("modes").value), points: Number($("points").value), noise: Number($("noise").value),
    seed: Number($("seed").value), chains: Number($("chains").value), warmup: Number($("warmup").value), draws: Number($("draws").value),
  };
  let started;
  try { started = await post("rheology/run", request); } catch (e) { say(e.message); return; }
  say("Submitted fit " + started.fitId + " and NUTS " + started.nutsId + ".");
  $("run-view").hidden = false;
  $("fit-table").replaceChildren(); $("posterior-table").replaceChildren(); $("divergences").textContent = "";
  badge("fit-status", "Pending"); badge("nuts-status", "Pending");
  link("fit-link", started.fitId); link("nuts-link", started.nutsId);
  $("fit-progress").textContent = "";
  const chains = chainRows(request.chains);
  const cancel = $("cancel");
  cancel.hidden = false;
  cancel.onclick = async () => {
    for (const id of [started.nutsId, started.fitId]) await fetch(jobs + encodeURIComponent(id) + "/cancel", { method: "POST" });
  };

  await watch(started.fitId, async m => {
    if (m.type === "event" && m.name === "fit-iteration") $("fit-progress").textContent = "iteration " + m.data.iteration + ", cost " + number(m.data.rss, 6);
    if (m.status) badge("fit-status", m.status);
    if (m.type === "status" && m.is_terminal) {
      unwatch(started.fitId);
      const fit = await view(started.fitId);
      if (fit.status !== "Completed") { $("fit-progress").textContent = fit.error ? fit.error.message : fit.status; return; }
      const r = fit.result;
      $("fit-progress").textContent = "R² " + number(r.rSquared, 6) + ", " + r.iterations + " iterations, " + r.message;
      $("fit-table").replaceChildren(table("NLSQ fit (Levenberg–Marquardt)", ["parameter", "estimate", "± SE"],
        r.parameterNames.map((name, j) => [name, number(r.values[j], 6), number(r.standardErrors[j], 3)]), "fit-results"));
    }
  });

  await watch(started.nutsId, async m => {
    if (m.status) badge("nuts-status", m.status);
    if (m.type === "event" && m.name === "chain") {
      const c = chains[m.data.chain];
      if (!c) return;
      c.row.className = "chain " + m.data.stage;
      c.row.dataset.iteration = String(m.data.iteration);
      c.fill.style.width = (100 * m.data.iteration / m.data.total) + "%";
      c.text.textContent = m.data.stage + " " + m.data.iteration + "/" + m.data.total + ", divergences " + m.data.divergences;
      c.text.className = m.data.divergences > 0 ? "diverging" : "";
    }
    if (m.type === "event" && m.name === "divergence") $("divergences").textContent = m.data.total_divergences + " divergent transitions so far";
    if (m.type === "status" && m.is_terminal) {
      unwatch(started.nutsId);
      cancel.hidden = true;
      const nuts = await view(started.nutsId);
      if (nuts.status !== "Completed") { say("The NUTS job ended " + nuts.status + (nuts.error ? ": " + nuts.error.message : ".")); return; }
      const p = nuts.result;
      // Live chain events are progress (the newest kept when a reader falls behind); the result is
      // the final word on each chain.
      chains.forEach((c, i) => {
        const chain = p.chains[i];
        c.fill.style.width = "100%";
        c.row.className = "chain done";
        c.text.textContent = "done, step size " + number(chain.stepSize, 3) + ", divergences " + chain.divergences;
        c.text.className = chain.divergences > 0 ? "diverging" : "";
      });
      $("divergences").textContent = p.divergences + " divergences after warm-up; max R-hat " + number(p.maxRHat, 4) + ", min bulk ESS " + Math.round(p.minEssBulk);
      $("posterior-table").replaceChildren(table(
        "Posterior (NUTS, " + p.chains.length + " chains × " + p.drawsPerChain + " draws" + (p.warmStarted ? ", warm-started from the fit" : "") + ")",
        ["parameter", "mean", "sd", "95% HDI", "R-hat", "ESS bulk"],
        p.summary.map(s => [s.name, number(s.mean, 6), number(s.standardDeviation, 3), "[" + number(s.hdiLower, 4) + ", " + number(s.hdiUpper, 4) + "]", number(s.rHat, 4), Math.round(s.essBulk)]),
        "posterior-results"));
    }
  });
}

async function hang() {
  let started;
  try { started = await post("rheology/hang", {}); } catch (e) { say(e.message); return; }
  $("hang-view").hidden = false;
  badge("hang-status", "Pending");
  link("hang-link", started.id);
  $("hang-dump").replaceChildren();
  $("hang-note").textContent = "Waiting for an instrument reading that never comes; it times out in a few seconds.";
  await watch(started.id, async m => {
    if (m.status) badge("hang-status", m.status);
    if (m.type === "status" && m.is_terminal) {
      unwatch(started.id);
      const response = await fetch(jobs + encodeURIComponent(started.id) + "/dump", { headers: { "Accept": "text/plain" } });
      if (!response.ok) { $("hang-note").textContent = "It ended " + m.status + " without a thread dump."; return; }
      $("hang-note").textContent = "It ended " + m.status + ". Its thread dump, the job's own thread marked:";
      const text = await response.text();
      // The job's thread is the one whose header says "<<<"; its frames follow until a blank line.
      let inJob = false;
      $("hang-dump").replaceChildren(...text.split("\n").map(line => {
        if (line.includes("<<<")) inJob = true; else if (line.trim() === "") inJob = false;
        return el("span", line + "\n", inJob ? "frame" : null);
      }));
    }
  });
}

$("run-form").addEventListener("submit", run);
$("hang").addEventListener("click", hang);
