import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../src/activities';
import type { Services } from '../../src/services';
import * as definitions from '../../src/shared/definitions';
import { SA } from '../../src/shared/search-attributes';

const ROOT = path.resolve(__dirname, '../..');
const DOCS = path.join(ROOT, 'docs');

const markdownFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? markdownFiles(path.join(dir, entry.name))
      : entry.name.endsWith('.md')
        ? [path.join(dir, entry.name)]
        : [],
  );

const docs = markdownFiles(DOCS).map((file) => ({
  name: path.relative(ROOT, file),
  dir: path.dirname(file),
  text: readFileSync(file, 'utf8'),
}));

/** Whether a repository path a doc names exists: a file, a `dir/*.ext` glob with a match, or (for `dir/`) its parent. */
function exists(repoPath: string): boolean {
  const absolute = path.join(ROOT, repoPath);
  if (repoPath.includes('*')) {
    const dir = path.dirname(absolute);
    const pattern = new RegExp(
      `^${path
        .basename(absolute)
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')}$`,
    );
    return existsSync(dir) && readdirSync(dir).some((name) => pattern.test(name));
  }
  // A trailing slash names an output directory (e.g. bench/results/) that a run creates.
  if (repoPath.endsWith('/')) return existsSync(absolute) || existsSync(path.dirname(absolute));
  return existsSync(absolute);
}

/** A stand-in for every dependency: the activity factories only need something to close over. */
const anything: unknown = new Proxy(function stub() {}, {
  get: (_target, prop) => (prop === 'then' ? undefined : anything),
  apply: () => anything,
});

describe('references from docs/ into the repository', () => {
  it('when a doc names a repository path in backticks, then that path exists', () => {
    const named = docs.flatMap(({ name, text }) =>
      [...text.matchAll(/`((?:src|test|scripts|docs|bench)\/[^`\s]*)`/g)].map((m) => ({ name, repoPath: m[1]! })),
    );
    expect(named.length).toBeGreaterThan(10);
    expect(
      named.filter(({ repoPath }) => !exists(repoPath)).map(({ name, repoPath }) => `${name}: ${repoPath}`),
    ).toEqual([]);
  });

  it('when a doc links to a relative file, then the file exists', () => {
    const links = docs.flatMap(({ name, dir, text }) =>
      [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((target) => !/^[a-z][a-z+.-]*:/i.test(target))
        .map((target) => ({ name, target, absolute: path.resolve(dir, target) })),
    );
    expect(links.length).toBeGreaterThan(0);
    expect(
      links.filter(({ absolute }) => !existsSync(absolute)).map(({ name, target }) => `${name}: ${target}`),
    ).toEqual([]);
  });

  it('when a sequence diagram has an activity participant, then the worker registers an activity of that name', () => {
    const registered = Object.keys(createActivities(anything as Services));
    const named = docs.flatMap(({ name, text }) =>
      [...text.matchAll(/^\s*participant\s+\w+\s+as\s+Activity\s+(\w+)\s*$/gm)].map((m) => ({ name, activity: m[1]! })),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter(({ activity }) => !registered.includes(activity))).toEqual([]);
  });

  it('when operations.md filters workflows, then every attribute is a Temporal built-in or one the workflows set', () => {
    const builtIn = ['WorkflowId', 'WorkflowType', 'RunId', 'ExecutionStatus', 'StartTime', 'CloseTime', 'TaskQueue'];
    const known = new Set([...builtIn, ...Object.values(SA).map((key) => key.name)]);
    const queries = docs.flatMap(({ name, text }) =>
      [...text.matchAll(/--query '([^']+)'/g)].map((m) => ({ name, query: m[1]! })),
    );
    expect(queries.length).toBeGreaterThan(0);
    const unknown = queries.flatMap(({ name, query }) =>
      [...query.replace(/"[^"]*"/g, '""').matchAll(/\b([A-Z][A-Za-z]+)\s*(?:=|<|>|!=|STARTS_WITH|IN\b)/g)]
        .map((m) => m[1]!)
        .filter((attribute) => !known.has(attribute))
        .map((attribute) => `${name}: ${attribute} in ${query}`),
    );
    expect(unknown).toEqual([]);
  });

  it('when operations.md queries a workflow, then the query type is one the workflows define', () => {
    const defined = new Set(
      Object.values(definitions as Record<string, { type?: unknown; name?: unknown }>)
        .filter((d) => d.type === 'query')
        .map((d) => String(d.name)),
    );
    const used = docs.flatMap(({ name, text }) =>
      [...text.matchAll(/temporal workflow query [^\n]*--type (\w+)/g)].map((m) => ({ name, type: m[1]! })),
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter(({ type }) => !defined.has(type))).toEqual([]);
  });
});
