/**
 * One live uPlot chart of a training curve: epoch on x, the train and validation series on y. Points are
 * appended as they stream in; redraws are batched to one per animation frame, so replaying a long job's
 * log draws once. The container carries `data-points` (epochs plotted) for tests and tools.
 */
import uPlot from '../vendor/uplot/uPlot.esm.js';

const CHART_HEIGHT_PX = 150;
const TRAIN_COLOR = '#2563eb';
const VAL_COLOR = '#ea580c';
const AXIS_COLOR = '#6b7280';
const GRID_COLOR = 'rgba(107, 114, 128, 0.15)';

/**
 * @typedef {'loss' | 'accuracy'} ChartKind
 */

/**
 * @param {ChartKind} kind
 * @returns {(u: uPlot, values: number[]) => string[]}
 */
function tickFormat(kind) {
  return kind === 'accuracy' ? (_u, values) => values.map((v) => `${Math.round(v * 100)}%`) : (_u, values) => values.map((v) => String(Number(v.toPrecision(3))));
}

export class MetricChart {
  /**
   * @param {HTMLElement} container empty element the chart fills (its width is the chart's width)
   * @param {ChartKind} kind
   */
  constructor(container, kind) {
    this.container = container;
    this.kind = kind;
    /** @type {[number[], (number | null)[], (number | null)[]]} */
    this.data = [[], [], []];
    this.frame = 0;
    container.dataset.chart = kind;
    container.dataset.points = '0';
    const axis = { stroke: AXIS_COLOR, grid: { stroke: GRID_COLOR, width: 1 }, ticks: { stroke: GRID_COLOR, width: 1 } };
    this.plot = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: CHART_HEIGHT_PX,
        // Epochs, not time stamps.
        scales: {
          x: { time: false },
          y: kind === 'accuracy' ? { range: (_u, min) => [Math.max(0, Math.min(min, 0.9) - 0.05), 1] } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
        },
        axes: [
          { ...axis, size: 30, values: (_u, v) => v.map((x) => (Number.isInteger(x) ? String(x) : '')) },
          { ...axis, size: 46, values: tickFormat(kind) },
        ],
        series: [
          { label: 'epoch' },
          { label: `train ${kind}`, stroke: TRAIN_COLOR, width: 2, points: { show: false } },
          { label: `val ${kind}`, stroke: VAL_COLOR, width: 2, dash: [6, 4], spanGaps: true, points: { show: false } },
        ],
        // The card's caption names the two lines; the latest values are in the card's metrics row.
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
      },
      this.data,
      container,
    );
    this.resize = new ResizeObserver(() => {
      const width = container.clientWidth;
      if (width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: CHART_HEIGHT_PX });
    });
    this.resize.observe(container);
  }

  /**
   * Sets the point of one epoch. An epoch seen again (a job resumed from a checkpoint) replaces that
   * epoch and everything after it, so the curve is always the run as it happened last.
   * @param {number} epoch
   * @param {number | null} train
   * @param {number | null} val
   */
  put(epoch, train, val) {
    const [xs, ts, vs] = this.data;
    let i = xs.length;
    while (i > 0 && xs[i - 1] >= epoch) i--;
    xs.length = ts.length = vs.length = i;
    xs.push(epoch);
    ts.push(train);
    vs.push(val);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  /**
   * Drops the points after `epoch`: a job resumed from that epoch's checkpoint trains them again.
   * @param {number} epoch
   */
  truncateAfter(epoch) {
    const [xs, ts, vs] = this.data;
    let i = xs.length;
    while (i > 0 && xs[i - 1] > epoch) i--;
    if (i === xs.length) return;
    xs.length = ts.length = vs.length = i;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    this.plot.setData(this.data);
    this.container.dataset.points = String(this.data[0].length);
  }

  destroy() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    this.plot.destroy();
  }
}
