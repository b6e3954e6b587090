// Time to quality (a module for the bench scripts, not a script): the training wall time at which validation first reached a given NDCG@10 or
// HR@10, read from a run's train.jsonl (bench/quality.ts prints it in its results rows).
import { UsageError } from '../../src/errors.js';

/** A validation threshold: metric ≥ value. */
export interface QualityTarget {
  metric: 'ndcg@10' | 'hr@10';
  value: number;
}

export interface TimeToQuality {
  target: QualityTarget;
  /** Seconds of training (every start/resume segment, downtime between them excluded) when the first validation ≥ value was logged; null if none was. */
  seconds: number | null;
  /** The epoch of that validation; null if none reached the target. */
  epoch: number | null;
  /** Seconds of training the log covers (the budget a "not reached" was measured over). */
  loggedSeconds: number;
}

/** Meta's HSTU row on ML-1M (generative-recommenders README; Zhai et al., ICML 2024): HR@10 0.3097, NDCG@10 0.1720. */
export const HSTU_PAPER_ROW: QualityTarget[] = [
  { metric: 'ndcg@10', value: 0.172 },
  { metric: 'hr@10', value: 0.3097 },
];

interface LogRecord {
  type?: string;
  epoch?: number;
  time?: string;
  elapsed_s?: number;
  seconds?: number;
  valid?: Record<string, number>;
}

/**
 * Reads the records of a train.jsonl in order. Each `start` or `resume` record opens a segment
 * (one process); an `epoch` record's time in its segment is its `elapsed_s` (seconds since that
 * process started the run), else its ISO `time` minus the segment's `time`. Earlier segments add
 * their length (their last epoch's time, or the `end` record's `seconds` if later). Returns, per
 * target, the first epoch whose `valid[metric] >= value` and its cumulative seconds. Throws an
 * Error when a validated epoch record has no time (a log written before epoch records were
 * timed), since the figure would be a guess.
 */
export function timeToQuality(records: readonly unknown[], targets: readonly QualityTarget[]): TimeToQuality[] {
  const out: TimeToQuality[] = targets.map((target) => ({ target, seconds: null, epoch: null, loggedSeconds: 0 }));
  let offset = 0;
  let segment = 0;
  let segmentStart: number | null = null;
  for (const raw of records) {
    const r = raw as LogRecord;
    if (r.type === 'start' || r.type === 'resume') {
      offset += segment;
      segment = 0;
      segmentStart = r.time ? Date.parse(r.time) : null;
    } else if (r.type === 'end' && typeof r.seconds === 'number') {
      segment = Math.max(segment, r.seconds);
    } else if (r.type === 'epoch') {
      const within = typeof r.elapsed_s === 'number' ? r.elapsed_s : r.time && segmentStart !== null ? (Date.parse(r.time) - segmentStart) / 1000 : null;
      if (within === null) {
        if (r.valid) throw new Error(`train.jsonl: the validated epoch ${r.epoch} has no elapsed_s or time, so the time to quality cannot be measured (a log from before epoch records were timed)`);
        continue;
      }
      segment = Math.max(segment, within);
      if (!r.valid) continue;
      for (const t of out) {
        if (t.seconds === null && r.valid[t.target.metric] >= t.target.value) {
          t.seconds = offset + within;
          t.epoch = r.epoch ?? null;
        }
      }
    }
  }
  for (const t of out) t.loggedSeconds = offset + segment;
  return out;
}

/** `time to NDCG@10 ≥ 0.1720: 42 min (epoch 30)` or `NDCG@10 ≥ 0.1720 not reached in 60 min`. */
export function describeTimeToQuality(t: TimeToQuality): string {
  const name = `${t.target.metric.toUpperCase()} ≥ ${t.target.value.toFixed(4)}`;
  const minutes = (s: number) => `${(s / 60).toFixed(s < 600 ? 1 : 0)} min`;
  return t.seconds === null ? `${name} not reached in ${minutes(t.loggedSeconds)}` : `time to ${name}: ${minutes(t.seconds)} (epoch ${t.epoch})`;
}

/**
 * Parses `--target-ndcg 0.172,0.1893`-style values into targets. Throws a UsageError (a flag
 * error, exit 2) naming the flag for anything but numbers in (0, 1].
 */
export function parseTargets(metric: QualityTarget['metric'], flag: string, text: string): QualityTarget[] {
  return text.split(',').map((s) => {
    // An empty piece is a stray comma: naming it says more than "got ''".
    if (s.trim() === '') throw new UsageError(`${flag}: expected numbers in (0, 1] separated by commas, got an empty value in '${text}' (a leading, trailing or doubled comma)`);
    const value = Number(s.trim());
    if (!(value > 0 && value <= 1)) throw new UsageError(`${flag}: expected numbers in (0, 1] separated by commas, got '${s}'`);
    return { metric, value };
  });
}
