// JobRuntime's jobs dashboard: plain DOM, fed by the REST API and its Server-Sent Events.
// Everything shown is set with textContent: job data is never parsed as HTML.
"use strict";

const api = new URL("../api/", location.href);
const kinds = ["State", "Submitted", "Started", "Progress", "StageChanged", "Custom", "Retrying", "CancellationRequested",
  "Completed", "Failed", "Cancelled", "TimedOut", "Requeued", "Warning"];
const lifecycle = new Set(["State", "Submitted", "Started", "Retrying", "Completed", "Failed", "Cancelled", "TimedOut", "Requeued"]);
const $ = id => document.getElementById(id);
let readOnly = false;
let cursor = null;
let pageStart = null;
let detailStream = null;
let batchStream = null;
let batchFilter = null;
let refreshTimer = null;
let shown = null;
const finished = new Set(["Completed", "Failed", "Cancelled", "TimedOut"]);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function call(path, options) {
  const response = await fetch(new URL(path, api), Object.assign({ headers: { "Accept": "application/json" } }, options));
  if (!response.ok && response.status !== 404) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return response;
}

function badge(status) { return el("span", status, "badge " + status); }

function bar(progress) {
  const outer = el("div", null, "bar");
  const inner = el("div");
  inner.style.width = (progress && progress.percentage != null ? progress.percentage : 0) + "%";
  outer.appendChild(inner);
  return outer;
}

function progressText(p) {
  if (!p) return "";
  const parts = [];
  if (p.total > 0) parts.push(p.current + "/" + p.total);
  if (p.stage) parts.push(p.stage);
  if (p.message) parts.push(p.message);
  return parts.join(" · ");
}

function row(job) {
  const tr = el("tr");
  tr.dataset.id = job.id;
  const link = el("a", job.title || job.id);
  link.href = "#/job/" + encodeURIComponent(job.id);
  const first = el("td"); first.appendChild(link); tr.appendChild(first);
  tr.appendChild(el("td", job.type));
  const status = el("td"); status.className = "status"; status.appendChild(badge(job.status)); tr.appendChild(status);
  const progress = el("td"); progress.className = "progress"; progress.appendChild(bar(job.progress));
  progress.appendChild(el("span", progressText(job.progress), "progress-text")); tr.appendChild(progress);
  tr.appendChild(el("td", new Date(job.createdAt).toLocaleString()));
  const actions = el("td");
  if (!readOnly && (job.status === "Pending" || job.status === "Running")) {
    const cancel = el("button", "Cancel", "action");
    cancel.type = "button";
    cancel.addEventListener("click", () => act(job.id, "cancel"));
    actions.appendChild(cancel);
  }
  tr.appendChild(actions);
  return tr;
}

async function loadList(after) {
  const query = new URLSearchParams();
  const status = $("status-filter").value, type = $("type-filter").value.trim(), tag = $("tag-filter").value.trim();
  if (status) query.set("status", status);
  if (type) query.set("type", type);
  if (tag) query.set("tag", tag);
  if (batchFilter) query.set("batch", batchFilter);
  if (after) query.set("after", after);
  query.set("limit", "50");
  const page = await (await call("jobs?" + query)).json();
  pageStart = after || null;
  cursor = page.nextCursor;
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren(...page.items.map(row));
  $("next-page").disabled = !cursor;
}

async function loadActive() {
  const page = await (await call("jobs?status=Pending,Running&limit=1000")).json();
  $("active").textContent = page.items.length + (page.nextCursor ? "+" : "") + " active";
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { loadActive(); if (!$("list-view").hidden) loadList(pageStart); }, 300);
}

function onEvent(e) {
  const data = JSON.parse(e.data);
  const tr = document.querySelector(`#jobs tr[data-id="${CSS.escape(data.jobId)}"]`);
  if (tr && data.progress) {
    tr.querySelector(".bar > div").style.width = (data.progress.percentage ?? 0) + "%";
    tr.querySelector(".progress-text").textContent = progressText(data.progress);
  }
  if (lifecycle.has(data.kind)) {
    if (tr) tr.querySelector(".status").replaceChildren(badge(data.status));
    scheduleRefresh();
  }
}

async function act(id, action) {
  try {
    if (action === "delete") {
      if (!confirm("Delete job " + id + "? Its record is removed for good.")) return;
      await call("jobs/" + encodeURIComponent(id), { method: "DELETE" });
      location.hash = "#/";
      return;
    }
    const response = await call("jobs/" + encodeURIComponent(id) + "/" + action, { method: "POST" });
    if (action === "rerun") {
      const created = await response.json();
      location.hash = "#/job/" + encodeURIComponent(created.id);
    }
    scheduleRefresh();
  } catch (error) {
    alert(error.message);
  }
}

async function showDetail(id) {
  $("list-view").hidden = true;
  $("detail-view").hidden = false;
  if (detailStream) { detailStream.close(); detailStream = null; }
  shown = id;
  const response = await call("jobs/" + encodeURIComponent(id));
  if (shown !== id) return;   // another job was opened meanwhile
  if (response.status === 404) { $("detail-title").textContent = "No job " + id; return; }
  const job = await response.json();
  $("detail-title").replaceChildren(el("span", (job.title || job.id) + " "), badge(job.status));
  const fields = [["Id", job.id], ["Type", job.type], ["Queue", job.queue], ["Wait reason", job.waitReason],
    ["Attempt", job.attempt + " of " + job.maxAttempts], ["Created", job.createdAt], ["Started", job.startedAt],
    ["Finished", job.completedAt], ["Duration", job.duration], ["Timeout", job.timeout], ["Tags", (job.tags || []).join(", ")]];
  $("detail-fields").replaceChildren(...fields.filter(f => f[1] !== null && f[1] !== undefined && f[1] !== "")
    .flatMap(f => [el("dt", f[0]), el("dd", f[1])]));
  $("detail-bar").style.width = (job.progress?.percentage ?? 0) + "%";
  $("detail-progress").textContent = progressText(job.progress);
  $("detail-args").textContent = JSON.stringify(job.args, null, 2);
  $("detail-result").textContent = job.result === null || job.result === undefined ? "" : JSON.stringify(job.result, null, 2);
  $("detail-error").textContent = job.error ? job.error.type + ": " + job.error.message + "\n\n" + (job.error.stackTrace || "") : "";
  $("detail-attempts").replaceChildren(...(job.attemptErrors || []).map(e => el("li", "attempt " + e.attempt + " at " + e.at + ": " + e.type + ": " + e.message)));
  const chain = [...(job.dependsOn || []).map(p => ["parent", p]), ...(job.dependents || []).map(d => ["dependent", d]),
    ...(job.rerunOf ? [["re-run of", job.rerunOf]] : []), ...(job.cachedFrom ? [["result reused from", job.cachedFrom]] : [])];
  $("detail-chain").replaceChildren(...chain.map(([what, other]) => {
    const li = el("li", what + " ");
    const a = el("a", other); a.href = "#/job/" + encodeURIComponent(other); li.appendChild(a);
    return li;
  }));
  for (const [button, action] of [["cancel", "cancel"], ["rerun", "rerun"], ["delete", "delete"]]) {
    const b = $(button);
    b.hidden = readOnly || (action === "cancel" && !(job.status === "Pending" || job.status === "Running"))
      || (action !== "cancel" && (job.status === "Pending" || job.status === "Running"));
    b.onclick = () => act(job.id, action);
  }
  await followBatch(job.batchId, id);
  $("detail-dump").textContent = "";
  if (job.status === "TimedOut") await showDump(job.id);
  $("detail-events").replaceChildren();
  // A finished job has nothing more to say; a running one is followed until it ends, then shown again.
  if (finished.has(job.status) || shown !== id) return;
  detailStream = new EventSource(new URL("jobs/" + encodeURIComponent(id) + "/events", api));
  for (const kind of kinds) {
    detailStream.addEventListener(kind, e => {
      const data = JSON.parse(e.data);
      if (data.progress) {
        $("detail-bar").style.width = (data.progress.percentage ?? 0) + "%";
        $("detail-progress").textContent = progressText(data.progress);
      }
      if (data.kind !== "Progress") {
        $("detail-events").appendChild(el("li", new Date(data.timestamp).toLocaleTimeString() + "  " + data.kind
          + (data.name ? " " + data.name : "") + (data.data !== null && data.data !== undefined && data.kind === "Custom" ? " " + JSON.stringify(data.data) : "")
          + (data.error ? " — " + data.error.message : "")));
      }
      if (lifecycle.has(data.kind)) {
        $("detail-title").replaceChildren(el("span", (job.title || job.id) + " "), badge(data.status));
        if (data.isTerminal) { detailStream.close(); detailStream = null; if (shown === id) showDetail(id); }
      }
    });
  }
}

function showBatch(s) {
  $("batch-state").replaceChildren(badge(s.state));
  $("batch-bar").style.width = (s.progress * 100) + "%";
  $("batch-summary").textContent = s.finished + "/" + s.total + " finished · " + s.completed + " completed · " + s.failed + " failed · "
    + s.cancelled + " cancelled · " + s.timedOut + " timed out · " + s.running + " running";
  $("cancel-batch").hidden = readOnly || s.isFinished || s.state === "Cancelled";
}

// A member's or a head's page shows its batch as a whole, live until the batch is over.
async function followBatch(batchId, id) {
  if (batchStream) { batchStream.close(); batchStream = null; }
  const section = $("detail-batch");
  section.hidden = true;
  if (!batchId) return;
  const response = await call("batches/" + encodeURIComponent(batchId));
  if (response.status === 404 || shown !== id) return;
  const status = await response.json();
  const link = $("batch-link");
  link.textContent = status.title || batchId;
  link.href = "#/job/" + encodeURIComponent(batchId);
  $("batch-jobs").href = "#/batch/" + encodeURIComponent(batchId);
  $("cancel-batch").onclick = async () => {
    if (!confirm("Cancel every unfinished job of this batch, and its continuation?")) return;
    try { await call("batches/" + encodeURIComponent(batchId) + "/cancel", { method: "POST" }); } catch (error) { alert(error.message); }
  };
  showBatch(status);
  section.hidden = false;
  if (status.isFinished) return;
  batchStream = new EventSource(new URL("batches/" + encodeURIComponent(batchId) + "/events", api));
  batchStream.addEventListener("batch", e => {
    const next = JSON.parse(e.data);
    showBatch(next);
    if (next.isFinished) { batchStream.close(); batchStream = null; }
  });
}

async function showDump(id) {
  const response = await fetch(new URL("jobs/" + encodeURIComponent(id) + "/dump", api), { headers: { "Accept": "text/plain" } });
  if (!response.ok) return;
  const text = await response.text();
  // The job's own frame is the one marked "<<<".
  $("detail-dump").replaceChildren(...text.split("\n").map(line => el("span", line + "\n", line.includes("<<<") ? "hot" : null)));
}

async function route() {
  const match = location.hash.match(/^#\/job\/(.+)$/);
  if (match) { await showDetail(decodeURIComponent(match[1])); return; }
  if (detailStream) { detailStream.close(); detailStream = null; }
  if (batchStream) { batchStream.close(); batchStream = null; }
  const batch = location.hash.match(/^#\/batch\/(.+)$/);
  batchFilter = batch ? decodeURIComponent(batch[1]) : null;
  $("list-note").hidden = !batchFilter;
  $("list-note").textContent = batchFilter ? "Jobs of batch " + batchFilter : "";
  $("detail-view").hidden = true;
  $("list-view").hidden = false;
  await loadList(null);
}

async function start() {
  const info = await (await call("info")).json();
  readOnly = info.readOnly;
  $("mode").textContent = readOnly ? "read-only" : "";
  $("filters").addEventListener("submit", e => { e.preventDefault(); loadList(null); });
  $("first-page").addEventListener("click", () => loadList(null));
  $("next-page").addEventListener("click", () => cursor && loadList(cursor));
  window.addEventListener("hashchange", route);
  const all = new EventSource(new URL("events", api));
  for (const kind of kinds) all.addEventListener(kind, onEvent);
  await Promise.all([route(), loadActive()]);
  document.body.dataset.ready = "true";
}

start().catch(error => { document.body.dataset.error = error.message; });
