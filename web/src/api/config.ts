// Runtime settings from the HTML shell's <script id="rd-config" type="application/json">.

import type { SourceKind } from './protocol';

export interface RdConfig {
  basePath: string;
  version: string;
  readOnly: boolean;
  source: SourceKind;
}

export function readConfig(doc: Document = document): RdConfig {
  const fallback: RdConfig = { basePath: '', version: '?', readOnly: true, source: 'cluster' };
  const el = doc.getElementById('rd-config');
  if (!el || !el.textContent) return fallback;
  try {
    const raw = JSON.parse(el.textContent) as Partial<RdConfig>;
    return {
      basePath: typeof raw.basePath === 'string' ? raw.basePath : '',
      version: typeof raw.version === 'string' ? raw.version : '?',
      readOnly: raw.readOnly === true,
      source: raw.source === 'files' || raw.source === 'demo' ? raw.source : 'cluster',
    };
  } catch {
    return fallback;
  }
}

/** An absolute URL for a path relative to the document's <base href>. */
export function appUrl(relative: string): URL {
  return new URL(relative, document.baseURI);
}
