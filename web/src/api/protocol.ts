// The WebSocket protocol (version 5): the message and view-model types generated from the
// server's Rust types, and the few helpers the web app needs around them.

export const PROTOCOL_VERSION = 5;

// The view model, health and messages are generated from the Rust types by ts-rs
// (src/protocol.rs, `cargo test --lib typescript`) into ./generated: never edit them by hand.
export type { ImageInfo } from './generated/ImageInfo';
export type { PodBrief } from './generated/PodBrief';
export type { PodView } from './generated/PodView';
export type { ReplicaSetBrief } from './generated/ReplicaSetBrief';
export type { ReplicaSetView } from './generated/ReplicaSetView';
export type { Replicas } from './generated/Replicas';
export type { RolloutSummary } from './generated/RolloutSummary';
export type { PauseKind } from './generated/PauseKind';
export type { AttentionKind } from './generated/AttentionKind';
export type { ActionVerdict } from './generated/ActionVerdict';
export type { StepView } from './generated/StepView';
export type { WaitingKind } from './generated/WaitingKind';
export type { WaitingView } from './generated/WaitingView';
export type { EventView } from './generated/EventView';
export type { HistoryView } from './generated/HistoryView';
export type { ContainerView } from './generated/ContainerView';
export type { WorkloadRefView } from './generated/WorkloadRefView';
export type { WeightDestination } from './generated/WeightDestination';
export type { TrafficWeights } from './generated/TrafficWeights';
export type { CanaryView } from './generated/CanaryView';
export type { BlueGreenView } from './generated/BlueGreenView';
export type { AnalysisRefView } from './generated/AnalysisRefView';
export type { ConditionView } from './generated/ConditionView';
export type { PauseConditionView } from './generated/PauseConditionView';
export type { RevisionView } from './generated/RevisionView';
export type { ArgView } from './generated/ArgView';
export type { Threshold } from './generated/Threshold';
export type { MeasurementView } from './generated/MeasurementView';
export type { MetricView } from './generated/MetricView';
export type { JobInfo } from './generated/JobInfo';
export type { NonJobInfo } from './generated/NonJobInfo';
export type { AnalysisRunView } from './generated/AnalysisRunView';
export type { ExperimentView } from './generated/ExperimentView';
export type { RolloutDetail } from './generated/RolloutDetail';
export type { SourceKind } from './generated/SourceKind';
export type { Problem } from './generated/Problem';
export type { ProblemCode } from './generated/ProblemCode';
export type { KindHealth } from './generated/KindHealth';
export type { Kind } from './generated/Kind';
export type { Health } from './generated/Health';
export type { ClusterState } from './generated/ClusterState';
export type { ClusterStatus } from './generated/ClusterStatus';
export type { ClientMsg } from './generated/ClientMsg';
export type { JsonPatchOp } from './generated/JsonPatchOp';
export type { ServerMsg } from './generated/ServerMsg';

import type { ServerMsg } from './generated/ServerMsg';

/** Parses one message; `null` for anything that is not a known message. */
export function parseServerMsg(text: string): ServerMsg | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return knownMsg(value, true);
}

/**
 * The message if its type is known. A `batch` (protocol 5: every frame of one flush of the
 * server, in order) keeps its known frames, never a nested batch.
 */
function knownMsg(value: unknown, batchAllowed: boolean): ServerMsg | null {
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  switch (type) {
    case 'hello':
    case 'status':
    case 'snapshot':
    case 'snapshotBegin':
    case 'snapshotPage':
    case 'snapshotEnd':
    case 'upsert':
    case 'patch':
    case 'delete':
    case 'detail':
    case 'detailPatch':
    case 'notFound':
    case 'heartbeat':
    case 'error':
      return value as ServerMsg;
    case 'batch': {
      const frames = (value as { frames?: unknown }).frames;
      if (!batchAllowed || !Array.isArray(frames)) return null;
      const known: ServerMsg[] = [];
      for (const f of frames) {
        const msg = knownMsg(f, false);
        if (msg) known.push(msg);
      }
      return { type: 'batch', frames: known };
    }
    default:
      return null;
  }
}

/** Messages as the frames they carry, in order: a `batch`'s frames take its place. */
export function unbatch(msgs: readonly ServerMsg[]): ServerMsg[] {
  const out: ServerMsg[] = [];
  for (const m of msgs) {
    if (m.type === 'batch') {
      for (const f of m.frames) if (f.type !== 'batch') out.push(f);
    } else out.push(m);
  }
  return out;
}

/** What identifies a rollout: its cluster, namespace and name (protocol 5). */
export interface RolloutId {
  cluster: string;
  namespace: string;
  name: string;
}

/**
 * Identity of a rollout in maps and favorites: `cluster/namespace/name`. Namespaces and names
 * never hold a slash (a cluster's name may: a kubeconfig context such as an EKS ARN), so the
 * last two slashes split a key back ([`splitKey`]).
 */
export function rolloutKey(cluster: string, namespace: string, name: string): string {
  return `${cluster}/${namespace}/${name}`;
}

/** [`rolloutKey`] of a summary (or anything with the three fields). */
export function keyOf(r: RolloutId): string {
  return `${r.cluster}/${r.namespace}/${r.name}`;
}

/** The inverse of [`rolloutKey`]; null for a string with fewer than two slashes. */
export function splitKey(key: string): RolloutId | null {
  const last = key.lastIndexOf('/');
  const mid = last > 0 ? key.lastIndexOf('/', last - 1) : -1;
  if (mid < 0) return null;
  return { cluster: key.slice(0, mid), namespace: key.slice(mid + 1, last), name: key.slice(last + 1) };
}

/** A rollout's REST path, relative to the base href: `api/v1/clusters/{cluster}/namespaces/{ns}/rollouts/{name}`. */
export function rolloutPath(id: RolloutId): string {
  return `api/v1/clusters/${encodeURIComponent(id.cluster)}/namespaces/${encodeURIComponent(id.namespace)}/rollouts/${encodeURIComponent(id.name)}`;
}
