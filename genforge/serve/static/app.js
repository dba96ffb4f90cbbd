// The explorer page: samples, the editor with its sliders and tools, interpolation. The server
// decodes (onnxruntime); this page keeps the latents, draws, and sends what the user did.
"use strict";

const S = {
  info: null, view: null,
  items: [], current: null, selected: -1,
  base: null,              // {z, label} the sliders move from
  moves: {},               // slider name -> amount
  a: null, b: null,        // interpolation ends
  version: 0,              // editor pictures drawn (tests wait on it)
};
window.genforge = S;
window.genforgeTimings = [];      // ms from a slider's input event to its new picture drawn on the canvas
window.genforgeFrameTimings = []; // ... to the start of the next animation frame, which shows it
const $ = (id) => document.getElementById(id);
const EDIT_SCALE = 2, THUMB_SCALE = 0.5;

function status(text, error) {
  $("status").textContent = text || "";
  $("status").dataset.error = error ? "1" : "";
}

async function api(route, body) {
  const res = await fetch(`/api/${route}`, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!res.ok) {
    let msg = `${route}: ${res.status}`;
    try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
    status(msg, true);
    throw new Error(msg);
  }
  return res;
}
const post = async (route, body) => (await api(route, body)).json();

function scales() { return S.info.domain === "music" ? [1, 0.3] : [EDIT_SCALE, THUMB_SCALE]; }
function labelName(label) { return S.info.labels.length ? S.info.labels[label] : "unconditional"; }
function condition() { const v = $("condition").value; return v === "" ? null : Number(v); }

function thumb(item, onClick, extra, scale) {
  const box = document.createElement("div");
  box.className = "thumb";
  const canvas = document.createElement("canvas");
  canvas.title = labelName(item.label);
  S.view.draw(canvas, item, scale || scales()[1], false);
  canvas.onclick = onClick;
  box.appendChild(canvas);
  if (extra) box.appendChild(extra);
  return box;
}

function drawSamples() {
  const grid = $("samples");
  grid.innerHTML = "";
  S.items.forEach((item, i) => {
    const picks = document.createElement("div");
    picks.className = "picks";
    for (const end of ["a", "b"]) {
      const b = document.createElement("button");
      b.textContent = end.toUpperCase();
      b.className = `pick-${end}`;
      b.onclick = () => setEnd(end, item);
      picks.appendChild(b);
    }
    const box = thumb(item, () => open(item, i), picks);
    box.dataset.index = String(i);
    box.dataset.label = String(item.label);
    if (i === S.selected) box.classList.add("selected");
    grid.appendChild(box);
  });
}

function drawEditor() {
  const canvas = $("view");
  S.view.draw(canvas, S.current, scales()[0], true);
  S.version += 1;
  canvas.dataset.version = String(S.version);
  $("current-label").textContent = `(${labelName(S.current.label)})`;
}

function open(item, index) {
  S.selected = index === undefined ? -1 : index;
  S.current = structuredClone(item);
  S.base = { z: item.z, label: item.label };
  resetSliders(false);
  S.view.resetMask(S.current);
  $("score-out").textContent = "";
  $("path-out").textContent = "";
  status("");
  buildBrushes();
  drawEditor();
  drawSamples();
  if (S.info.domain === "levels") $("tileset-link").href = `/api/tileset/${Math.max(item.label, 0)}`;
}

function buildBrushes() {
  S.view.buildBrushes($("brushes"), S.current.label, buildBrushes);
}

// ---- sliders: one request in flight; moves made meanwhile are sent as one when it lands
let inflight = false, pending = null;

function buildSliders() {
  const box = $("sliders");
  box.innerHTML = "";
  const add = (name, range, title) => {
    const label = document.createElement("label");
    label.textContent = name;
    label.title = title;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: -range, max: range, step: 0.05, value: 0 });
    input.dataset.move = name;
    const out = document.createElement("output");
    out.textContent = "0";
    input.addEventListener("input", () => {
      S.moves[name] = Number(input.value);
      out.textContent = Number(input.value).toFixed(2);
      moveTo(performance.now());
    });
    box.append(label, input, out);
  };
  for (const d of S.info.directions) add(d.name, d.range, `principal direction of the training codes (spread ${d.spread.toFixed(2)})`);
  for (const a of S.info.attributes) add(a.name, a.range, "attribute vector: more (right) or less (left)");
}

function resetSliders(redraw) {
  S.moves = {};
  for (const input of document.querySelectorAll("#sliders input")) {
    input.value = 0;
    input.nextSibling.textContent = "0";
  }
  if (redraw) moveTo(performance.now());
}

async function moveTo(started) {
  pending = started;
  if (inflight || !S.base) return;
  inflight = true;
  try {
    while (pending !== null) {
      const t0 = pending;
      pending = null;
      const item = await post("decode", { z: S.base.z, label: S.base.label, moves: { ...S.moves } });
      S.current = item;
      S.view.resetMask(item);
      drawEditor();
      window.genforgeTimings.push(performance.now() - t0);
      requestAnimationFrame(() => {
        window.genforgeFrameTimings.push(performance.now() - t0);
        window.dispatchEvent(new Event("genforge:frame"));   // a benchmark in the page waits on it
      });
    }
  } finally {
    inflight = false;
  }
}

// ---- samples and conditioning
async function resample() {
  status("sampling...");
  const data = await post("sample", { n: 8, seed: Number($("seed").value) || 0, label: condition() });
  S.items = data.items;
  open(S.items[0], 0);
  status("");
}

async function conditionChanged() {
  const label = condition();
  if (label !== null && S.base) {   // the current latent under the new condition, and samples of it
    S.base = { z: S.base.z, label };
    await moveTo(performance.now());
  }
  await resample();
}

// ---- interpolation
function drawEnd(end) {
  const item = S[end];
  if (item) S.view.draw($(`end-${end}`), item, scales()[1] / 2, false);
}

function setEnd(end, item) {
  S[end] = structuredClone(item);
  drawEnd(end);
}

async function interpolate() {
  if (!S.a || !S.b) { status("pick A and B first", true); return; }
  const label = condition() ?? S.a.label;
  const data = await post("interpolate", { a: S.a.z, b: S.b.z, label, steps: Number($("steps").value) || 8 });
  const strip = $("strip");
  strip.innerHTML = "";
  data.items.forEach((item, i) => {
    const box = thumb(item, () => open(item), null, scales()[1] * 0.7);
    box.dataset.step = String(i);
    strip.appendChild(box);
  });
  S.strip = data.items;
}

// ---- sketching: paint, complete, score, path
function pointer(ev, fresh) {
  if (!S.current || (ev.buttons !== 1 && !fresh)) return;
  const r = $("view").getBoundingClientRect();
  if (S.view.paint(S.current, ev.clientX - r.left, ev.clientY - r.top, scales()[0], fresh)) drawEditor();
}

async function complete() {
  status("completing...");
  const item = await post("complete", { asset: S.current.asset, label: S.current.label, seed: Number($("seed").value) || 0,
    ...S.view.maskPayload() });
  S.current = item;
  S.base = { z: item.z, label: item.label };
  resetSliders(false);
  S.view.resetMask(item);
  drawEditor();
  status("completed");
}

async function score() {
  const out = await post("score", { asset: S.current.asset, label: S.current.label });
  $("score-out").textContent = `style score ${out.score.toFixed(3)} nats a cell: ` + (out.percentile === null
    ? "no held-out real windows of this label to compare with" : `percentile ${out.percentile.toFixed(0)} among held-out real windows`);
  $("score-out").dataset.percentile = String(out.percentile);
}

async function showPath() {
  const out = await post("check", { asset: S.current.asset, label: S.current.label });
  S.view.setPath(out);
  $("path-out").textContent = out.message;
  $("path-out").dataset.playable = out.playable ? "1" : "0";
  drawEditor();
}

async function download() {
  const res = await api("download", { asset: S.current.asset, label: S.current.label, z: S.current.z });
  const name = (res.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || "download";
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url; a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function main() {
  S.info = await (await api("model")).json();
  S.view = S.info.domain === "music" ? MusicView : LevelsView;
  $("model").textContent = `${S.info.model} (${S.info.domain}, latent ${S.info.latent_dim})`;
  S.info.labels.forEach((name, i) => $("condition").add(new Option(name, String(i))));
  $("condition").disabled = !S.info.labels.length;
  const music = S.info.domain === "music";
  for (const id of ["play", "stop"]) $(id).hidden = !music;
  for (const id of ["path", "tileset-link"]) $(id).hidden = music;
  await S.view.setup(S.info);
  buildSliders();
  const view = $("view");
  view.addEventListener("mousedown", (ev) => pointer(ev, true));
  view.addEventListener("mousemove", (ev) => pointer(ev, false));
  $("resample").onclick = resample;
  $("condition").onchange = conditionChanged;
  $("blank").onclick = () => { S.current = S.view.blank(S.current); drawEditor(); };
  $("complete").onclick = complete;
  $("score").onclick = score;
  $("path").onclick = showPath;
  $("play").onclick = () => S.view.play(S.current);
  $("stop").onclick = () => S.view.stop();
  $("download").onclick = download;
  $("set-a").onclick = () => setEnd("a", S.current);
  $("set-b").onclick = () => setEnd("b", S.current);
  $("reset").onclick = () => resetSliders(true);
  $("interpolate").onclick = interpolate;
  await resample();
  document.body.dataset.ready = "1";
}

main().catch((e) => status(String(e.message || e), true));
