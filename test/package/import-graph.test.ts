import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports of a file, type-only ones included (`import type`, `export type … from`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const [, specifier] of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"](\.[^'"]+)['"]/g)) {
    found.push(resolve(dirname(file), specifier!.replace(/\.js$/, '.ts')));
  }
  return found;
}

/** The cycles of the graph, each as a list of files (one per strongly connected component). */
function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm: a component of more than one file, or a file importing itself, is a cycle.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indices.get(next)!));
    }
    if (low.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop()!; ; member = stack.pop()!) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component);
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

describe('import graph', () => {
  // A newcomer reads a module from its imports down: a cycle (type-only ones too) means no order
  // to read it in. `npx madge --circular --extensions ts src` shows the same from outside.
  it('has no import cycles anywhere in src, type-only imports included', () => {
    const graph = new Map(sources(src).map((file) => [file, importsOf(file)]));
    assert.ok(graph.size > 50, `found only ${graph.size} files`);
    const found = cycles(graph).map((component) => component.map((file) => relative(root, file)).sort());
    assert.deepEqual(found, []);
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    assert.deepEqual(cycles(graph).map((c) => c.sort()), [['a', 'b', 'c']]);
  });
});
