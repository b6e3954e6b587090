/**
 * A zip archive passed as a data file (the MovieLens downloads are zips): the interaction member
 * is chosen by name and decompressed with fflate, a dependency-free, synchronous zip reader.
 *
 * Rule: among the archive's files (folders and macOS `__MACOSX/` metadata skipped), the member
 * whose base name is `ratings.dat` (ML-1M/10M), `u.data` (ML-100K), `ratings.csv` (ML-latest,
 * ML-20M/25M/32M) or ends in `.inter` (RecBole) is read. An archive holding a single file reads
 * that file. Anything else (no such member, or several) stops with the list of members.
 */
import { unzipSync } from 'fflate';
import { DataFormatError } from '../errors.js';

const RATINGS_NAMES = ['ratings.dat', 'u.data', 'ratings.csv'];

function isRatingsMember(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  return RATINGS_NAMES.includes(base) || base.endsWith('.inter');
}

/** Names of the archive's files (no folders, no `__MACOSX/` metadata), in archive order. */
export function zipMembers(file: string, bytes: Uint8Array): string[] {
  const names: string[] = [];
  try {
    unzipSync(bytes, {
      filter: (f) => {
        if (!f.name.endsWith('/') && !f.name.startsWith('__MACOSX/')) names.push(f.name);
        return false; // list only; nothing is decompressed
      },
    });
  } catch (e) {
    throw new DataFormatError(file, null, `looks like a zip archive but cannot be read: ${(e as Error).message}`);
  }
  return names;
}

/** The interaction member of a zip archive, decompressed. Throws DataFormatError naming the members when none or several fit. */
export function unzipMember(file: string, bytes: Uint8Array): { name: string; bytes: Uint8Array } {
  const members = zipMembers(file, bytes);
  const fits = members.filter(isRatingsMember);
  const list = (names: string[]) => (names.length > 20 ? `${names.slice(0, 20).join(', ')}, … (${names.length} in all)` : names.join(', '));
  let name: string;
  if (fits.length === 1) name = fits[0];
  else if (fits.length === 0 && members.length === 1) name = members[0];
  else if (fits.length > 1) {
    throw new DataFormatError(file, null, `zip archive with several interaction files (${list(fits)}); extract the one to read (unzip -p ${file} MEMBER > FILE) and pass that file`);
  } else {
    const held = members.length ? `it holds ${list(members)}` : 'it is empty';
    throw new DataFormatError(file, null, `zip archive without an interaction file named ${RATINGS_NAMES.join(', ')} or *.inter (${held}); extract the interaction file (unzip -p ${file} MEMBER > FILE) and pass that file`);
  }
  let out: Uint8Array | undefined;
  try {
    out = unzipSync(bytes, { filter: (f) => f.name === name })[name];
  } catch (e) {
    throw new DataFormatError(file, null, `cannot decompress ${name} from the zip archive: ${(e as Error).message}`);
  }
  if (!out) throw new DataFormatError(file, null, `cannot decompress ${name} from the zip archive`);
  return { name, bytes: out };
}
