/** Labels and annotations (long annotation values cut at 300 characters). */
export function Metadata({ labels, annotations }: { labels: Record<string, string>; annotations: Record<string, string> }) {
  return (
    <>
      {Object.keys(labels).length === 0 && Object.keys(annotations).length === 0 ? <p class="muted">None.</p> : null}
      {Object.keys(labels).length > 0 ? <h3 class="sub">Labels</h3> : null}
      <dl class="kv small">
        {Object.entries(labels).map(([k, v]) => (
          <div key={`l-${k}`}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {Object.keys(annotations).length > 0 ? <h3 class="sub">Annotations</h3> : null}
      <dl class="kv small">
        {Object.entries(annotations).map(([k, v]) => (
          <div key={`a-${k}`}>
            <dt>{k}</dt>
            <dd class="mono">{v.length > 300 ? `${v.slice(0, 300)}…` : v}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}
