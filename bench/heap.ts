import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  what: string;
  count: number;
  bytes: number;
}

/** Self sizes of a V8 heap snapshot grouped by constructor (strings, arrays, closures by kind). */
function heapGroups(path: string): Map<string, HeapGroup> {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]];
    const name = heap.strings[heap.nodes[i + nameAt]];
    const what =
      type === 'object' || type === 'native'
        ? name
        : type === 'closure'
          ? `closure ${name || '(anonymous)'}`
          : type === 'hidden' || type === 'array' || type === 'code' || type === 'object shape'
            ? `(${type}) ${name}`.slice(0, 80)
            : `(${type})`;
    const group = groups.get(what) ?? { what, count: 0, bytes: 0 };
    group.count++;
    group.bytes += heap.nodes[i + sizeAt];
    groups.set(what, group);
  }
  return groups;
}

/** What `sockets` connections added between two snapshots, per socket, largest first. */
export function heapPerSocket(before: string, after: string, sockets: number): HeapGroup[] {
  const base = heapGroups(before);
  return [...heapGroups(after).values()]
    .map((group) => ({
      what: group.what,
      count: (group.count - (base.get(group.what)?.count ?? 0)) / sockets,
      bytes: (group.bytes - (base.get(group.what)?.bytes ?? 0)) / sockets,
    }))
    .sort((a, b) => b.bytes - a.bytes);
}
