import type { RolloutSummary } from '../src/api/protocol';

export function summary(over: Partial<RolloutSummary> = {}): RolloutSummary {
  return {
    cluster: 'prod-eu', namespace: 'default', name: 'web', uid: 'u', resourceVersion: '1', labels: {}, createdAt: null,
    generation: 1, observedGeneration: '1', strategy: 'Canary', status: 'Healthy', message: '',
    step: '8/8', stepIndex: 8, stepCount: 8, setWeight: 100, actualWeight: 100, images: [],
    replicas: { desired: 1, current: 1, updated: 1, ready: 1, available: 1 }, replicaSets: [],
    currentPodHash: 'abc', stableRs: 'abc', paused: false, aborted: false, pauseReasons: [],
    reason: '', needsAttention: false, attentionReason: null, analysisStatus: null,
    restartedAt: null, pauseUntil: null, pauseKind: null, attentionKind: null, waiting: null, ...over,
  };
}

/** mulberry32: a small seeded generator, so that a failure replays exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
