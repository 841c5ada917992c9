/**
 * A small line chart as SVG text, for the plots in BENCHMARKS.md: no plotting dependency, readable as text
 * in a diff, rendered by any browser or code host. Linear or log₁₀ axes, one polyline per series, a legend,
 * and optional horizontal guide lines (a goal, a limit).
 */

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Drawn as steps (the value holds until the next point), as a count over time is. */
  steps?: boolean;
}

export interface Guide {
  label: string;
  y: number;
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  guides?: readonly Guide[];
  xLog?: boolean;
  yLog?: boolean;
  /** Where the x ticks go (the axis then spans the data exactly); by default round values. */
  xTicks?: readonly number[];
  /** How a tick value is written on each axis. */
  xTick?: (value: number) => string;
  yTick?: (value: number) => string;
}

const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { top: 40, right: 180, bottom: 56, left: 72 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Round numbers for a linear axis: 1, 2 or 5 × 10^k apart, about five of them. */
function linearTicks(min: number, max: number): number[] {
  const span = max - min || 1;
  const rough = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? magnitude * 10;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Powers of ten across a log axis. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) ticks.push(10 ** k);
  return ticks.filter((t) => t >= min / 1.0001 && t <= max * 1.0001);
}

function axis(values: number[], log: boolean, fixedTicks?: readonly number[]) {
  const positive = log ? values.filter((v) => v > 0) : values;
  let min = Math.min(...positive);
  let max = Math.max(...positive);
  if (fixedTicks) {
    const scale = (v: number) =>
      log ? Math.log10(v / min) / Math.log10(max / min || 10) : (v - min) / (max - min || 1);
    return { min, max, scale, ticks: [...fixedTicks] };
  }
  if (!log) min = Math.min(0, min);
  if (log) {
    min = 10 ** Math.floor(Math.log10(min));
    max = 10 ** Math.ceil(Math.log10(max));
  } else {
    const ticks = linearTicks(min, max);
    max = Math.max(max, ticks.at(-1) ?? max);
  }
  const scale = (v: number) =>
    log
      ? (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))
      : (v - min) / (max - min || 1);
  return { min, max, scale, ticks: log ? logTicks(min, max) : linearTicks(min, max) };
}

export function linePlot(plot: LinePlot): string {
  const points = plot.series.flatMap((s) => s.points);
  const x = axis(
    points.map(([px]) => px),
    plot.xLog ?? false,
    plot.xTicks,
  );
  const y = axis([...points.map(([, py]) => py), ...(plot.guides ?? []).map((g) => g.y)], plot.yLog ?? false);
  const innerWidth = WIDTH - MARGIN.left - MARGIN.right;
  const innerHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (v: number) => (MARGIN.left + x.scale(v) * innerWidth).toFixed(1);
  const py = (v: number) => (MARGIN.top + (1 - y.scale(v)) * innerHeight).toFixed(1);
  const xTick = plot.xTick ?? String;
  const yTick = plot.yTick ?? String;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(plot.title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(plot.title)}</text>`,
  ];
  for (const t of x.ticks) {
    parts.push(
      `<line x1="${px(t)}" y1="${MARGIN.top}" x2="${px(t)}" y2="${HEIGHT - MARGIN.bottom}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${escapeXml(xTick(t))}</text>`,
    );
  }
  for (const t of y.ticks) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${py(t)}" x2="${WIDTH - MARGIN.right}" y2="${py(t)}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${py(t)}" text-anchor="end" dominant-baseline="middle">${escapeXml(yTick(t))}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${innerWidth}" height="${innerHeight}" fill="none" stroke="#444"/>`,
    `<text x="${MARGIN.left + innerWidth / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(plot.xLabel)}</text>`,
    `<text transform="translate(18 ${MARGIN.top + innerHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(plot.yLabel)}</text>`,
  );
  for (const guide of plot.guides ?? []) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${py(guide.y)}" x2="${WIDTH - MARGIN.right}" y2="${py(guide.y)}" stroke="#555" stroke-dasharray="6 4"/>`,
      `<text x="${WIDTH - MARGIN.right + 6}" y="${py(guide.y)}" dominant-baseline="middle" fill="#555">${escapeXml(guide.label)}</text>`,
    );
  }
  plot.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const path: string[] = [];
    series.points.forEach(([vx, vy], j) => {
      const previous = series.points[j - 1];
      if (series.steps && previous) path.push(`${px(vx)},${py(previous[1])}`);
      path.push(`${px(vx)},${py(vy)}`);
    });
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${path.join(' ')}"/>`,
      `<line x1="${WIDTH - MARGIN.right + 10}" y1="${MARGIN.top + 20 + i * 20}" x2="${WIDTH - MARGIN.right + 30}" y2="${MARGIN.top + 20 + i * 20}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${WIDTH - MARGIN.right + 36}" y="${MARGIN.top + 20 + i * 20}" dominant-baseline="middle">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
