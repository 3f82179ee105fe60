// The topic map on a canvas: every paper a point coloured by its area, labels that fit the zoom,
// hover for a title, click to open the paper, and highlights for a search or the latest list.
// Data: /api/map (topics, ids) and /api/map/points.bin (float32 x,y per paper, int32 topic index).
(() => {
  const canvas = document.getElementById("map");
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip");
  const status = document.getElementById("map-status");
  const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46a0a8", "#d43fd4", "#9a9a1f",
                   "#bc5f5f", "#008080", "#9a6324", "#800000", "#2f7f3f", "#808000", "#000075", "#5f5fbc",
                   "#c28b00", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];
  let meta, xs, ys, topicOf, color = [], view = {scale: 1, x: 0, y: 0}, highlight = null, grid = null;
  const titles = new Map();

  function size() {
    const w = canvas.parentElement.clientWidth, h = Math.max(320, Math.min(window.innerHeight * 0.7, w));
    const dpr = window.devicePixelRatio || 1;
    canvas.width = w * dpr; canvas.height = h * dpr;
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  const W = () => canvas.clientWidth, H = () => canvas.clientHeight;
  const sx = (x) => W() / 2 + (x - view.x) * view.scale * Math.min(W(), H()) * 0.45;
  const sy = (y) => H() / 2 - (y - view.y) * view.scale * Math.min(W(), H()) * 0.45;
  const wx = (px) => (px - W() / 2) / (view.scale * Math.min(W(), H()) * 0.45) + view.x;
  const wy = (py) => -(py - H() / 2) / (view.scale * Math.min(W(), H()) * 0.45) + view.y;

  function draw() {
    ctx.clearRect(0, 0, W(), H());
    const dark = matchMedia("(prefers-color-scheme: dark)").matches;
    const base = xs.length < 5000 ? 3 : xs.length < 30000 ? 2 : 1.2;  // fewer points can be bigger
    const r = Math.min(6, base * Math.sqrt(view.scale));
    ctx.globalAlpha = highlight ? 0.18 : 0.75;
    for (let i = 0; i < xs.length; i++) {
      ctx.fillStyle = color[i];
      ctx.fillRect(sx(xs[i]) - r / 2, sy(ys[i]) - r / 2, r, r);
    }
    if (highlight) {
      ctx.globalAlpha = 1;
      for (const i of highlight) {
        ctx.fillStyle = color[i];
        ctx.beginPath(); ctx.arc(sx(xs[i]), sy(ys[i]), r + 2.5, 0, 2 * Math.PI); ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
    ctx.textAlign = "center";
    ctx.fillStyle = dark ? "#e6e8ee" : "#1d2330";
    ctx.strokeStyle = dark ? "rgba(18,21,27,.85)" : "rgba(255,255,255,.85)";
    ctx.lineWidth = 4;
    const labels = view.scale < 1.8
      ? meta.areas.map((a) => [a.name, a.x, a.y, 15, 700])
      : meta.topics.map((t) => [t.name, t.x, t.y, 12, 600]);
    const placed = [];
    for (const [text, x, y, px, weight] of labels) {
      const X = sx(x), Y = sy(y);
      if (X < 0 || Y < 0 || X > W() || Y > H()) continue;
      ctx.font = `${weight} ${px}px system-ui, sans-serif`;
      const w = ctx.measureText(text).width;
      if (placed.some(([a, b, c]) => Math.abs(a - X) < (c + w) / 2 + 4 && Math.abs(b - Y) < px + 4)) continue;
      placed.push([X, Y, w]);
      ctx.strokeText(text, X, Y); ctx.fillText(text, X, Y);
    }
  }

  function buildGrid() {  // a spatial hash in map coordinates: hover finds nearby points only
    grid = new Map();
    for (let i = 0; i < xs.length; i++) {
      const key = Math.floor(xs[i] * 50) + "," + Math.floor(ys[i] * 50);
      if (!grid.has(key)) grid.set(key, []);
      grid.get(key).push(i);
    }
  }

  function nearest(px, py) {
    const x = wx(px), y = wy(py), limit = 8 / (view.scale * Math.min(W(), H()) * 0.45);
    let best = -1, bestD = limit * limit;
    const gx = Math.floor(x * 50), gy = Math.floor(y * 50), reach = Math.ceil(limit * 50);
    for (let a = gx - reach; a <= gx + reach; a++) {
      for (let b = gy - reach; b <= gy + reach; b++) {
        for (const i of grid.get(a + "," + b) || []) {
          const d = (xs[i] - x) ** 2 + (ys[i] - y) ** 2;
          if (d < bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  async function titleOf(i) {
    const id = meta.ids[i];
    if (!titles.has(id)) {
      const r = await fetch("/api/papers/" + encodeURIComponent(id).replace(/%2F/g, "/"));
      titles.set(id, r.ok ? (await r.json()).title : id);
    }
    return titles.get(id);
  }

  let hoverToken = 0;
  canvas.addEventListener("mousemove", async (e) => {
    if (drag) return;
    const rect = canvas.getBoundingClientRect(), i = nearest(e.clientX - rect.left, e.clientY - rect.top);
    canvas.style.cursor = i >= 0 ? "pointer" : "grab";
    const token = ++hoverToken;
    if (i < 0) { tip.hidden = true; return; }
    const title = await titleOf(i);
    if (token !== hoverToken) return;
    const topic = meta.topics[topicOf[i]];
    tip.textContent = "";
    const strong = document.createElement("strong"); strong.textContent = title;
    const small = document.createElement("small"); small.textContent = topic ? topic.name : "";
    tip.append(strong, document.createElement("br"), small);
    tip.style.left = Math.min(e.clientX - rect.left + 12, W() - 260) + "px";
    tip.style.top = (e.clientY - rect.top + 12) + "px";
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });

  let drag = null;
  canvas.addEventListener("mousedown", (e) => { drag = {x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false}; });
  window.addEventListener("mouseup", (e) => {
    if (drag && !drag.moved) {
      const rect = canvas.getBoundingClientRect(), i = nearest(e.clientX - rect.left, e.clientY - rect.top);
      if (i >= 0 && e.target === canvas) location.href = "/papers/" + meta.ids[i];
    }
    drag = null;
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const k = view.scale * Math.min(W(), H()) * 0.45;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) drag.moved = true;
    view.x = drag.vx - (e.clientX - drag.x) / k; view.y = drag.vy + (e.clientY - drag.y) / k;
    requestAnimationFrame(draw);
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = canvas.getBoundingClientRect(), px = e.clientX - rect.left, py = e.clientY - rect.top;
    const x = wx(px), y = wy(py);
    view.scale = Math.max(0.5, Math.min(200, view.scale * (e.deltaY < 0 ? 1.25 : 0.8)));
    view.x += x - wx(px); view.y += y - wy(py);
    requestAnimationFrame(draw);
  }, {passive: false});

  async function highlightIds(ids, label) {
    const index = new Map(meta.ids.map((id, i) => [id, i]));
    const found = ids.map((id) => index.get(id)).filter((i) => i !== undefined);
    highlight = found.length ? found : null;
    status.textContent = label + ": " + found.length + " papers on the map";
    draw();
  }

  const form = document.getElementById("map-search");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = form.q.value.trim();
    if (!q) { highlight = null; status.textContent = meta.count + " papers"; draw(); return; }
    const r = await fetch("/api/papers/search?limit=200&q=" + encodeURIComponent(q));
    highlightIds(r.ok ? (await r.json()).map((p) => p.id) : [], "“" + q + "”");
  });
  form.latest.addEventListener("change", async () => {
    if (!form.latest.checked) { highlight = null; draw(); return; }
    const r = await fetch("/api/daily_papers?limit=100");
    highlightIds(r.ok ? (await r.json()).map((p) => p.paper.id) : [], "the latest daily list");
  });

  async function load() {
    const [m, bin] = await Promise.all([fetch("/api/map").then((r) => r.json()),
                                       fetch("/api/map/points.bin").then((r) => r.arrayBuffer())]);
    meta = m;
    const n = meta.count, f = new Float32Array(bin, 0, 2 * n);
    topicOf = new Int32Array(bin, 8 * n, n);
    xs = new Float32Array(n); ys = new Float32Array(n);
    for (let i = 0; i < n; i++) { xs[i] = f[2 * i]; ys[i] = f[2 * i + 1]; }
    const areaIndex = new Map(meta.areas.map((a, i) => [a.id, i]));
    color = Array.from(topicOf, (t) => PALETTE[(areaIndex.get((meta.topics[t] || {}).areaId) || 0) % PALETTE.length]);
    document.querySelectorAll(".swatch").forEach((s) => {
      s.style.background = PALETTE[(areaIndex.get(Number(s.dataset.area)) || 0) % PALETTE.length];
    });
    buildGrid(); size();
    const match = location.hash.match(/topic=(\d+)/);
    if (match) {
      const t = meta.topics.findIndex((x) => x.id === Number(match[1]));
      if (t >= 0) {
        view = {scale: 4, x: meta.topics[t].x, y: meta.topics[t].y};
        highlight = [...topicOf.keys()].filter((i) => topicOf[i] === t);
      }
    }
    draw();
    status.textContent = n.toLocaleString() + " papers · drag to move, scroll to zoom, click a point to open it";
    canvas.dataset.ready = "1";
  }
  window.addEventListener("resize", () => { if (meta) { size(); draw(); } });
  load();
})();
