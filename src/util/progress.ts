// A dependency-free progress display for long work (training epochs, evaluation).
//
// On a terminal it redraws one line in place with \r; in logs (CI, redirected stderr) it
// prints a plain line at most every `intervalSec`, because \r-redraws turn a log file into
// one enormous line. It writes to stderr so stdout stays clean for results and --json.

/** The drop rank of a status-line part that is never dropped (Progress.render). */
const KEEP = Infinity;

/** The part of a stream we use; process.stderr fits, tests pass a fake. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type ProgressFields = Record<string, string | number | undefined>;

export interface ProgressOptions {
  /** Units of work in all; 0 or undefined when unknown (then no percentage or ETA). */
  total?: number;
  /** Units already done when this bar starts (a resumed epoch): shown, but not counted in the rate. */
  start?: number;
  /**
   * Units of work left when this bar starts, for the ETA: more than total − start when later
   * work follows (the next epochs of a run), fewer when the work stops inside the bar (a run
   * that --max-steps ends mid-epoch). done/total and % stay those of the bar. Default total − start.
   */
  workLeft?: number;
  /**
   * Seconds of other work known to follow before the work ends (a run's validation passes),
   * added to the ETA once the rate is known. Default 0.
   */
  laterSec?: number;
  label?: string;
  stream?: ProgressStream;
  /** --json mode: print nothing at all. */
  json?: boolean;
  /** Plain (non-TTY) mode: seconds between lines. Default 10. */
  intervalSec?: number;
  /** TTY mode: minimum ms between redraws, so tight loops do not spend time drawing. Default 100. */
  redrawMs?: number;
  /** Overrides stream.isTTY. */
  tty?: boolean;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

/**
 * A progress line for long work, on stderr unless `stream` is given (see the file comment):
 * redrawn in place on a TTY, a plain line at most every `intervalSec` seconds otherwise, nothing
 * in --json mode. Units of work are the caller's (steps, batches); times show as m:ss or h:mm:ss.
 */
export class Progress {
  readonly enabled: boolean;
  label: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly startMs: number;
  private readonly intervalMs: number;
  private readonly redrawMs: number;
  private total: number;
  private readonly start: number;
  private readonly workLeft: number | undefined;
  private readonly laterSec: number;
  private done = 0;
  private fields: ProgressFields = {};
  private lastDrawMs: number;
  private drawnWidth = 0;
  /** Plain mode: what the last printed line showed (done and fields), so finish() does not repeat it. */
  private lastPlain = '';
  private finished = false;

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.enabled = !opts.json;
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.total = opts.total ?? 0;
    this.start = opts.start ?? 0;
    this.workLeft = opts.workLeft;
    this.laterSec = opts.laterSec ?? 0;
    this.done = this.start;
    this.label = opts.label ?? '';
    this.intervalMs = (opts.intervalSec ?? 10) * 1000;
    this.redrawMs = opts.redrawMs ?? 100;
    this.startMs = this.now();
    // Plain mode: the first line comes one interval in, so short jobs print only the final line.
    this.lastDrawMs = this.tty ? -Infinity : this.startMs;
  }

  /** Sets absolute progress (and merges fields); draws if it is time to. */
  update(done: number, fields?: ProgressFields): void {
    this.done = done;
    if (fields) this.fields = { ...this.fields, ...fields };
    this.maybeDraw();
  }

  /** Advances by n units. */
  tick(n = 1, fields?: ProgressFields): void {
    this.update(this.done + n, fields);
  }

  setTotal(total: number): void {
    this.total = total;
  }

  /**
   * Prints a line of its own (e.g. an epoch summary) without tearing the bar: on a TTY the
   * bar is cleared first and redrawn below the line.
   */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.tty && this.drawnWidth > 0) {
      this.stream.write(`\r\x1b[K${line}\n`);
      this.drawnWidth = 0;
      if (!this.finished) this.draw();
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Draws the final state and ends the line (nothing for a bar that did no work); later calls do nothing. */
  finish(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields) this.fields = { ...this.fields, ...fields };
    this.finished = true;
    // A bar that never moved (a run stopped by --max-steps at an epoch boundary) has nothing to show.
    if (!this.enabled || this.done === this.start) return;
    // In a log, a line for the last step may already be there (the interval ran out on it);
    // printing it again only differs in elapsed time and reads as a duplicate.
    if (!this.tty && this.lastPlain === this.plainKey()) return;
    this.draw();
    if (this.tty) this.stream.write('\n');
  }

  /**
   * The status line as it would be drawn now (without bar graphics in plain mode), at most
   * `width` characters when given. A line too wide loses its parts in this order: the bar
   * graphics, the percentage, the elapsed time, then the fields from the last one (tok/s before
   * loss); the label, the step count and the ETA stay, and only they are ever cut.
   */
  render(width = Infinity): string {
    const elapsedSec = (this.now() - this.startMs) / 1000;
    // Lower ranks are dropped first; KEEP never. Parts are two spaces apart, fields one.
    const parts: { text: string; rank: number; field?: boolean }[] = [];
    if (this.label) parts.push({ text: this.label, rank: KEEP });
    if (this.total > 0) {
      const frac = Math.min(1, Math.max(0, this.done / this.total));
      if (this.tty) parts.push({ text: bar(frac, 20), rank: 0 });
      parts.push({ text: `${this.done}/${this.total}`, rank: KEEP }, { text: `${(frac * 100).toFixed(1)}%`, rank: 1 });
    } else {
      parts.push({ text: `${this.done}`, rank: KEEP });
    }
    parts.push({ text: `elapsed ${formatDuration(elapsedSec)}`, rank: 2 });
    if (this.total > 0 && !this.finished) {
      // Rate of this bar's own work, applied to what is left of the whole work, plus the other work known to follow.
      const left = (this.workLeft ?? this.total - this.start) - (this.done - this.start);
      const doneHere = this.done - this.start;
      parts.push({ text: `eta ${doneHere > 0 && left >= 0 ? formatDuration((elapsedSec * left) / doneHere + this.laterSec) : '?'}`, rank: KEEP });
    }
    // The fields go one at a time, from the last.
    const fields = fieldTexts(this.fields);
    fields.forEach((text, i) => parts.push({ text, rank: 3 + fields.length - 1 - i, field: true }));
    const joined = () => parts.map((p, i) => (i === 0 ? '' : p.field && parts[i - 1].field ? ' ' : '  ') + p.text).join('');
    let line = joined();
    while (line.length > width && parts.some((p) => p.rank !== KEEP)) {
      const lowest = Math.min(...parts.map((p) => p.rank));
      parts.splice(parts.findIndex((p) => p.rank === lowest), 1);
      line = joined();
    }
    return line;
  }

  private maybeDraw(): void {
    if (!this.enabled || this.finished) return;
    const t = this.now();
    if (t - this.lastDrawMs < (this.tty ? this.redrawMs : this.intervalMs)) return;
    this.draw();
  }

  private draw(): void {
    this.lastDrawMs = this.now();
    if (this.tty) {
      // A line wider than the terminal wraps, and \r then only returns to the wrapped part.
      // A pseudo-terminal without a size (script, some CI runners) reports 0 columns.
      const cols = this.stream.columns || 80;
      let line = this.render(cols - 1);
      if (line.length > cols - 1) line = line.slice(0, Math.max(0, cols - 1));
      this.stream.write(`\r${line}\x1b[K`);
      this.drawnWidth = line.length;
    } else {
      this.stream.write(`${this.render()}\n`);
      this.lastPlain = this.plainKey();
    }
  }

  private plainKey(): string {
    return `${this.done}/${this.total} ${formatFields(this.fields)}`;
  }
}

/** Seconds as `m:ss`, or `h:mm:ss` from one hour on, rounded to the second; '?' when negative or not finite. */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Compact numbers for status lines: 21300 → 21.3k, 0.61234 → 0.612, 12 → 12. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e9) return `${trim((x / 1e9).toPrecision(3))}G`;
  if (a >= 1e6) return `${trim((x / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${trim((x / 1e3).toPrecision(3))}k`;
  if (Number.isInteger(x)) return String(x);
  if (a >= 100) return x.toFixed(1);
  if (a !== 0 && a < 1e-3) return x.toExponential(2);
  return trim(x.toPrecision(3));
}

/** The fields as `key=value` joined by single spaces (numbers compact, see formatNumber); undefined values are left out. */
export function formatFields(fields: ProgressFields): string {
  return fieldTexts(fields).join(' ');
}

/** Each field given as `key=value` (numbers compact, see formatNumber), in the order given. */
function fieldTexts(fields: ProgressFields): string[] {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatNumber(v) : v}`);
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

function bar(frac: number, width: number): string {
  const full = Math.floor(frac * width);
  return `[${'='.repeat(full)}${full < width ? '>' : ''}${' '.repeat(Math.max(0, width - full - 1))}]`;
}
