/**
 * Comma-separated flag values whose parts may themselves hold a comma (`--columns`, `--positive
 * action=…`): a part, or the value after its `=`, is wrapped in double quotes, CSV style (a quote
 * inside one is doubled), e.g. `--positive 'action=click,"add to cart, later"'`.
 */

/**
 * Splits `text` at the commas outside double quotes; each part is trimmed, its quotes kept
 * (`unquote` removes them). Returns null when a quote is left open.
 */
export function splitOutsideQuotes(text: string): string[] | null {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === ',' && !quoted) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (quoted) return null;
  parts.push(text.slice(start).trim());
  return parts;
}

/**
 * `"a, ""b"""` → `a, "b"`; text that does not start with a quote is returned trimmed, as it is.
 * Null for quoted text with more after its closing quote (`"Title, The"x`) or a lone quote inside.
 */
export function unquote(text: string): string | null {
  const t = text.trim();
  if (!t.startsWith('"')) return t;
  const inner = t.slice(1, -1);
  if (t.length < 2 || !t.endsWith('"') || inner.replaceAll('""', '').includes('"')) return null;
  return inner.replaceAll('""', '"');
}

/** The inverse of `unquote` for one value: quoted only when it holds a comma or a quote, or has surrounding spaces. */
export function quoteIfNeeded(value: string): string {
  return /[",]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
}
