import { useEffect, useRef, useState } from 'preact/hooks';
import type { ContainerView, RolloutDetail, RolloutSummary } from '../../api/protocol';
import { splitImage } from '../../lib/format';
import { imageSuggestions } from '../../lib/images';
import { deniedReason } from '../../lib/permissions';
import { requestAction, useClusterBlocked, usePermissions } from '../actions';
import { useOffline } from '../common';

/** At most this many earlier images are offered as buttons (the datalist has them all). */
const SHOWN_SUGGESTIONS = 4;

function SetImageForm({ c, rollout, suggestions }: { c: ContainerView; rollout: RolloutSummary; suggestions: string[] }) {
  const [value, setValue] = useState(c.image);
  useEffect(() => setValue(c.image), [c.image]);
  const input = useRef<HTMLInputElement>(null);
  const id = `img-${c.name}`;
  const listId = `imgs-${c.name}`;
  const offline = useOffline();
  const blocked = useClusterBlocked(rollout.cluster);
  const denied = offline ?? blocked ?? deniedReason('set-image', usePermissions(rollout));
  const repo = splitImage(c.image).repo;
  return (
    <form
      class="set-image"
      data-container={c.name}
      onSubmit={(e) => {
        e.preventDefault();
        const image = value.trim();
        if (denied !== null || image === '' || image === c.image) return;
        requestAction({ action: 'set-image', rollout, extra: { container: c.name, image } });
      }}
    >
      <label for={id} class="visually-hidden">
        New image for container {c.name}
      </label>
      <div class="set-image-row">
        <input ref={input} id={id} class="mono" value={value} list={listId} spellcheck={false} autocomplete="off" onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)} />
        <datalist id={listId}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <button type="submit" class="btn btn-small" data-action="set-image" disabled={denied !== null || value.trim() === '' || value.trim() === c.image} title={denied ?? undefined}>
          Set image
        </button>
      </div>
      {suggestions.length > 0 ? (
        <div class="image-suggestions small" role="group" aria-label={`Images of earlier revisions for container ${c.name}`}>
          <span class="muted">Earlier:</span>
          {suggestions.slice(0, SHOWN_SUGGESTIONS).map((s) => {
            const { repo: r, tag } = splitImage(s);
            return (
              <button
                key={s}
                type="button"
                class="btn btn-small mono"
                data-image={s}
                aria-pressed={value.trim() === s}
                title={`Put ${s} in the field (Set image then asks to confirm)`}
                onClick={() => {
                  setValue(s);
                  input.current?.focus();
                }}
              >
                {r === repo ? tag : s}
              </button>
            );
          })}
        </div>
      ) : null}
    </form>
  );
}

/** The template's containers; Set image writes the rollout's template, or its workloadRef object's. */
export function Containers({ d, readOnly }: { d: RolloutDetail; readOnly: boolean }) {
  const rows = [...d.containers.map((c) => ({ c, init: false })), ...d.initContainers.map((c) => ({ c, init: true }))];
  const ref = d.workloadRef;
  const editable = !readOnly && (d.containersSource === 'rollout' || (d.containersSource === 'replicaSet' && ref !== null));
  const from = ref ? (
    <p class="small workload-ref">
      The pod template comes from {ref.kind} <code>{ref.name}</code> (workloadRef)
      {d.containersSource === 'replicaSet' ? '; shown as the current ReplicaSet runs it' : ''}
      {editable ? `. Set image writes to ${ref.kind} ${ref.name}.` : '.'}
    </p>
  ) : null;
  if (rows.length === 0)
    return (
      <>
        {from}
        <p class="muted">No containers{ref ? ': the current ReplicaSet is not known yet' : ''}.</p>
      </>
    );
  return (
    <>
    {from}
    <table class="ctable">
      <thead>
        <tr>
          <th scope="col">Container</th>
          <th scope="col">Image</th>
          {editable ? <th scope="col">Change</th> : null}
        </tr>
      </thead>
      <tbody>
        {rows.map(({ c, init }) => {
          const { repo, tag } = splitImage(c.image);
          return (
            <tr key={`${init}-${c.name}`}>
              <td>
                {c.name}
                {init ? <span class="tag">init</span> : null}
              </td>
              <td class="mono" title={c.image}>
                {repo}
                <strong>:{tag}</strong>
              </td>
              {editable ? (
                <td>{init ? null : <SetImageForm
                    c={c}
                    rollout={d.summary}
                    suggestions={imageSuggestions(
                      d.revisions,
                      c.image,
                      d.containers.filter((o) => o.name !== c.name).map((o) => o.image),
                    )}
                  />}</td>
              ) : null}
            </tr>
          );
        })}
      </tbody>
    </table>
    </>
  );
}
