//! Paged, compressed list snapshots (protocol 4).
//!
//! A list snapshot of 10,000 rollouts is about 15 MB of JSON. Sent as one WebSocket message,
//! it left every connection's write buffer holding that much capacity afterwards (tungstenite
//! never shrinks it: 14 MiB per idle client), crossed an Ingress as 15 MB, and the browser
//! painted nothing until the last byte. Here the summaries are put in the list's default order
//! (needs attention first, so those rows paint first), cut into pages of at most
//! [`MAX_PAGE_ROLLOUTS`] rollouts and [`MAX_PAGE_JSON`] bytes of JSON, and each page is
//! gzip-compressed once into the body of one binary message. A connection then buffers at most
//! one compressed page, and the store shares the unfiltered pages of a version among every
//! connection that asks at that version (a reconnect storm compresses once).
//!
//! Pure: built from JSON the store has already serialized; nothing here knows the store.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::view::RolloutSummary;

/// Most rollouts in one page: the first page (what the browser paints first) stays small.
pub const MAX_PAGE_ROLLOUTS: usize = 500;

/// Most JSON in one page before compression (a page always holds at least one rollout): it
/// bounds what a connection buffers (a page compresses to a few tens of KB) and what the
/// browser decompresses and parses at once.
pub const MAX_PAGE_JSON: usize = 256 * 1024;

/// How every page is encoded, as `snapshotBegin` announces it.
pub const ENCODING: &str = "gzip";

/// Where a rollout sits in the list's default order (web/src/lib/listView.ts, sort
/// `attention`): those needing attention first, then by status (Degraded, Paused,
/// Progressing, Healthy, anything else); ties by name, then namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListRank {
    /// `false` sorts first: needs attention.
    calm: bool,
    status: u8,
}

impl ListRank {
    /// The rank of a summary.
    pub fn of(summary: &RolloutSummary) -> Self {
        Self::new(summary.needs_attention, &summary.status)
    }

    /// The rank of a rollout that needs attention or not, in this status.
    pub fn new(needs_attention: bool, status: &str) -> Self {
        let status = match status {
            "Degraded" => 0,
            "Paused" => 1,
            "Progressing" => 2,
            "Healthy" => 3,
            _ => 4,
        };
        Self {
            calm: !needs_attention,
            status,
        }
    }
}

/// One rollout to page: its rank, its name, namespace and cluster (the tie-breakers), its
/// JSON.
#[derive(Debug, Clone)]
pub struct PageEntry {
    pub rank: ListRank,
    pub name: String,
    pub namespace: String,
    pub cluster: Arc<str>,
    pub json: Arc<RawValue>,
}

/// A list snapshot as the binary messages that carry it.
#[derive(Debug, Clone)]
pub struct SnapshotPages {
    /// The store's seq the snapshot is current at.
    pub seq: u64,
    /// Rollouts in all pages together.
    pub total: usize,
    /// Each page: a gzip-compressed `snapshotPage` frame (JSON), in order.
    pub pages: Vec<Bytes>,
    /// Bytes of JSON before compression, all pages together (for the figures).
    pub json_bytes: usize,
}

impl SnapshotPages {
    /// Bytes on the wire of all pages together (their WebSocket headers aside).
    pub fn compressed_bytes(&self) -> usize {
        self.pages.iter().map(Bytes::len).sum()
    }
}

/// Why a snapshot could not be paged.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The compressor failed (it writes to memory, so only on a bug or out of memory).
    #[error("compressing a snapshot page: {0}")]
    Compress(#[from] std::io::Error),
    /// The task building the pages panicked.
    #[error("building the snapshot pages panicked")]
    Panicked,
}

/// A `snapshotPage` frame over cached summaries; equal to what serde writes for
/// [`crate::protocol::ServerMsg::SnapshotPage`] (pinned by a test).
#[derive(Serialize)]
struct RawPage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    index: usize,
    rollouts: &'a [&'a RawValue],
}

/// Orders `entries` as the list shows them by default, cuts them into pages and compresses
/// each page.
pub fn build(seq: u64, mut entries: Vec<PageEntry>) -> Result<SnapshotPages, PageError> {
    entries.sort_by(|a, b| {
        (a.rank, &a.name, &a.namespace, &a.cluster).cmp(&(
            b.rank,
            &b.name,
            &b.namespace,
            &b.cluster,
        ))
    });
    let total = entries.len();
    let mut pages = Vec::new();
    let mut json_bytes = 0;
    let mut rest: &[PageEntry] = &entries;
    while !rest.is_empty() {
        let mut len = 0;
        let mut size = 0;
        for entry in rest.iter().take(MAX_PAGE_ROLLOUTS) {
            // +1: the comma between two summaries.
            let next = entry.json.get().len() + 1;
            if len > 0 && size + next > MAX_PAGE_JSON {
                break;
            }
            size += next;
            len += 1;
        }
        let (page, after) = rest.split_at(len);
        let rollouts: Vec<&RawValue> = page.iter().map(|e| &*e.json).collect();
        let frame = RawPage {
            kind: "snapshotPage",
            seq,
            index: pages.len(),
            rollouts: &rollouts,
        };
        let json = serde_json::to_vec(&frame).map_err(std::io::Error::from)?;
        json_bytes += json.len();
        pages.push(gzip(&json)?);
        rest = after;
    }
    Ok(SnapshotPages {
        seq,
        total,
        pages,
        json_bytes,
    })
}

/// Compresses one page (zlib's default level: at 10,000 rollouts it took a fraction of a
/// second once per version, and the fastest level made pages about a third larger).
fn gzip(json: &[u8]) -> Result<Bytes, PageError> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::default());
    encoder.write_all(json)?;
    Ok(Bytes::from(encoder.finish()?))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn entry(namespace: &str, name: &str, status: &str, attention: bool, pad: usize) -> PageEntry {
        let json = serde_json::json!({
            "namespace": namespace, "name": name, "status": status,
            "needsAttention": attention, "pad": "x".repeat(pad),
        });
        PageEntry {
            rank: ListRank::new(attention, status),
            name: name.into(),
            namespace: namespace.into(),
            cluster: "c".into(),
            json: serde_json::value::to_raw_value(&json).unwrap().into(),
        }
    }

    fn unzip(page: &[u8]) -> serde_json::Value {
        let mut text = String::new();
        flate2::read::GzDecoder::new(page)
            .read_to_string(&mut text)
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn pages_follow_the_lists_order_and_hold_every_rollout_once() {
        let mut entries = vec![];
        for i in 0..1200 {
            let (status, attention) = match i % 4 {
                0 => ("Healthy", false),
                1 => ("Degraded", true),
                2 => ("Paused", false),
                _ => ("Paused", true),
            };
            entries.push(entry(
                &format!("ns-{}", i % 3),
                &format!("r-{i:04}"),
                status,
                attention,
                10,
            ));
        }
        let pages = build(42, entries).unwrap();
        assert_eq!(pages.total, 1200);
        assert_eq!(pages.pages.len(), 3, "500 + 500 + 200");
        let mut seen = vec![];
        for (index, page) in pages.pages.iter().enumerate() {
            let frame = unzip(page);
            assert_eq!(frame["type"], "snapshotPage");
            assert_eq!(frame["seq"], 42);
            assert_eq!(frame["index"], index);
            seen.extend(frame["rollouts"].as_array().unwrap().iter().cloned());
        }
        assert_eq!(seen.len(), 1200);
        let keys: std::collections::BTreeSet<_> = seen
            .iter()
            .map(|r| (r["namespace"].to_string(), r["name"].to_string()))
            .collect();
        assert_eq!(keys.len(), 1200, "each rollout exactly once");
        // Attention first (Degraded before Paused), then the calm ones by status, then by name.
        let order: Vec<(bool, String)> = seen
            .iter()
            .map(|r| {
                (
                    r["needsAttention"] == true,
                    r["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let first_calm = order.iter().position(|(a, _)| !a).unwrap();
        assert_eq!(first_calm, 600);
        assert!(order[..300].iter().all(|(_, s)| s == "Degraded"));
        assert!(order[300..600].iter().all(|(_, s)| s == "Paused"));
        assert!(order[600..900].iter().all(|(_, s)| s == "Paused"));
        assert!(order[900..].iter().all(|(_, s)| s == "Healthy"));
        let names: Vec<&str> = seen[..300]
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.is_sorted(), "ties by name");
    }

    #[test]
    fn a_page_holds_at_most_max_page_json_unless_one_rollout_is_larger() {
        // 100 KB summaries: two per page; one of 300 KB goes alone.
        let mut entries: Vec<PageEntry> = (0..5)
            .map(|i| entry("a", &format!("r{i}"), "Healthy", false, 100 * 1024))
            .collect();
        entries.push(entry("a", "r9", "Healthy", false, 300 * 1024));
        let pages = build(1, entries).unwrap();
        let sizes: Vec<usize> = pages
            .pages
            .iter()
            .map(|p| unzip(p)["rollouts"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [2, 2, 1, 1]);
        assert!(
            pages.compressed_bytes() * 20 < pages.json_bytes,
            "padding compresses"
        );
    }

    #[test]
    fn an_empty_list_has_no_pages() {
        let pages = build(7, vec![]).unwrap();
        assert_eq!((pages.seq, pages.total, pages.pages.len()), (7, 0, 0));
    }
}
