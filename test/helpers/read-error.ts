import { expect } from 'chai';
import { DataFormatError, readDataset, type ReadOptions } from '../../src/data/index.js';

/** The DataFormatError reading `path` throws; fails the test when it reads, or throws anything else. */
export function readError(path: string, opts: ReadOptions = {}): DataFormatError {
  try {
    readDataset(path, opts);
  } catch (e) {
    expect(e).to.be.instanceOf(DataFormatError);
    return e as DataFormatError;
  }
  throw new Error(`expected ${path} to be refused`);
}
