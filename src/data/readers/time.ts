/**
 * Event times: the text of a time field, and the unit of a whole time column.
 *
 * A time is unix seconds (a number) or an ISO 8601 date. Other date text is refused rather than
 * guessed: `11/06/2017` is November 6 in the US and June 11 in Europe, and a misread day reorders
 * a user's history silently, changing which item becomes the test target.
 */
import { DataFormatError } from '../errors.js';
import type { GrowableFloat64 } from './interactions.js';

/** YYYY-MM-DD, optionally with [T ]HH:MM[:SS[.fff]] and a zone (Z, ±HH:MM, ±HHMM, ±HH). */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** A decimal number, as unix seconds are written (an exponent allowed: 1.49717e9). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Whether `text` is a decimal number: Number() would also read '0x10' as 16 and '' as 0. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/** How a time field must look, for error messages. */
export const TIME_FORMS = 'unix seconds or an ISO 8601 date such as 2017-06-11 or 2017-06-11T08:30:00Z';

/**
 * Unix seconds from a time field: a number as it is, or an ISO 8601 date (a date without a zone
 * is UTC, so the result does not depend on the machine's time zone); NaN for anything else,
 * including dates in other orders (11/06/2017) and impossible dates (2017-02-30).
 */
export function parseTime(v: string): number {
  const t = v.trim();
  if (t === '') return NaN;
  if (isDecimal(t)) return Number.isFinite(Number(t)) ? Number(t) : NaN;
  const m = ISO_DATE.exec(t);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const fraction = m[7] ? Number(`0.${m[7]}`) : 0;
  if (!isCalendarDay(y, mo, d) || h > 23 || mi > 59 || s > 60) return NaN;
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000 + fraction - zoneSeconds(m[8]);
}

/** Whether year `y`, month `mo` (1-12) and day `d` name a day: Date.UTC rolls 2017-02-30 over to March 2, so a date that does not round-trip does not exist. */
function isCalendarDay(y: number, mo: number, d: number): boolean {
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

/**
 * Why a field that parseTime refused is not a time, as a clause to follow "expected a time (...)"
 * in an error message, or '' when its form says nothing more. Names the part at fault, so that a
 * user with 40 million rows need not guess whether the date, the time of day or the zone is wrong.
 */
export function whyNotTime(v: string): string {
  const t = v.trim();
  if (/^\d{1,4}[/.]\d{1,2}[/.]\d{1,4}/.test(t)) {
    return `; slash and dot dates such as "${t}" are not read, as their form does not say whether the day or the month comes first: write YYYY-MM-DD`;
  }
  const m = ISO_DATE.exec(t);
  if (!m) return '';
  if (Number.isNaN(zoneSeconds(m[8]))) return `; its zone offset ${m[8]} is one no place uses (offsets lie within ±14:00, minutes below 60)`;
  if (!isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3]))) return `; ${m[1]}-${m[2]}-${m[3]} is not a day of the calendar`;
  return `; ${m[4]}:${m[5]}${m[6] === undefined ? '' : `:${m[6]}`} is not a time of day`;
}

/**
 * The offset of a zone designator from UTC, in seconds (east positive); 0 for none or Z; NaN for
 * an offset no zone has (hours past 14, the widest real offset being UTC+14:00, or minutes past
 * 59), which would otherwise shift the time silently and could reorder a user's history.
 */
function zoneSeconds(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const mins = Number(digits.slice(2) || 0);
  if (hours > 14 || mins > 59 || (hours === 14 && mins > 0)) return NaN;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + mins) * 60;
}

/**
 * Unix seconds from a column of numbers that may be milliseconds or microseconds, as many event
 * logs store them. The unit is read off the largest value: 1e11 s is the year 5138, so a column
 * reaching it is milliseconds (1e14 and above: microseconds), and is divided in place. Returns
 * the unit found ('ms', 'µs') or null for seconds. HSTU's time bias buckets the gaps in seconds,
 * so a column left in milliseconds would shift every gap by a factor of 1000. Throws
 * DataFormatError (naming `file`) for a column that mixes seconds and milliseconds.
 */
export function timesToSeconds(time: GrowableFloat64, file: string): 'ms' | 'µs' | null {
  const values = time.view();
  let max = -Infinity;
  let min = Infinity;
  for (const v of values) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const unit = max >= 1e14 ? 'µs' : max >= 1e11 ? 'ms' : null;
  // Seconds up to 2286 are below 1e10, and milliseconds from 1973 on above 1e11: a column with
  // both is two units, and one scale for all would misorder the events.
  if (unit === 'ms' && min > 0 && min < 1e10) {
    throw new DataFormatError(file, null, `its times mix units: some are unix seconds (as small as ${min}), others milliseconds (as large as ${max}); give one unit for the whole column`);
  }
  if (unit) {
    const scale = unit === 'µs' ? 1e6 : 1e3;
    for (let i = 0; i < values.length; i++) values[i] /= scale;
  }
  return unit;
}
