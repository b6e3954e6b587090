import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Directories may depend on each other in one direction only (docs/architecture.md).
// This reads every import of src/** and graphs/** and fails on any cycle between the
// top-level units: src/<dir>, graphs, and each file directly under src/.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative module specifiers of static imports, `export ... from` and dynamic `import()`. */
export function relativeImports(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) if (m[1].startsWith('.')) out.push(m[1]);
  return out;
}

/** src/<dir> for files below a src/ directory, `graphs` for graphs/**, else the file itself. */
function unitOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'graphs') return 'graphs';
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : path;
}

/** Directed edges between units, each with one file-level example. */
function unitEdges(files: readonly string[]): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of files) {
    for (const spec of relativeImports(readFileSync(join(ROOT, file), 'utf8'))) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
      const [a, b] = [unitOf(file), unitOf(target)];
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${file} -> ${target}`);
    }
  }
  return edges;
}

/** Every cycle's units in order (first unit repeated at the end), found by depth-first search. */
export function findCycles(edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (u: string) => {
    state.set(u, 'open');
    stack.push(u);
    for (const v of edges.get(u)?.keys() ?? []) {
      if (state.get(v) === 'open') cycles.push([...stack.slice(stack.indexOf(v)), v]);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, 'done');
  };
  for (const u of [...edges.keys()].sort()) if (!state.has(u)) visit(u);
  return cycles;
}

describe('architecture', () => {
  it('finds a cycle between directories when there is one, and none in a chain', () => {
    const e = (pairs: [string, string][]) => {
      const m = new Map<string, Map<string, string>>();
      for (const [a, b] of pairs) m.set(a, (m.get(a) ?? new Map<string, string>()).set(b, `${a}->${b}`));
      return m;
    };
    expect(findCycles(e([['src/runtime', 'src/eval'], ['src/eval', 'src/data']]))).to.deep.equal([]);
    expect(findCycles(e([['src/runtime', 'src/eval'], ['src/eval', 'src/data'], ['src/data', 'src/runtime']]))).to.deep.equal([['src/data', 'src/runtime', 'src/eval', 'src/data']]);
  });

  it('reads static, re-export, type-only and dynamic imports', () => {
    const src = "import { a } from './a.js';\nimport type { B } from '../b/b.js';\nexport { c } from '../c.js';\nimport {\n  d,\n} from '../d.js';\nconst e = await import('../e.js');\nimport 'node:fs';";
    expect(relativeImports(src).sort()).to.deep.equal(['../b/b.js', '../c.js', '../d.js', '../e.js', './a.js']);
  });

  it('has no import cycle between the top-level directories of src/ and graphs/', () => {
    const files = [...sourceFiles('src'), ...sourceFiles('graphs')];
    const edges = unitEdges(files);
    // Guards the check itself: the layers that must import each other one way do.
    expect(edges.get('src/runtime')?.has('src/eval'), 'runtime imports eval').to.equal(true);
    expect(edges.get('src/compiler')?.has('src/dsl'), 'compiler imports dsl').to.equal(true);
    const cycles = findCycles(edges);
    const explain = cycles.map((c) => c.slice(1).map((b, i) => edges.get(c[i])!.get(b)).join('; ')).join('\n');
    expect(cycles, `import cycles between directories:\n${explain}`).to.deep.equal([]);
  });
});
