/** A failure of the collective layer that a user can act on (missing library, bad launch, an MPI error). */
export class CollectiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CollectiveError';
  }
}
