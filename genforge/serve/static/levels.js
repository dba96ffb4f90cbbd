// Levels: tile grids drawn on a canvas from the game's tileset PNG (the one exported maps use),
// a brush that paints tiles (or marks cells unknown), and the playability path drawn over the level.
"use strict";

const LevelsView = (() => {
  let info = null;
  const tilesets = {};          // label -> loaded Image
  let known = null;             // rows of 0/1 over the model's whole window: 1 kept by Complete
  let brush = 0;                // tile index, or -1: mark unknown
  let path = null;              // the last check's answer, drawn until the level changes

  const game = (label) => info.games[Math.max(label, 0)];
  const rows = () => info.shape[0];

  function tileset(label) {
    const key = Math.max(label, 0);
    if (!tilesets[key]) {
      const img = new Image();
      tilesets[key] = new Promise((resolve, reject) => {
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error("tileset image failed to load"));
      });
      img.src = `/api/tileset/${key}`;
    }
    return tilesets[key];
  }

  // The game's own window: the bottom-left of the model's (multi-game models pad at the top and right).
  function view(label) {
    const [h, w] = game(label).window;
    return { top: rows() - h, h, w };
  }

  async function setup(i) {
    info = i;
    await Promise.all((info.games.length ? info.games : [null]).map((_, k) => tileset(k)));
  }

  // Rows of open air drawn above the level while a path goes there (as `genforge check --png` draws them).
  const above = () => (path && path.path.length ? Math.max(0, ...path.path.map(([r]) => -r)) : 0);

  const cell = (scale) => Math.max(1, Math.round(info.tile_px * scale));   // a tile's pixels on a canvas

  function size(item, scale, editing) {
    const v = view(item.label), s = cell(scale);
    return [v.w * s, (v.h + (editing ? above() : 0)) * s];
  }

  // Every tile's pixels at one size, one row of tiles (made once per game and size): a level is drawn by
  // copying rows of them into one ImageData, a few milliseconds fewer per picture than a drawImage per
  // tile in a software-rendering browser.
  const pixels = {};
  function tilePixels(img, key, s) {
    if (!pixels[`${key}:${s}`]) {
      const px = info.tile_px, cols = info.tileset_columns, n = info.vocabulary.length;
      const c = document.createElement("canvas");
      c.width = s * n; c.height = s;
      const ctx = c.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      for (let t = 0; t < n; t++) ctx.drawImage(img, (t % cols) * px, Math.floor(t / cols) * px, px, px, t * s, 0, s, s);
      pixels[`${key}:${s}`] = new Uint32Array(ctx.getImageData(0, 0, s * n, s).data.buffer);
    }
    return pixels[`${key}:${s}`];
  }

  // Synchronous once the tilesets are loaded (setup waits for them): a slider move draws at once.
  function drawTiles(ctx, img, key, tiles, label, s, top) {
    const v = view(label), width = v.w * s, stride = s * info.vocabulary.length;
    const src = tilePixels(img, key, s);
    const out = ctx.createImageData(width, v.h * s);
    const dst = new Uint32Array(out.data.buffer);
    for (let r = 0; r < v.h; r++) {
      const row = tiles[v.top + r];
      for (let c = 0; c < v.w; c++) {
        const from = row[c] * s;
        for (let y = 0; y < s; y++) dst.set(src.subarray(y * stride + from, y * stride + from + s), (r * s + y) * width + c * s);
      }
    }
    ctx.putImageData(out, 0, top);
  }

  const loaded = {};
  function draw(canvas, item, scale, editing) {
    const [w, h] = size(item, scale, editing);
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    const key = Math.max(item.label, 0);
    if (!loaded[key]) {  // not yet loaded (a label first seen): draw when it is
      tileset(key).then((img) => { loaded[key] = img; draw(canvas, item, scale, editing); });
      return;
    }
    const s = cell(scale), top = editing ? above() * s : 0;
    if (top) {
      const empty = game(item.label).empty, cols = info.tileset_columns, px = info.tile_px;
      for (let x = 0; x < w; x += s) {
        for (let y = 0; y < top; y += s) {
          ctx.drawImage(loaded[key], (empty % cols) * px, Math.floor(empty / cols) * px, px, px, x, y, s, s);
        }
      }
    }
    drawTiles(ctx, loaded[key], key, item.asset.tiles, item.label, s, top);
    ctx.save();
    ctx.translate(0, top);
    if (editing) {
      drawUnknown(ctx, item, scale);
      if (path) drawPath(ctx, item, scale);
    }
    ctx.restore();
  }

  function drawUnknown(ctx, item, scale) {
    if (!known) return;
    const v = view(item.label), s = cell(scale);
    ctx.fillStyle = "rgba(90, 90, 90, 0.65)";
    for (let r = 0; r < v.h; r++) for (let c = 0; c < v.w; c++) {
      if (!known[v.top + r][c]) ctx.fillRect(c * s + 1, r * s + 1, s - 2, s - 2);
    }
  }

  function centre(r, c, s) { return [c * s + s / 2, r * s + s / 2]; }

  function drawPath(ctx, item, scale) {
    const s = cell(scale);
    const pts = path.path.map(([r, c]) => centre(r, c, s));
    const stroke = (seg) => {
      if (seg.length < 2) return;
      for (const [colour, width] of [["#141414", 5], ["#ffffff", 3]]) {
        ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
        seg.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.stroke();
      }
    };
    let seg = pts.slice(0, 1);  // a wrap-around step (Kid Icarus) breaks the line, as genforge check draws it
    for (let i = 1; i < pts.length; i++) {
      if (Math.abs(pts[i][0] - pts[i - 1][0]) > s * 1.5) { stroke(seg); seg = []; }
      seg.push(pts[i]);
    }
    stroke(seg);
    if (pts.length) {
      for (const [[x, y], colour] of [[pts[0], "#28c83c"], [pts[pts.length - 1], "#e62828"]]) {
        ctx.fillStyle = colour; ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI); ctx.fill();
      }
    }
    if (path.furthest) {
      const [x, y] = centre(path.furthest[0], path.furthest[1], s);
      ctx.strokeStyle = "#e60000"; ctx.lineWidth = 4; ctx.beginPath();
      ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6); ctx.moveTo(x - 6, y + 6); ctx.lineTo(x + 6, y - 6);
      ctx.stroke();
    }
    ctx.strokeStyle = "#ff00ff"; ctx.lineWidth = 3;
    for (const [r, c] of path.problems) ctx.strokeRect(c * s + 1, r * s + 1, s - 2, s - 2);
  }

  function buildBrushes(el, label, onPick) {
    el.innerHTML = "";
    const add = (index, text, title) => {
      const b = document.createElement("span");
      b.className = "brush" + (index === brush ? " active" : "");
      b.dataset.brush = String(index);
      b.title = title;
      if (index >= 0) {
        const c = document.createElement("canvas");
        c.width = c.height = 16;
        tileset(label).then((img) => {
          const cols = info.tileset_columns, px = info.tile_px;
          c.getContext("2d").drawImage(img, (index % cols) * px, Math.floor(index / cols) * px, px, px, 0, 0, 16, 16);
        });
        b.appendChild(c);
      }
      b.appendChild(document.createTextNode(text));
      b.onclick = () => { brush = index; onPick(); };
      el.appendChild(b);
    };
    for (const t of game(label).tiles) add(t.index, t.char, t.name);
    add(-1, "? unknown", "mark cells for Complete to fill");
  }

  function resetMask(item) {
    known = item.asset.tiles.map((row) => row.map(() => 1));
    path = null;
  }

  // A fresh sketch: the game's empty tile everywhere, every cell of its window unknown.
  function blank(item) {
    const v = view(item.label), empty = game(item.label).empty;
    const tiles = item.asset.tiles.map((row) => row.map(() => empty));
    known = tiles.map((row, r) => row.map((_, c) => (r >= v.top && c < v.w ? 0 : 1)));
    path = null;
    return { ...item, asset: { tiles } };
  }

  // Paint the cell under the pointer; true when something changed.
  function paint(item, x, y, scale) {
    const s = cell(scale), v = view(item.label);
    const r = Math.floor(y / s) - above(), c = Math.floor(x / s);
    if (r < 0 || c < 0 || r >= v.h || c >= v.w) return false;
    const row = v.top + r;
    if (brush < 0) {
      if (!known[row][c]) return false;
      known[row][c] = 0;
    } else {
      if (item.asset.tiles[row][c] === brush && known[row][c]) return false;
      item.asset.tiles[row][c] = brush;
      known[row][c] = 1;
    }
    path = null;
    return true;
  }

  return {
    setup, size, draw, buildBrushes, resetMask, blank, paint,
    maskPayload: () => ({ known }),
    setPath: (p) => { path = p; },
    clearPath: () => { path = null; },
    state: () => ({ known, brush, path }),
  };
})();
