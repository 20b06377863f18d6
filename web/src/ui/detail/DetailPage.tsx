import { useEffect } from 'preact/hooks';
import { rolloutKey } from '../../api/protocol';
import { factsOf, isFleet, useStore } from '../../state/store';
import { useClusterBlocked, useFreshPermissions } from '../actions';
import { Empty, useOffline } from '../common';
import { Link } from '../router';
import { AnalysisRunBlock, currentRuns } from './Analysis';
import { Conditions } from './Conditions';
import { Containers } from './Containers';
import { ExperimentBlock } from './Experiments';
import { History } from './History';
import { DetailHeader } from './Header';
import { Metadata } from './Metadata';
import { Revisions } from './Revisions';
import { Section } from './Section';
import { StatusPanel } from './StatusPanel';
import { Steps } from './Steps';

/** One rollout's page: header and toolbar, status, steps beside the current analysis, revisions, and the rest. */
export function DetailPage({ cluster, namespace, name }: { cluster: string; namespace: string; name: string }) {
  const detailState = useStore((s) => s.detail);
  const listRow = useStore((s) => s.list.rollouts.get(rolloutKey(cluster, namespace, name)) ?? null);
  const readOnly = useStore((s) => s.readOnly);
  const fleet = useStore(isFleet);
  useFreshPermissions({ cluster, namespace, name });
  const conn = useStore((s) => s.conn);
  const offline = useOffline();
  const stale = useStore((s) => factsOf(s).stale.get(cluster) ?? null);
  const blocked = useClusterBlocked(cluster);
  const ds = detailState && detailState.cluster === cluster && detailState.namespace === namespace && detailState.name === name ? detailState : null;
  const d = ds?.detail ?? null;

  useEffect(() => {
    document.title = fleet ? `${name} · ${namespace} · ${cluster} · Argo Rollouts` : `${name} · ${namespace} · Argo Rollouts`;
    return () => {
      document.title = 'Argo Rollouts · rollouts-dashboard';
    };
  }, [cluster, namespace, name, fleet]);

  // The cluster leads the breadcrumb (a link to the list filtered to it) with several clusters.
  const back = (
    <nav class="crumbs" aria-label="Breadcrumb">
      <Link href="">← All rollouts</Link>{' '}
      {fleet ? (
        <>
          <span class="muted">/</span>{' '}
          <Link href={`./?${new URLSearchParams({ cluster }).toString()}`} class="crumb-cluster" data-cluster={cluster}>
            {cluster}
          </Link>{' '}
        </>
      ) : null}
      <span class="muted">/ {namespace} /</span>
    </nav>
  );

  if (!d) {
    if (ds?.notFound || ds?.deleted) {
      return (
        <main id="main" class="page page-detail">
          {back}
          <Empty title={ds.deleted ? `Rollout ${name} was deleted` : `Rollout ${name} not found`}>
            <p>
              There is no rollout <code>{name}</code> in namespace <code>{namespace}</code>
              {fleet ? (
                <>
                  {' '}
                  of cluster <code>{cluster}</code>
                </>
              ) : null}
              . This page updates by itself if it appears.
            </p>
          </Empty>
        </main>
      );
    }
    return (
      <main id="main" class="page page-detail">
        {back}
        <h1 class="rollout-title">{name}</h1>
        {listRow ? <p>{listRow.reason}</p> : null}
        <div class="loading" role="status">
          <span class="spinner" aria-hidden="true" /> {conn === 'reconnecting' ? 'Waiting for the server…' : 'Loading details…'}
        </div>
      </main>
    );
  }

  const s = d.summary;
  const current = currentRuns(d);
  const others = d.analysisRuns.filter((a) => !current.includes(a));
  return (
    <main id="main" class={`page page-detail${offline !== null || stale !== null ? ' is-stale' : ''}`} aria-labelledby="rollout-title">
      {back}
      <DetailHeader d={d} readOnly={readOnly} fleet={fleet} stale={stale} />
      {offline !== null && !readOnly ? (
        <p class="offline-note small" role="status">
          {offline}
        </p>
      ) : blocked !== null && !readOnly ? (
        <p class="offline-note small" role="status" data-cluster-blocked={cluster}>
          {blocked}
        </p>
      ) : null}
      <StatusPanel d={d} />
      <div class="detail-grid">
        <div class="col">
          {d.steps.length > 0 ? (
            <Section title="Steps" id="steps" count={d.steps.length}>
              <Steps steps={d.steps} summary={s} invalidStep={d.invalidStep} invalidSpec={d.invalidSpec} />
            </Section>
          ) : null}
          <Section title="Containers" id="containers">
            <Containers d={d} readOnly={readOnly} />
          </Section>
          {d.conditions.length > 0 ? (
            <Section title="Conditions" id="conditions">
              <Conditions conditions={d.conditions} />
            </Section>
          ) : null}
          <Section title="Labels and annotations" id="meta">
            <Metadata labels={s.labels} annotations={d.annotations} />
          </Section>
        </div>
        <div class="col">
          {current.length > 0 ? (
            <Section title="Current analysis" id="current-analysis" count={current.length}>
              {current.map((a) => (
                <AnalysisRunBlock key={a.name} run={a} />
              ))}
            </Section>
          ) : null}
          <Section title="Revisions" id="revisions" count={d.revisions.length}>
            <Revisions revisions={d.revisions} rollout={s} readOnly={readOnly} analysisRuns={d.analysisRuns} />
          </Section>
          {others.length > 0 ? (
            <Section title={current.length > 0 ? 'Earlier analysis runs' : 'Analysis runs'} id="analysis" count={others.length}>
              {others.map((a) => (
                <AnalysisRunBlock key={a.name} run={a} />
              ))}
            </Section>
          ) : null}
          {d.experiments.length > 0 ? (
            <Section title="Experiments" id="experiments" count={d.experiments.length}>
              {d.experiments.map((e) => (
                <ExperimentBlock key={e.name} e={e} />
              ))}
            </Section>
          ) : null}
          <Section title="History" id="history" count={d.history.events.length}>
            <History history={d.history} />
          </Section>
        </div>
      </div>
    </main>
  );
}
