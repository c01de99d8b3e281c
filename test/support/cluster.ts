import type { Type } from '@nestjs/common';
import { startApp, type TestApp } from './app.js';
import type { RoomsAdapterOptions } from '../../lib/index.js';

/** Starts `count` apps of `moduleFor()` (each its own Nest app: its own server of the cluster). */
export async function startCluster(
  count: number,
  moduleFor: (index: number) => Type,
  adapterOptions: RoomsAdapterOptions = {},
): Promise<TestApp[]> {
  const apps: TestApp[] = [];
  for (let index = 0; index < count; index++) apps.push(await startApp(moduleFor(index), adapterOptions));
  return apps;
}

export async function closeCluster(apps: TestApp[]): Promise<void> {
  await Promise.all(apps.map((app) => app.close()));
}

export function nodeIdOf(app: TestApp): string {
  return app.cluster().id;
}
