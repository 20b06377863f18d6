// One detail page's bytes while its rollout changes: subscribes to one rollout on a running
// dashboard for SECONDS, follows the `detailPatch` frames as the web app does, and prints what
// was received next to what the same changes cost as whole `detail` frames (protocol 2 sent
// those). At the end the followed copy is compared with the server's current detail.
//
//   cargo run --release -- --demo --port 3931 &
//   node tests/bench/detail-bytes.mjs 127.0.0.1:3931 demo-payments/payments-gateway 60
//
// Plain Node 20 (no packages): a minimal WebSocket client over net.
import net from 'node:net';
import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

const [host, port] = process.argv[2].split(':');
const [ns, name] = process.argv[3].split('/');
const SECONDS = Number(process.argv[4] ?? 60);

function unescape(s) { return s.replace(/~1/g, '/').replace(/~0/g, '~'); }
function apply(doc, ops) {
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map(unescape);
    const last = parts.pop();
    let parent = doc;
    for (const p of parts) parent = parent[Array.isArray(parent) ? Number(p) : p];
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (op.op === 'add') parent.splice(i, 0, op.value);
      else if (op.op === 'replace') parent[i] = op.value;
      else parent.splice(i, 1);
    } else if (op.op === 'remove') delete parent[last];
    else parent[last] = op.value;
  }
  return doc;
}

const sock = net.connect(Number(port), host);
const key = crypto.randomBytes(16).toString('base64');
sock.write(`GET /api/v1/stream HTTP/1.1\r\nHost: ${host}:${port}\r\nOrigin: http://${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
let buf = Buffer.alloc(0);
let upgraded = false;
let wireBytes = 0;
let detail = null;
let seq = 0;
const stats = { detail: 0, detailPatch: 0, patchBytes: 0, wholeBytes: 0, wouldBeBytes: 0, mismatches: 0 };
function sendText(text) {
  const payload = Buffer.from(text);
  const mask = crypto.randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  sock.write(Buffer.concat([head, mask, masked]));
}
let t0 = 0;
sock.on('data', (chunk) => {
  wireBytes += chunk.length;
  buf = Buffer.concat([buf, chunk]);
  if (!upgraded) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    upgraded = true;
    buf = buf.subarray(end + 4);
    sendText(JSON.stringify({ type: 'subscribeRollout', namespace: ns, name }));
    t0 = Date.now();
    wireBytes = buf.length;
  }
  for (;;) {
    if (buf.length < 2) return;
    let len = buf[1] & 127;
    let off = 2;
    if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
    if (buf.length < off + len) return;
    const text = buf.subarray(off, off + len).toString();
    buf = buf.subarray(off + len);
    const f = JSON.parse(text);
    if (f.type === 'detail') {
      stats.detail++; stats.wholeBytes += text.length; stats.wouldBeBytes += text.length;
      detail = f.rollout; seq = f.seq;
    } else if (f.type === 'detailPatch') {
      stats.detailPatch++; stats.patchBytes += text.length;
      if (f.base !== seq) stats.mismatches++;
      detail = apply(detail, f.patch); seq = f.seq;
      stats.wouldBeBytes += JSON.stringify({ type: 'detail', seq: f.seq, rollout: detail }).length;
    }
  }
});
setTimeout(async () => {
  // The copy must equal the server's current detail.
  const res = await fetch(`http://${host}:${port}/api/v1/namespaces/${ns}/rollouts/${name}`);
  const now = await res.json();
  const same = isDeepStrictEqual(now, detail);
  const minutes = (Date.now() - t0) / 60000;
  console.log(JSON.stringify({ ...stats, seconds: SECONDS, wireBytesPerMin: Math.round(wireBytes / minutes), sentPayloadPerMin: Math.round((stats.wholeBytes + stats.patchBytes) / minutes), wholeFramesPayloadPerMin: Math.round(stats.wouldBeBytes / minutes), copyEqualsServer: same }));
  process.exit(0);
}, SECONDS * 1000);
