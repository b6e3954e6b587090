/**
 * The positive rule: which events are targets. Negative feedback (e.g. a rating below the
 * threshold) stays in the input sequence as context and is never a target (Zhai et al.,
 * "Actions Speak Louder than Words", ICML 2024, §2.1).
 */
import { ReclmError } from '../errors.js';
import { DataFormatError } from './errors.js';
import type { PositiveRule } from './features.js';
import type { Dataset } from './types.js';
import { isDecimal } from './readers/time.js';
import { quoteIfNeeded, splitOutsideQuotes, unquote } from '../util/quoted-list.js';

/** Thrown for a malformed `--positive` value; the CLI turns it into a one-line usage error. */
export class PositiveRuleError extends ReclmError {}

/**
 * Parses `all`, `rating>=N` (N a number, with a decimal point or comma) or `action=V1,V2,…` (the action values that count as
 * positive, as written in the data; one that holds a comma is quoted: `action=click,"add to cart, later"`,
 * util/quoted-list.ts). Throws PositiveRuleError naming the expected forms.
 */
export function parsePositiveRule(spec: string): PositiveRule {
  const s = spec.trim();
  if (s === 'all') return { kind: 'all' };
  // A decimal comma (3,5) reads as the ratings do (ratingValue).
  const rating = /^rating\s*>=\s*(-?[0-9]+([.,][0-9]+)?)$/.exec(s);
  if (rating) return { kind: 'rating', min: Number(rating[1].replace(',', '.')) };
  const action = /^actions?\s*=\s*(.+)$/.exec(s);
  if (action) {
    const parts = splitOutsideQuotes(action[1]);
    if (!parts) throw new PositiveRuleError(`--positive ${spec}: a quote is left open; quote a value that holds a comma: action=click,"add to cart, later"`);
    const quoted = parts.map(unquote);
    const bad = quoted.findIndex((v) => v === null);
    if (bad >= 0) throw new PositiveRuleError(`--positive ${spec}: ${parts[bad]} is not one quoted value; quote the whole value, as in action=click,"add to cart, later"`);
    const values = quoted as string[];
    if (values.some((v) => v === '')) throw new PositiveRuleError(`--positive ${spec}: an empty action value; expected action=V1,V2,…`);
    return { kind: 'actions', values };
  }
  throw new PositiveRuleError(`--positive expects all, rating>=N or action=V1,V2,… (e.g. rating>=4, action=click,buy), got '${spec}'`);
}

/** The rule as `--positive` spells it (for messages and the run recipe). */
export function formatPositiveRule(rule: PositiveRule): string {
  return rule.kind === 'all' ? 'all' : rule.kind === 'rating' ? `rating>=${rule.min}` : `action=${rule.values.map(quoteIfNeeded).join(',')}`;
}

/** Whether two rules mark the same events: action values compare as a set (`action=buy,click` is `action=click,buy`). */
export function samePositiveRule(a: PositiveRule, b: PositiveRule): boolean {
  if (a.kind === 'actions' && b.kind === 'actions') {
    const [x, y] = [[...new Set(a.values)].sort(), [...new Set(b.values)].sort()];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return formatPositiveRule(a) === formatPositiveRule(b);
}

/** True when the rule marks every event positive (today's behaviour: no mask at all). */
export function isAllPositive(rule: PositiveRule | undefined): boolean {
  return rule === undefined || rule.kind === 'all';
}

/**
 * A rating as written in an action column, or NaN: a decimal number ('4', '4.5'), or one with a
 * decimal comma ('4,5', as European exports write it; a comma inside one field cannot be a
 * separator). Hexadecimal and empty text are not ratings (Number() would read '0x10' and '').
 */
export function ratingValue(text: string): number {
  const t = text.trim();
  if (isDecimal(t)) return Number(t);
  return /^[+-]?\d+,\d+$/.test(t) ? Number(t.replace(',', '.')) : NaN;
}

/**
 * Per action token (0..A) whether it is positive under `rule`: [A+1] uint8, token 0 (padding) 0.
 * Throws DataFormatError (naming `file`, and the line where the first non-numeric value appears
 * when `firstLine` gives it: ActionLog.firstLine) when a rating rule meets a non-numeric action.
 */
export function positiveTokens(vocab: readonly string[], rule: PositiveRule, file: string, firstLine?: readonly number[]): Uint8Array {
  const out = new Uint8Array(vocab.length);
  const bad: number[] = [];
  for (let a = 1; a < vocab.length; a++) {
    if (rule.kind === 'all') out[a] = 1;
    else if (rule.kind === 'rating') {
      const x = ratingValue(vocab[a]);
      if (!Number.isFinite(x)) bad.push(a);
      out[a] = x >= rule.min ? 1 : 0;
    } else out[a] = rule.values.includes(vocab[a]) ? 1 : 0;
  }
  if (bad.length) {
    // The vocabulary is sorted; the file's order tells the user which row to look at first.
    const first = firstLine ? bad.reduce((a, b) => (firstLine[b] < firstLine[a] ? b : a)) : bad[0];
    const others = bad.length > 1 ? ` (and ${bad.length - 1} other non-numeric value${bad.length > 2 ? 's' : ''})` : '';
    throw new DataFormatError(file, firstLine ? firstLine[first] : null, `--positive ${formatPositiveRule(rule)} needs numeric ratings, but the action column has '${vocab[first]}'${others}; use action=V1,V2,… for named actions`);
  }
  return out;
}

/**
 * Sets ds.positive (per user, per event 1/0) and ds.positiveRule. A rule other than 'all'
 * needs ds.actions; 'all' leaves ds.positive unset so every later step behaves as without a rule.
 * Throws DataFormatError naming `file`, also when the rule matches no event.
 */
export function applyPositiveRule(ds: Dataset, rule: PositiveRule, file: string): void {
  if (isAllPositive(rule)) {
    ds.positiveRule = { kind: 'all' };
    return;
  }
  if (!ds.actions) throw new DataFormatError(file, null, `--positive ${formatPositiveRule(rule)} needs an action column (a rating or an event type), and this data has none`);
  const ok = positiveTokens(ds.actions.vocab, rule, file, ds.actions.firstLine);
  let any = 0;
  ds.positive = ds.actions.actions.map((a) => {
    const p = new Uint8Array(a.length);
    for (let j = 0; j < a.length; j++) any |= p[j] = ok[a[j]];
    return p;
  });
  if (!any) {
    const vocab = ds.actions.vocab;
    throw new DataFormatError(file, null, `--positive ${formatPositiveRule(rule)} matches no event: the action values are ${actionValueList(vocab)}`);
  }
  ds.positiveRule = rule;
}

/** The first 20 action values of an action vocabulary (token 0, padding, left out), each as --positive spells it, for messages. */
export function actionValueList(vocab: readonly string[]): string {
  return `${vocab.slice(1, 21).map(quoteIfNeeded).join(', ')}${vocab.length > 21 ? ', …' : ''}`;
}

/** Share of events that are positive (1 when there is no rule). */
export function positiveShare(ds: Dataset): number {
  if (!ds.positive) return 1;
  let pos = 0, all = 0;
  for (const p of ds.positive) {
    all += p.length;
    for (const v of p) pos += v;
  }
  return all === 0 ? 0 : pos / all;
}
