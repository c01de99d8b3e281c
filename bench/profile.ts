import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT } from './environment.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

/** Self time per function of a `.cpuprofile` (V8's sampling profile), largest first. */
export function selfTimes(path: string, top = 15): SelfTime[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, SelfTime>();
  let all = 0;
  // A sample stands for the time until the next one (as DevTools counts it): the gap before the
  // first sample is the profiler starting, not the program.
  profile.samples.forEach((id, i) => {
    const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = byNode.get(id)!.callFrame;
    const url = frame.url.startsWith('file://') ? relative(ROOT, new URL(frame.url).pathname) : frame.url;
    const where = url === '' ? '' : `${url}:${frame.lineNumber + 1}`;
    const name = frame.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = totals.get(key) ?? { name, where, ms: 0, share: 0 };
    entry.ms += delta;
    totals.set(key, entry);
    all += delta;
  });
  return [...totals.values()]
    .map((entry) => ({ ...entry, share: entry.ms / all }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}
