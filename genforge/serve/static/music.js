// Music: a piano roll per window (a colour per voice), a brush that paints notes of one voice,
// bars marked unknown for Complete to fill, and playback through Web Audio (no plug-in).
"use strict";

const MusicView = (() => {
  let info = null;
  let unknown = new Set();     // "voice,step" cells Complete fills (every pitch of that voice at that step)
  let brush = 0;               // voice index, or -1: erase
  let length = 4;              // steps of a painted note
  let fillVoices = null;       // voices a bar click marks unknown
  let audio = null, sounding = [];
  const COLOURS = ["#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4d7c0f"];
  const CELL_W = 12, CELL_H = 7, HEADER = 16;

  const metre = (label) => info.metres[Math.max(label, 0)];
  const pitches = () => info.high - info.low + 1;

  async function setup(i) {
    info = i;
    fillVoices = info.voices.map(() => true);
  }

  function size(item, scale) {
    return [metre(item.label).steps * CELL_W * scale, (pitches() * CELL_H + HEADER) * scale];
  }

  function draw(canvas, item, scale, editing) {
    const [w, h] = size(item, scale);
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext("2d");
    const cw = CELL_W * scale, ch = CELL_H * scale, top = HEADER * scale;
    const m = metre(item.label), steps = m.steps, n = pitches();
    ctx.fillStyle = "#fbfbfd"; ctx.fillRect(0, 0, w, h);
    for (let p = 0; p < n; p++) {   // black keys shaded
      if ([1, 3, 6, 8, 10].includes((info.low + p) % 12)) {
        ctx.fillStyle = "#eceef3"; ctx.fillRect(0, top + (n - 1 - p) * ch, w, ch);
      }
    }
    if (editing) {
      ctx.fillStyle = "rgba(90, 90, 90, 0.35)";
      for (const key of unknown) {
        const [, s] = key.split(",").map(Number);
        ctx.fillRect(s * cw, top, cw, n * ch);
      }
    }
    for (let s = 0; s <= steps; s += info.steps_per_beat) {   // beat and bar lines
      ctx.fillStyle = s % m.steps_per_bar === 0 ? "#555" : "#ccd";
      ctx.fillRect(s * cw, top, s % m.steps_per_bar === 0 ? 1.5 : 1, n * ch);
    }
    ctx.fillStyle = "#dde"; ctx.fillRect(0, 0, w, top);
    for (let b = 0; b < m.bars; b++) {
      const x = b * m.steps_per_bar * cw;
      const whole = [...Array(m.steps_per_bar).keys()].every((k) => unknown.has(`${brush >= 0 ? brush : 0},${b * m.steps_per_bar + k}`));
      ctx.fillStyle = editing && whole ? "#999" : "#dde";
      ctx.fillRect(x + 1, 1, m.steps_per_bar * cw - 2, top - 2);
      if (scale >= 1) { ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.fillText(`bar ${b + 1}`, x + 4, top - 4); }
    }
    for (const [v, row, start, len, struck] of item.asset.notes) {
      if (start >= steps) continue;
      const x = start * cw, y = top + (n - 1 - row) * ch;
      ctx.fillStyle = COLOURS[v % COLOURS.length];
      ctx.fillRect(x + 0.5, y + 0.5, Math.min(len, steps - start) * cw - 1, ch - 1);
      if (struck) { ctx.fillStyle = "rgba(0,0,0,0.45)"; ctx.fillRect(x + 0.5, y + 0.5, Math.max(1, 2 * scale), ch - 1); }
    }
  }

  function buildBrushes(el, label, onPick) {
    el.innerHTML = "";
    const add = (index, text, colour) => {
      const b = document.createElement("span");
      b.className = "brush" + (index === brush ? " active" : "");
      b.dataset.brush = String(index);
      b.innerHTML = `<span style="display:inline-block;width:12px;height:10px;background:${colour}"></span>`;
      b.appendChild(document.createTextNode(text));
      b.onclick = () => { brush = index; onPick(); };
      el.appendChild(b);
    };
    info.voices.forEach((name, v) => add(v, name, COLOURS[v % COLOURS.length]));
    add(-1, "erase", "#fff");
    const len = document.createElement("select");
    len.id = "note-length";
    for (const k of [1, 2, 4, 8, 16]) len.add(new Option(`${k} step${k > 1 ? "s" : ""}`, String(k), false, k === length));
    len.onchange = () => { length = Number(len.value); };
    el.appendChild(len);
    const fill = document.createElement("span");
    fill.textContent = "bar click fills:";
    info.voices.forEach((name, v) => {
      const box = document.createElement("input");
      box.type = "checkbox"; box.checked = fillVoices[v]; box.dataset.fillVoice = String(v);
      box.onchange = () => { fillVoices[v] = box.checked; };
      fill.append(" ", box, name);
    });
    el.appendChild(fill);
  }

  function resetMask() { unknown = new Set(); }

  function blank(item) {
    unknown = new Set();
    const steps = metre(item.label).steps;
    for (let v = 0; v < info.voices.length; v++) for (let s = 0; s < steps; s++) unknown.add(`${v},${s}`);
    return { ...item, asset: { notes: [] } };
  }

  // A click on the bar header toggles that bar unknown (for the ticked voices); on the roll, paints a
  // note of the brush's voice (cutting that voice's notes in its way) or erases the notes under it.
  function paint(item, x, y, scale, fresh) {
    const cw = CELL_W * scale, ch = CELL_H * scale, top = HEADER * scale, m = metre(item.label);
    const step = Math.floor(x / cw);
    if (step < 0 || step >= m.steps) return false;
    if (y < top) {
      if (!fresh) return false;
      const bar = Math.floor(step / m.steps_per_bar), voices = fillVoices.map((on, v) => (on ? v : -1)).filter((v) => v >= 0);
      const cells = [];
      for (const v of voices) for (let k = 0; k < m.steps_per_bar; k++) cells.push(`${v},${bar * m.steps_per_bar + k}`);
      const all = cells.every((c) => unknown.has(c));
      for (const c of cells) (all ? unknown.delete(c) : unknown.add(c));
      return true;
    }
    const row = pitches() - 1 - Math.floor((y - top) / ch);
    if (row < 0 || row >= pitches()) return false;
    const notes = item.asset.notes;
    if (brush < 0) {
      const before = notes.length;
      item.asset.notes = notes.filter(([, r, s, l]) => !(r === row && s <= step && step < s + l));
      return item.asset.notes.length !== before;
    }
    if (!fresh) return false;
    const end = Math.min(step + length, m.steps);
    const kept = [];
    for (const note of notes) {
      const [v, , s, l] = note;
      if (v !== brush || s + l <= step || s >= end) { kept.push(note); continue; }
      if (s < step) kept.push([note[0], note[1], s, step - s, note[4]]);   // the part before the new note
    }
    kept.push([brush, row, step, end - step, 1]);
    kept.sort((a, b) => a[2] - b[2] || a[0] - b[0] || a[1] - b[1]);
    item.asset.notes = kept;
    for (let s = step; s < end; s++) unknown.delete(`${brush},${s}`);   // painted: kept by Complete
    return true;
  }

  function maskPayload() {
    return { unknown: [...unknown].map((k) => k.split(",").map(Number)) };
  }

  function play(item) {
    stop();
    audio = audio || new AudioContext();
    audio.resume();
    const stepSeconds = 60 / info.tempo / info.steps_per_beat, t0 = audio.currentTime + 0.05;
    const steps = metre(item.label).steps;
    let last = t0;
    for (const [, row, start, len] of item.asset.notes) {
      if (start >= steps) continue;
      const begin = t0 + start * stepSeconds, end = t0 + Math.min(start + len, steps) * stepSeconds;
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.type = "triangle";
      osc.frequency.value = 440 * 2 ** ((info.low + row - 69) / 12);
      gain.gain.setValueAtTime(0, begin);
      gain.gain.linearRampToValueAtTime(0.12, begin + 0.01);
      gain.gain.setValueAtTime(0.12, Math.max(begin + 0.01, end - 0.03));
      gain.gain.linearRampToValueAtTime(0, end);
      osc.connect(gain).connect(audio.destination);
      osc.start(begin);
      osc.stop(end + 0.01);
      sounding.push(osc);
      last = Math.max(last, end);
    }
    window.genforgePlayback = { state: audio.state, notes: sounding.length, seconds: last - t0, sampleRate: audio.sampleRate };
    return window.genforgePlayback;
  }

  function stop() {
    for (const osc of sounding) { try { osc.stop(); } catch (e) { /* already stopped */ } }
    sounding = [];
    if (window.genforgePlayback) window.genforgePlayback.stopped = true;
  }

  return {
    setup, size, draw, buildBrushes, resetMask, blank, paint, maskPayload, play, stop,
    setPath: () => {}, clearPath: () => {},
    state: () => ({ unknown: [...unknown], brush, length }),
  };
})();
