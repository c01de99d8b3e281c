import type { Summary } from './stats.js';

/** One goal of a report's Targets table. */
export interface Target {
  what: string;
  value: Summary;
  /** What the bracket of `value` spans (the min–max of the runs when not given). */
  spread?: string;
  /** `x` for a ratio, a unit otherwise. */
  show: (v: number) => string;
  ok: (v: number) => boolean;
  goal: string;
}
