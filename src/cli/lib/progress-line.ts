/** The live bar's text, `epoch 3/10 |████░░| loss 0.41 acc 0.92 val 0.90 ETA 12s`. Pure. */
import { fmtDuration, fmtNum } from './format.js';

export interface ProgressState {
  epoch: number;
  totalEpochs: number;
  loss?: number | null;
  accuracy?: number | null;
  valAccuracy?: number | null;
  etaSeconds?: number | null;
}

export function renderBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

export function formatProgressLine(s: ProgressState, barWidth = 24): string {
  const bar = renderBar(s.totalEpochs > 0 ? s.epoch / s.totalEpochs : 0, barWidth);
  return (
    `epoch ${s.epoch}/${s.totalEpochs} |${bar}| loss ${fmtNum(s.loss, 2)} acc ${fmtNum(s.accuracy, 2)} ` +
    `val ${fmtNum(s.valAccuracy, 2)} ETA ${fmtDuration(s.etaSeconds)}`
  );
}
