//! Where objects come from: a live cluster, files on disk, or the built-in demo. Each source
//! only feeds the [`Store`](crate::store::Store); everything downstream is shared.

pub mod cluster;
pub mod demo;
pub mod demo_cluster;
pub mod demo_events;
pub mod files;
