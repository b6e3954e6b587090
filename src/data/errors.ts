import { ReclmError } from '../errors.js';

/** A data file does not match its format. The message names file, 1-based line, the text and what was expected. */
export class DataFormatError extends ReclmError {
  readonly file: string;
  readonly line: number | null;

  constructor(file: string, line: number | null, message: string) {
    super(line === null ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.file = file;
    this.line = line;
  }

  /** Error for one offending line: quotes the text (shortened) so the user can find it. */
  static atLine(file: string, line: number, text: string, expected: string): DataFormatError {
    const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    return new DataFormatError(file, line, `expected ${expected}, got ${JSON.stringify(shown)}`);
  }
}
