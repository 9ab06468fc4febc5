/**
 * The report page's script (plain JS, run after the inlined uPlot): it reads the embedded series
 * (data.ts) and makes one uPlot chart per `.chart` element. Each series has a colour, a marker
 * shape and a dash, so the charts read without colour; the legend shows all three and the
 * values under the cursor. Step and repetition starts and link ceilings are lines drawn in
 * uPlot's draw hook, and a queue-depth sweep is a faceted (x, y per series) uPlot chart.
 * Each chart element gets data-rendered and data-colors (the browser test checks the pixels).
 */
export const PAGE_SCRIPT = `
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#332288"];
  const DASHES = [[], [7, 4], [2, 3], [10, 3, 2, 3], [4, 4]];
  const SHAPES = ["circle", "square", "triangle", "diamond", "cross"];
  const HEIGHT = 320;
  const color = (g) => COLORS[g % COLORS.length];
  const shapeOf = (g) => SHAPES[g % SHAPES.length];
  const dpr = () => window.devicePixelRatio || 1;

  const num = (v) => (v >= 100 ? Math.round(v).toLocaleString("en") : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const latency = (us) =>
    us < 1000 ? Math.round(us) + " µs" : us < 1e6 ? (us / 1000).toFixed(us < 1e4 ? 2 : us < 1e5 ? 1 : 0) + " ms" : (us / 1e6).toFixed(2) + " s";
  const axisLatency = (us) =>
    us < 1000 ? +us.toPrecision(3) + " µs" : us < 1e6 ? +(us / 1000).toPrecision(3) + " ms" : +(us / 1e6).toPrecision(3) + " s";
  const short = (v) => (v >= 1e6 ? +(v / 1e6).toPrecision(3) + "M" : v >= 1e3 ? +(v / 1e3).toPrecision(3) + "k" : +v.toPrecision(3) + "");
  const FMT = {
    "MB/s": (v) => num(v) + " MB/s",
    IOPS: (v) => num(v) + " IOPS",
    latency,
  };
  const percentile = (x) => {
    const q = 100 * (1 - 1 / x);
    return (q >= 99.99 ? q.toFixed(3) : q >= 99 ? q.toFixed(2) : q.toFixed(1)) + " %";
  };
  const TICKS = { 1: "0%", 2: "50%", 10: "90%", 100: "99%", 1000: "99.9%", 10000: "99.99%", 100000: "99.999%" };
  // log axes: label 1, 2 and 5 of each decade only
  const decadeLabels = (f) => (u, splits) =>
    splits.map((v) => {
      const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
      return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-6) ? f(v) : "";
    });

  function addShape(p, shape, x, y, r) {
    if (shape === "circle") {
      p.moveTo(x + r, y);
      p.arc(x, y, r, 0, 2 * Math.PI);
    } else if (shape === "square") p.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
    else if (shape === "triangle") {
      p.moveTo(x, y - r * 1.1);
      p.lineTo(x + r, y + r * 0.8);
      p.lineTo(x - r, y + r * 0.8);
      p.closePath();
    } else if (shape === "diamond") {
      p.moveTo(x, y - r * 1.2);
      p.lineTo(x + r, y);
      p.lineTo(x, y + r * 1.2);
      p.lineTo(x - r, y);
      p.closePath();
    } else {
      p.moveTo(x - r, y - r);
      p.lineTo(x + r, y + r);
      p.moveTo(x + r, y - r);
      p.lineTo(x - r, y + r);
    }
  }

  /** uPlot points of one marker shape; with many points, every k-th one only. */
  function markers(group, faceted) {
    const shape = shapeOf(group);
    return {
      show: true,
      size: 7,
      width: 1.5,
      stroke: color(group),
      fill: shape === "cross" ? color(group) : "#fff",
      filter: (u, si) => {
        const ys = faceted ? u.data[si][1] : u.data[si];
        const idx = [];
        ys.forEach((v, i) => v != null && idx.push(i));
        const k = Math.max(1, Math.ceil(idx.length / 24));
        return idx.filter((_, n) => n % k === 0 || n === idx.length - 1);
      },
      paths: (u, si, i0, i1, idxs) => {
        const s = u.series[si];
        const xs = faceted ? u.data[si][0] : u.data[0];
        const ys = faceted ? u.data[si][1] : u.data[si];
        const yKey = faceted ? "y" : s.scale;
        const p = new Path2D();
        for (const i of idxs || []) {
          if (ys[i] == null) continue;
          addShape(p, shape, u.valToPos(xs[i], "x", true), u.valToPos(ys[i], yKey, true), 3.5 * dpr());
        }
        return { stroke: p, fill: p };
      },
    };
  }

  /** The legend's marker: a short line with the series' dash and its marker shape. */
  function legendMarkers(u, series, faceted) {
    u.root.querySelectorAll(".u-legend .u-series").forEach((row, i) => {
      const old = row.querySelector(".u-marker");
      // a faceted chart's legend has no row for x
      const s = series[faceted ? i : i - 1];
      if (!s || !old) return;
      const c = document.createElement("canvas");
      const r = dpr();
      c.width = 30 * r;
      c.height = 14 * r;
      c.className = "legend-marker";
      const ctx = c.getContext("2d");
      ctx.scale(r, r);
      ctx.strokeStyle = color(s.group);
      ctx.lineWidth = 2;
      ctx.setLineDash(DASHES[s.dash % DASHES.length]);
      ctx.beginPath();
      ctx.moveTo(1, 7);
      ctx.lineTo(29, 7);
      ctx.stroke();
      ctx.setLineDash([]);
      const p = new Path2D();
      addShape(p, shapeOf(s.group), 15, 7, 3.5);
      ctx.fillStyle = shapeOf(s.group) === "cross" ? color(s.group) : "#fff";
      ctx.lineWidth = 1.5;
      ctx.fill(p);
      ctx.stroke(p);
      old.replaceWith(c);
    });
  }

  /** Step/repetition starts (vertical), link ceilings (horizontal), sweep depths (labels). */
  function overlay(chart) {
    return (u) => {
      const ctx = u.ctx;
      const { left, top, width, height } = u.bbox;
      const r = dpr();
      ctx.save();
      ctx.beginPath();
      ctx.rect(left, top, width, height);
      ctx.clip();
      ctx.font = 11 * r + "px sans-serif";
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
      ctx.lineWidth = r;
      const rows = [...new Set((chart.marks || []).map((m) => m.group))];
      for (const m of chart.marks || []) {
        const x = u.valToPos(m.x, "x", true);
        ctx.strokeStyle = ctx.fillStyle = color(m.group);
        ctx.setLineDash([3 * r, 3 * r]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        if (m.label) ctx.fillText(m.label, x + 3 * r, top + (12 + 13 * rows.indexOf(m.group)) * r);
      }
      for (const l of chart.levels || []) {
        const y = u.valToPos(l.y, "y", true);
        ctx.strokeStyle = ctx.fillStyle = color(l.group);
        ctx.setLineDash([8 * r, 3 * r, 2 * r, 3 * r]);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
        ctx.textAlign = "right";
        ctx.fillText(l.label, left + width - 4 * r, y - 4 * r);
        ctx.textAlign = "left";
      }
      if (chart.kind === "sweep") {
        chart.series.forEach((s, si) => {
          if (s.dash !== 1 || !u.series[si + 1].show) return;
          ctx.fillStyle = color(s.group);
          s.depths.forEach((d, i) => {
            const x = u.valToPos(s.iops[i], "x", true);
            const y = u.valToPos(s.latencyUs[i], "y", true);
            ctx.fillText("qd " + d, x + 6 * r, y - 6 * r);
          });
        });
      }
      ctx.restore();
    };
  }

  function lineOptions(chart, el) {
    const f = FMT[chart.unit];
    const levels = (chart.levels || []).map((l) => l.y);
    const yRange = (u, min, max) => {
      const lo = Math.min(min, ...levels);
      const hi = Math.max(max, ...levels);
      if (chart.yLog) return uPlot.rangeLog(lo > 0 ? lo : 1, hi > 0 ? hi : 10, 10, true);
      return [0, hi > 0 ? hi * 1.08 : 1];
    };
    const percentileX = chart.kind === "percentile";
    const xMax = chart.x[chart.x.length - 1];
    return {
      width: el.clientWidth,
      height: HEIGHT,
      scales: {
        x: percentileX ? { time: false, distr: 3, log: 10, range: [1, xMax] } : { time: false, range: (u, min, max) => [0, max] },
        y: { distr: chart.yLog ? 3 : 1, log: 10, range: yRange },
      },
      axes: [
        percentileX
          ? {
              label: "percentile (log scale of 1/(1−q))",
              splits: () => [1, 2, 10, 100, 1e3, 1e4, 1e5].filter((v) => v <= xMax),
              values: (u, splits) => splits.map((v) => TICKS[Math.round(v)] || ""),
            }
          : { label: "measured time (s)", values: (u, splits) => splits.map((v) => v + " s") },
        {
          label: chart.unit === "latency" ? "latency" : chart.unit,
          size: 70,
          values: chart.unit === "latency" ? decadeLabels(axisLatency) : chart.yLog ? decadeLabels(short) : (u, s) => s.map(short),
        },
      ],
      series: [
        { label: percentileX ? "percentile" : "time", value: (u, v) => (v == null ? "—" : percentileX ? percentile(v) : v.toFixed(2) + " s") },
        ...chart.series.map((s) => ({
          label: s.label,
          stroke: color(s.group),
          width: 2,
          dash: DASHES[s.dash % DASHES.length],
          spanGaps: true,
          points: markers(s.group, false),
          value: (u, v) => (v == null ? "—" : f(v)),
        })),
      ],
    };
  }

  function sweepOptions(chart, el) {
    return {
      mode: 2,
      width: el.clientWidth,
      height: HEIGHT,
      scales: { x: { time: false, range: (u, min, max) => [0, max * 1.12] }, y: { distr: 3, log: 10 } },
      cursor: {
        dataIdx: (u, si) => {
          // the point of this series nearest to the cursor
          const s = chart.series[si - 1];
          if (!s || u.cursor.left == null || u.cursor.left < 0) return null;
          let best = null;
          let dist = Infinity;
          s.iops.forEach((x, i) => {
            const dx = u.valToPos(x, "x") - u.cursor.left;
            const dy = u.valToPos(s.latencyUs[i], "y") - u.cursor.top;
            if (dx * dx + dy * dy < dist) [best, dist] = [i, dx * dx + dy * dy];
          });
          return best;
        },
      },
      axes: [
        { label: "IOPS", values: (u, s) => s.map(short) },
        { label: "latency", size: 70, values: decadeLabels(axisLatency) },
      ],
      series: [
        {},
        ...chart.series.map((s) => ({
          label: s.label,
          stroke: color(s.group),
          width: 2,
          dash: DASHES[s.dash % DASHES.length],
          facets: [
            { scale: "x", auto: true },
            { scale: "y", auto: true },
          ],
          paths: uPlot.paths.linear(),
          points: markers(s.group, true),
          value: (u, v, si, i) => (i == null || v == null ? "—" : latency(v) + " at " + short(s.iops[i]) + " IOPS, qd " + s.depths[i]),
        })),
      ],
    };
  }

  const charts = [];
  for (const chart of data.charts) {
    const el = document.querySelector('.chart[data-chart="' + chart.id + '"]');
    if (!el) continue;
    if (chart.series.length === 0) {
      el.textContent = "no data to plot";
      continue;
    }
    const opts = chart.kind === "sweep" ? sweepOptions(chart, el) : lineOptions(chart, el);
    opts.hooks = { draw: [overlay(chart)] };
    opts.focus = { alpha: 0.35 };
    opts.cursor = Object.assign({ focus: { prox: 24 } }, opts.cursor);
    const plotted =
      chart.kind === "sweep" ? [null, ...chart.series.map((s) => [s.iops, s.latencyUs])] : [chart.x, ...chart.series.map((s) => s.values)];
    const u = new uPlot(opts, plotted, el);
    legendMarkers(u, chart.series, chart.kind === "sweep");
    el.dataset.colors = [...new Set(chart.series.map((s) => color(s.group)))].join(",");
    el.dataset.rendered = "true";
    charts.push([u, el]);
  }
  const resize = (max) => charts.forEach(([u, el]) => u.setSize({ width: Math.min(el.clientWidth, max), height: HEIGHT }));
  let timer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(() => resize(Infinity), 100);
  });
  window.addEventListener("beforeprint", () => resize(680));
  window.addEventListener("afterprint", () => resize(Infinity));
})();
`;
