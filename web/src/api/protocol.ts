// The WebSocket protocol (version 3) and the view-model JSON shapes, mirrored from
// src/protocol.rs, src/health.rs and src/view/*.rs. Keep both sides in sync.

export const PROTOCOL_VERSION = 3;

// ---- view model (src/view) -------------------------------------------------------------

export interface ImageInfo {
  image: string;
  /** Roles (`stable`, `canary`, `active`, `preview`, `ping`, `pong`) or `Σ:<template>`. */
  tags: string[];
}

export interface PodBrief {
  name: string;
  status: string;
  ready: string;
  restarts: number;
  /** `pending` | `success` | `failure` | `warning` | `unknown`. */
  iconClass: string;
}

export interface PodView extends PodBrief {
  namespace: string;
  uid: string;
  createdAt: string | null;
  icon: string;
  nodeName: string | null;
}

export interface ReplicaSetBrief {
  name: string;
  revision: number;
  /** `Healthy` | `Progressing` | `ScaledDown` | `ReplicaFailure`. */
  status: string;
  roles: string[];
  replicas: number;
  available: number;
  scaleDownDeadline: string | null;
  pods: PodBrief[];
}

export interface ReplicaSetView {
  name: string;
  namespace: string;
  uid: string;
  createdAt: string | null;
  revision: number;
  status: string;
  roles: string[];
  podTemplateHash: string | null;
  desired: number | null;
  replicas: number;
  ready: number;
  available: number;
  template: string | null;
  scaleDownDeadline: string | null;
  images: string[];
  initContainerImages: string[];
  pods: PodView[];
}

export interface Replicas {
  desired: number;
  current: number;
  updated: number;
  ready: number;
  available: number;
}

export interface RolloutSummary {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  labels: Record<string, string>;
  createdAt: string | null;
  generation: number | null;
  observedGeneration: string | null;
  /** `Canary` | `BlueGreen` | empty. */
  strategy: string;
  /** `Healthy` | `Progressing` | `Paused` | `Degraded` (or what a controller writes). */
  status: string;
  message: string;
  step: string | null;
  stepIndex: number | null;
  stepCount: number;
  setWeight: number | null;
  actualWeight: number | null;
  images: ImageInfo[];
  replicas: Replicas;
  replicaSets: ReplicaSetBrief[];
  currentPodHash: string | null;
  stableRs: string | null;
  paused: boolean;
  aborted: boolean;
  pauseReasons: string[];
  reason: string;
  needsAttention: boolean;
  attentionReason: string | null;
  analysisStatus: string | null;
  restartedAt: string | null;
  pauseUntil: string | null;
  /** Why it is paused (status Paused only): decide from this, never from `reason`. */
  pauseKind: PauseKind | null;
  /** The type of `attentionReason`. */
  attentionKind: AttentionKind | null;
}

/** `person`: spec.paused; `timed`: resumes by itself at `pauseUntil`; `promotion`: waits for a promote. */
export type PauseKind = 'person' | 'timed' | 'promotion' | 'inconclusive' | 'other';

export type AttentionKind = 'aborted' | 'degraded' | 'analysisFailed' | 'inconclusive' | 'pausedByPerson' | 'waitingForPromotion' | 'unrecognized';

/** Whether an action applies now (src/view/applicability.rs); `reason` says why not. */
export interface ActionVerdict {
  enabled: boolean;
  reason: string | null;
}

export interface StepView {
  index: number;
  /** `setWeight` | `pause` | `analysis` | `experiment` | `setCanaryScale` | `setHeaderRoute`
   *  | `setMirrorRoute` | `plugin` | `unknown`. */
  kind: string;
  label: string;
  /** `done` | `current` | `pending`. */
  state: string;
  durationSeconds: number | null;
  startedAt: string | null;
  endsAt: string | null;
  raw: unknown;
}

export interface ContainerView {
  name: string;
  image: string;
}

export interface WorkloadRefView {
  apiVersion: string;
  kind: string;
  name: string;
}

export interface WeightDestination {
  weight: number;
  serviceName: string | null;
  podTemplateHash: string | null;
}

export interface CanaryView {
  canaryService: string | null;
  stableService: string | null;
  trafficRouting: string[];
  maxTrafficWeight: number | null;
  pingPong: boolean;
  stablePingPong: string | null;
  backgroundAnalysis: string[];
  currentExperiment: string | null;
  weights: { canary: WeightDestination; stable: WeightDestination } | null;
}

export interface BlueGreenView {
  activeService: string | null;
  previewService: string | null;
  activeSelector: string | null;
  previewSelector: string | null;
  autoPromotionEnabled: boolean;
  autoPromotionSeconds: number | null;
  autoPromotionDeadline: string | null;
  scaleDownDelaySeconds: number | null;
  /** Desired replicas of the preview ReplicaSet. */
  previewReplicas: number | null;
  prePromotionAnalysis: string[];
  postPromotionAnalysis: string[];
}

export interface AnalysisRefView {
  /** `step` | `background` | `prePromotion` | `postPromotion`. */
  kind: string;
  name: string;
  status: string;
  message: string | null;
}

export interface ConditionView {
  type: string;
  status: string;
  reason: string | null;
  message: string | null;
  lastTransitionTime: string | null;
  lastUpdateTime: string | null;
}

export interface PauseConditionView {
  reason: string;
  startTime: string | null;
}

export interface RevisionView {
  revision: number;
  current: boolean;
  images: ImageInfo[];
  replicaSets: ReplicaSetView[];
  analysisRuns: string[];
  experiments: string[];
}

export interface ArgView {
  name: string;
  value: string | null;
  valueFrom: string | null;
}

export interface Threshold {
  key: string;
  /** `<`, `<=`, `>`, `>=`, `==`, `!=`, with the key on the left. */
  op: string;
  value: number;
}

export interface MeasurementView {
  phase: string | null;
  value: string | null;
  numericValue: number | null;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  jobName: string | null;
  jobNamespace: string | null;
}

export interface MetricView {
  name: string;
  provider: string | null;
  query: string | null;
  successCondition: string | null;
  failureCondition: string | null;
  successThresholds: Threshold[];
  failureThresholds: Threshold[];
  count: number | null;
  failureLimit: number | null;
  inconclusiveLimit: number | null;
  consecutiveErrorLimit: number | null;
  interval: string | null;
  initialDelay: string | null;
  phase: string | null;
  message: string | null;
  measured: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
  measurements: MeasurementView[];
}

export interface AnalysisRunView {
  name: string;
  namespace: string;
  uid: string;
  createdAt: string | null;
  revision: number;
  phase: string;
  message: string | null;
  startedAt: string | null;
  lastFinishedAt: string | null;
  terminate: boolean;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  args: ArgView[];
  metrics: MetricView[];
  jobs: unknown[];
  nonJobs: unknown[];
}

export interface ExperimentView {
  name: string;
  namespace: string;
  uid: string;
  createdAt: string | null;
  revision: number;
  phase: string;
  message: string | null;
  duration: string | null;
  availableAt: string | null;
  images: ImageInfo[];
  replicaSets: ReplicaSetView[];
  analysisRuns: AnalysisRunView[];
  /** Ended by the rollout's abort (its phase may still read Successful, as upstream). */
  terminated: boolean;
}

export interface RolloutDetail {
  summary: RolloutSummary;
  annotations: Record<string, string>;
  steps: StepView[];
  containers: ContainerView[];
  initContainers: ContainerView[];
  /** `rollout` | `replicaSet` | `none`. */
  containersSource: string;
  workloadRef: WorkloadRefView | null;
  canary: CanaryView | null;
  blueGreen: BlueGreenView | null;
  revisions: RevisionView[];
  analysisRuns: AnalysisRunView[];
  experiments: ExperimentView[];
  analysisRefs: AnalysisRefView[];
  conditions: ConditionView[];
  pauseConditions: PauseConditionView[];
  controllerPause: boolean;
  explanation: string[];
  restartAt: string | null;
  abortedAt: string | null;
  progressDeadlineSeconds: number | null;
  /** The server's verdict for each action, by URL name (`promote-full`): the rules it enforces. */
  actions: Record<string, ActionVerdict>;
  /** The InvalidSpec condition's message. */
  invalidSpec: string | null;
  /** The 0-based step that message names. */
  invalidStep: number | null;
}

// ---- health (src/health.rs) ------------------------------------------------------------

export type SourceKind = 'cluster' | 'files' | 'demo';

export interface Problem {
  /** `crdMissing` | `forbidden` | `unreachable` | `watchFailing`. */
  code: string;
  message: string;
}

export interface KindHealth {
  synced: boolean;
  error: string | null;
  restarts: number;
}

export interface Health {
  source: SourceKind;
  namespaces: string[];
  kinds: Record<string, KindHealth>;
  problem: Problem | null;
  notes: string[];
}

// ---- messages (src/protocol.rs) --------------------------------------------------------

export type ClientMsg =
  | { type: 'subscribeList'; namespaces: string[] }
  | { type: 'subscribeRollout'; namespace: string; name: string }
  | { type: 'unsubscribe' };

/** One RFC 6902 operation; the server (json-patch's diff) only produces these three. */
export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export type ServerMsg =
  | { type: 'hello'; protocol: number; version: string; readOnly: boolean; demo: boolean; heartbeatSeconds: number }
  | { type: 'status'; health: Health }
  | { type: 'snapshot'; seq: number; rollouts: RolloutSummary[] }
  | { type: 'upsert'; seq: number; rollout: RolloutSummary }
  /** RFC 6902 operations turning the summary held at `base` into the one at `seq`. */
  | { type: 'patch'; seq: number; base: number; namespace: string; name: string; patch: JsonPatchOp[] }
  | { type: 'delete'; seq: number; namespace: string; name: string }
  | { type: 'detail'; seq: number; rollout: RolloutDetail }
  /** RFC 6902 operations turning the detail held at `base` into the one at `seq` (protocol 3). */
  | { type: 'detailPatch'; seq: number; base: number; namespace: string; name: string; patch: JsonPatchOp[] }
  | { type: 'notFound'; seq: number; namespace: string; name: string }
  | { type: 'heartbeat'; seq: number }
  | { type: 'error'; code: string; message: string };

/** Parses one frame; `null` for anything that is not a known message. */
export function parseServerMsg(text: string): ServerMsg | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  switch (type) {
    case 'hello':
    case 'status':
    case 'snapshot':
    case 'upsert':
    case 'patch':
    case 'delete':
    case 'detail':
    case 'detailPatch':
    case 'notFound':
    case 'heartbeat':
    case 'error':
      return value as ServerMsg;
    default:
      return null;
  }
}

/** Identity of a rollout in maps and favorites: `namespace/name`. */
export function rolloutKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
