// English plurals for counts in messages ("1 value", "2 values"), by Intl's CLDR plural rules.
const RULES = new Intl.PluralRules('en-US');

/**
 * The noun for `n` things: `singular` when n is one (CLDR's 'one' category for English), else
 * `plural` (default: singular + 's'). n is a count, any finite number.
 */
export function noun(n: number, singular: string, plural = `${singular}s`): string {
  return RULES.select(n) === 'one' ? singular : plural;
}

/** `n` and its noun: count(1, 'value') is '1 value', count(3, 'value') is '3 values'. */
export function count(n: number, singular: string, plural?: string): string {
  return `${n} ${noun(n, singular, plural)}`;
}

/** `word` with its indefinite article, by its first letter: withArticle('item') is 'an item', withArticle('user') is 'a user'. */
export function withArticle(word: string): string {
  return `${/^[aeio]/i.test(word) ? 'an' : 'a'} ${word}`;
}
