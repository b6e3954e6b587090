import { ReclmError } from '../errors.js';

/** A failure of the collective layer that a user can act on (missing library, bad launch, an MPI error). */
export class CollectiveError extends ReclmError {}
