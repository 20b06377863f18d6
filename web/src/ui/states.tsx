import type { Problem } from '../api/protocol';

const TITLES: Record<string, string> = {
  crdMissing: 'Argo Rollouts CRDs are not installed',
  forbidden: 'The dashboard is not allowed to read rollouts',
  unreachable: 'The Kubernetes API server is unreachable',
  watchFailing: 'Watching the cluster is failing',
};

const HINTS: Record<string, string> = {
  crdMissing: 'Install Argo Rollouts (kubectl create namespace argo-rollouts && kubectl apply -n argo-rollouts -f https://github.com/argoproj/argo-rollouts/releases/latest/download/install.yaml); the dashboard picks the CRDs up by itself.',
  forbidden: 'Grant the dashboard\u2019s service account get/list/watch on rollouts, replicasets, pods, analysisruns and experiments (see deploy/), or restrict it to namespaces it may read with --namespace.',
  unreachable: 'The dashboard keeps retrying. Check the kubeconfig context, the network, or the in-cluster service account.',
  watchFailing: 'The dashboard keeps retrying; what you see may be out of date.',
};

export function ProblemPanel({ problem }: { problem: Problem }) {
  return (
    <section class="problem" role="alert" data-problem={problem.code}>
      <h2>{TITLES[problem.code] ?? 'The data source has a problem'}</h2>
      <p>{problem.message}</p>
      {HINTS[problem.code] ? <p class="small">{HINTS[problem.code]}</p> : null}
    </section>
  );
}
