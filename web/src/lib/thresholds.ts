// Thresholds of analysis conditions, for chart reference lines. The server parses them
// (MetricView.successThresholds/failureThresholds); this mirror handles older servers and
// is unit-tested against the same cases.

import type { Threshold } from '../api/protocol';

const OPS = ['<=', '>=', '==', '!=', '<', '>'] as const;
const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' };
const KEY = /^result([.[][\w\]."'[-]*)?$/;

function num(s: string): number | null {
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** Parses simple comparisons (`result[0] >= 0.95`, `0.9 < result`) joined by `&&`/`||`. */
export function parseThresholds(condition: string | null | undefined): Threshold[] {
  if (!condition) return [];
  const out: Threshold[] = [];
  for (const rawPart of condition.split(/&&|\|\|/)) {
    const part = rawPart.trim().replace(/^\(+|\)+$/g, '').trim();
    for (const op of OPS) {
      const i = part.indexOf(op);
      if (i < 0) continue;
      const left = part.slice(0, i).trim();
      const right = part.slice(i + op.length).trim();
      if (right.startsWith('=')) break;
      const rn = num(right);
      const ln = num(left);
      if (KEY.test(left) && rn !== null) out.push({ key: left, op, value: rn });
      else if (KEY.test(right) && ln !== null) out.push({ key: right, op: FLIP[op] ?? op, value: ln });
      break;
    }
  }
  return out;
}

/** Whether `value` satisfies `t`. */
export function thresholdHolds(t: Threshold, value: number): boolean {
  switch (t.op) {
    case '<': return value < t.value;
    case '<=': return value <= t.value;
    case '>': return value > t.value;
    case '>=': return value >= t.value;
    case '==': return value === t.value;
    case '!=': return value !== t.value;
    default: return false;
  }
}
