import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layers of the source (docs/architecture.md): util and aws at the bottom, the bucket's I/O (lib/bucket)
 * above them, the deploy's pure planning and its phases above that, releases (rollback, promote) above the
 * deploy's parts but never its top-level orchestration; and no two modules that import each other, by any path.
 */
const src = __dirname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'files' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Each module's relative imports (type-only ones too: they tie modules as much for a reader), as paths below src. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) =>
      relative(src, resolve(dirname(file), m[1])),
    );
    graph.set(relative(src, file).replace(/\.ts$/, ''), imports);
  }
  return graph;
}

const graph = importGraph();

it('has no import cycles', () => {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (module: string, path: string[]) => {
    if (state.get(module) === 'done') return;
    if (state.get(module) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(module)), module]);
      return;
    }
    state.set(module, 'visiting');
    for (const next of graph.get(module) ?? []) visit(next, [...path, module]);
    state.set(module, 'done');
  };
  for (const module of graph.keys()) visit(module, []);
  expect(cycles).toEqual([]);
});

it.each([
  ['lib/bucket', ['lib/deploy', 'lib/releases', 'lib/invalidate', 'lib/nx', 'executors', 'generators']],
  ['lib/deploy', ['lib/invalidate', 'lib/nx', 'executors', 'generators']],
  ['lib/deploy/phases', ['lib/deploy/deploy']],
  ['lib/releases', ['lib/deploy/deploy', 'lib/deploy/phases', 'executors', 'generators']],
  ['lib/util', ['lib/aws', 'lib/bucket', 'lib/deploy', 'lib/releases', 'lib/invalidate']],
])('%s imports nothing from %j', (layer, above) => {
  const crossings = [...graph]
    .filter(([module]) => module.startsWith(`${layer}/`))
    .flatMap(([module, imports]) =>
      imports.filter((i) => above.some((a) => i === a || i.startsWith(`${a}/`))).map((i) => `${module} → ${i}`),
    );
  expect(crossings).toEqual([]);
});

it('the deploy reads top to bottom: deploy.ts runs the phases, each a file of about a screen', () => {
  const phases = readdirSync(join(src, 'lib/deploy/phases')).filter((f) => !f.endsWith('.spec.ts'));
  const long = phases.filter((f) => readFileSync(join(src, 'lib/deploy/phases', f), 'utf8').split('\n').length > 90);
  expect(long).toEqual([]);
  const top = graph.get('lib/deploy/deploy')!;
  for (const phase of ['scan', 'compare', 'plan', 'transfer', 'prune', 'record', 'report'])
    expect(top).toContain(`lib/deploy/phases/${phase}`);
});
