// The one base class of reclm's user-facing errors. The command line reports a ReclmError as
// one line with a non-zero exit and no stack trace; any other error (a RangeError inside the
// runtime, a TypeError) is a bug and keeps its stack.

/** A failure the user can act on (bad input, a missing file, a conflicting flag); the message is one line saying what to do. */
export class ReclmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Subclasses get their own name without repeating it (DataFormatError, TrainError, ...).
    this.name = new.target.name;
  }
}

/** A flag or argument value that cannot work (out of range, contradicting another flag or a stored run). */
export class UsageError extends ReclmError {}
