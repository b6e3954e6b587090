/**
 * Hostfiles in the syntax shared by DeepSpeed and Open MPI: one host per line,
 * `HOST slots=N` (Open MPI's optional `max_slots=N` is accepted too), `#` starts a
 * comment, blank lines are ignored. And DeepSpeed's `--include` filter:
 * `host1:0,1@host2` keeps slots 0 and 1 of host1 and every slot of host2.
 */
import { readFileSync } from 'node:fs';
import { ReclmError } from '../errors.js';

export interface HostSlots {
  host: string;
  /** Ranks this host runs. */
  slots: number;
}

export interface HostfileEntry extends HostSlots {
  /** Open MPI's hard limit, when given. */
  maxSlots?: number;
  /** 1-based line in the file. */
  line: number;
}

/** A malformed hostfile or --include value; the message is one line naming the file and line. */
export class HostfileError extends ReclmError {}

/** A malformed `--include` value: a command-line error (exit 2), where a bad hostfile is a bad file (exit 1). */
export class IncludeError extends HostfileError {}

// Host names (RFC 1123 labels) and IPv4 addresses.
const HOST = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const EXPECTED = "expected 'HOST slots=N' (for example 'node1 slots=2')";

function positiveInt(s: string): number | null {
  return /^[1-9][0-9]*$/.test(s) ? Number(s) : null;
}

/**
 * Parses hostfile text. `file` names the file in error messages. Returns the hosts in file
 * order. Throws HostfileError (`FILE:LINE: what was expected, got '...'`) on a line that is
 * not `HOST slots=N [max_slots=M]`, a duplicate host, or a file without hosts.
 */
export function parseHostfile(text: string, file: string): HostfileEntry[] {
  const out: HostfileEntry[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const body = raw.replace(/#.*/, '').trim();
    if (!body) return;
    const where = `${file}:${line}`;
    const [host, ...fields] = body.split(/\s+/);
    if (!HOST.test(host)) throw new HostfileError(`${where}: '${host}' is not a host name or IPv4 address; ${EXPECTED}`);
    let slots: number | null = null;
    let maxSlots: number | undefined;
    for (const f of fields) {
      const m = /^(slots|max_slots)=(.*)$/.exec(f);
      if (!m) throw new HostfileError(`${where}: unknown field '${f}'; ${EXPECTED}`);
      const n = positiveInt(m[2]);
      if (n === null) throw new HostfileError(`${where}: ${m[1]} must be a positive integer, got '${m[2]}'`);
      if (m[1] === 'slots') slots = n;
      else maxSlots = n;
    }
    if (slots === null) throw new HostfileError(`${where}: no slots for '${host}'; ${EXPECTED}`);
    if (maxSlots !== undefined && maxSlots < slots) throw new HostfileError(`${where}: max_slots=${maxSlots} is below slots=${slots}`);
    const first = seen.get(host);
    if (first !== undefined) throw new HostfileError(`${where}: host '${host}' is listed twice (first on line ${first}); give it one line with its total slots`);
    seen.set(host, line);
    out.push({ host, slots, line, ...(maxSlots !== undefined ? { maxSlots } : {}) });
  });
  if (out.length === 0) throw new HostfileError(`${file}: no hosts; ${EXPECTED} on at least one line`);
  return out;
}

/**
 * Reads and parses the hostfile at `path` (parseHostfile). Throws HostfileError, one line
 * naming the file, when it cannot be read (missing, a folder, no permission) or is malformed.
 */
export function readHostfile(path: string): HostfileEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new HostfileError(`--hostfile ${path}: ${why}; expected a file with one 'HOST slots=N' per line`);
  }
  return parseHostfile(text, path);
}

/**
 * Applies DeepSpeed's `--include` filter: `@`-separated hosts, each optionally followed by
 * `:i,j,...` slot indices (0-based, below the host's slots). A host without indices keeps
 * all its slots. Returns the selected hosts in the filter's order with the number of
 * selected slots each. Throws HostfileError for unknown hosts, bad or duplicate indices.
 */
export function applyInclude(hosts: readonly HostSlots[], include: string): HostSlots[] {
  const byName = new Map(hosts.map((h) => [h.host, h]));
  const out: HostSlots[] = [];
  for (const part of include.split('@')) {
    const [host, list, ...more] = part.split(':');
    const entry = byName.get(host);
    if (!entry) throw new IncludeError(`--include: host '${host}' is not in the hostfile (hosts: ${hosts.map((h) => h.host).join(', ')}); expected 'host1:0,1@host2'`);
    if (out.some((h) => h.host === host)) throw new IncludeError(`--include: host '${host}' is named twice`);
    if (more.length) throw new IncludeError(`--include: '${part}' has more than one ':'; expected 'host:0,1'`);
    if (list === undefined) {
      out.push({ host, slots: entry.slots });
      continue;
    }
    const idx = list.split(',').map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : NaN));
    const bad = idx.findIndex((i) => !(i >= 0 && i < entry.slots));
    if (bad >= 0) throw new IncludeError(`--include: slot '${list.split(',')[bad]}' of '${host}' is not in 0..${entry.slots - 1} (the host has slots=${entry.slots})`);
    if (new Set(idx).size !== idx.length) throw new IncludeError(`--include: '${part}' names a slot twice`);
    out.push({ host, slots: idx.length });
  }
  return out;
}
