//! The running images with their role tags, merged as upstream `Images` does (upstream `pkg/kubectl-argo-rollouts/info/rollout_info.go`, `Images`).

use serde::{Deserialize, Serialize};

use super::replicaset::{ReplicaSetRole, ReplicaSetView};

/// One image and the roles (or `Σ:<template>` experiment tags) it runs under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    pub image: String,
    pub tags: Vec<String>,
}

/// Adds `image` to `images`: a new image keeps its tag order, a known one gets the sorted union
/// of tags. The list is kept sorted by image string.
pub fn merge_image(images: &mut Vec<ImageInfo>, image: ImageInfo) {
    match images.iter_mut().find(|i| i.image == image.image) {
        None => images.push(image),
        Some(existing) => {
            let mut tags: Vec<String> = existing.tags.drain(..).chain(image.tags).collect();
            tags.sort();
            tags.dedup();
            existing.tags = tags;
        }
    }
    images.sort_by(|a, b| a.image.cmp(&b.image));
}

/// Tags of a rollout ReplicaSet, in upstream's fixed order.
fn rs_tags(rs: &ReplicaSetView) -> Vec<String> {
    // Canary before stable, unlike the roles' own order.
    [
        ReplicaSetRole::Canary,
        ReplicaSetRole::Stable,
        ReplicaSetRole::Active,
        ReplicaSetRole::Preview,
        ReplicaSetRole::Ping,
        ReplicaSetRole::Pong,
    ]
    .into_iter()
    .filter(|role| rs.has_role(*role))
    .map(|role| role.as_str().to_owned())
    .collect()
}

/// Adds the images of the given rollout ReplicaSets. `running_only` keeps only ReplicaSets with
/// replicas, as the rollout-level list does; a revision's list shows every image it had.
pub fn add_replica_set_images(
    images: &mut Vec<ImageInfo>,
    replica_sets: &[ReplicaSetView],
    running_only: bool,
) {
    for rs in replica_sets
        .iter()
        .filter(|rs| !running_only || rs.replicas > 0)
    {
        for image in &rs.images {
            merge_image(
                images,
                ImageInfo {
                    image: image.clone(),
                    tags: rs_tags(rs),
                },
            );
        }
    }
}

/// Images of an experiment's running ReplicaSets, tagged `Σ:<template>` (upstream `ExperimentImages`).
pub fn experiment_images(experiment_replica_sets: &[ReplicaSetView]) -> Vec<ImageInfo> {
    let mut images = Vec::new();
    for rs in experiment_replica_sets.iter().filter(|rs| rs.replicas > 0) {
        for image in &rs.images {
            let tags = rs
                .template
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| format!("Σ:{t}"))
                .collect();
            merge_image(
                &mut images,
                ImageInfo {
                    image: image.clone(),
                    tags,
                },
            );
        }
    }
    images
}

/// The rollout's image list: running ReplicaSets first, then each experiment's images (as
/// [`experiment_images`] computed them for its view) merged in.
pub fn rollout_images<'a>(
    replica_sets: &[ReplicaSetView],
    experiment_images: impl IntoIterator<Item = &'a [ImageInfo]>,
) -> Vec<ImageInfo> {
    let mut images = Vec::new();
    add_replica_set_images(&mut images, replica_sets, true);
    for image in experiment_images.into_iter().flatten() {
        merge_image(&mut images, image.clone());
    }
    images
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(images: &[&str], roles: &[ReplicaSetRole], replicas: i32) -> ReplicaSetView {
        ReplicaSetView {
            images: images.iter().map(|s| s.to_string()).collect(),
            roles: roles.to_vec(),
            replicas,
            ..Default::default()
        }
    }

    fn tags(images: &[ImageInfo]) -> Vec<(String, Vec<String>)> {
        images
            .iter()
            .map(|i| (i.image.clone(), i.tags.clone()))
            .collect()
    }

    #[test]
    fn first_insert_keeps_tag_order_merge_sorts_union() {
        // Tag order for a fresh image is canary, stable, active, preview, ping, pong.
        let a = rs(
            &["img:1"],
            &[ReplicaSetRole::Stable, ReplicaSetRole::Active],
            1,
        );
        let b = rs(
            &["img:0"],
            &[ReplicaSetRole::Canary, ReplicaSetRole::Ping],
            1,
        );
        let images = rollout_images(&[a.clone(), b], []);
        assert_eq!(
            tags(&images),
            [
                (
                    "img:0".to_string(),
                    vec!["canary".to_string(), "ping".to_string()]
                ),
                (
                    "img:1".to_string(),
                    vec!["stable".to_string(), "active".to_string()]
                ),
            ]
        );
        // The same image in a second ReplicaSet merges into an alphabetically sorted union.
        let c = rs(&["img:1"], &[ReplicaSetRole::Preview], 2);
        let images = rollout_images(&[a, c], []);
        assert_eq!(
            images[0].tags,
            [
                "active".to_string(),
                "preview".to_string(),
                "stable".to_string()
            ]
        );
    }

    #[test]
    fn scaled_down_replica_sets_are_left_out() {
        let a = rs(&["img:old"], &[], 0);
        let b = rs(&["img:new", "sidecar:1"], &[ReplicaSetRole::Stable], 3);
        let images = rollout_images(&[a.clone(), b.clone()], []);
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].image, "img:new");
        assert_eq!(images[1].image, "sidecar:1");
        let mut all = Vec::new();
        add_replica_set_images(&mut all, &[a, b], false);
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn experiment_images_merge_after_replica_sets() {
        let stable = rs(&["img:blue"], &[ReplicaSetRole::Stable], 3);
        let mut exp_rs = rs(&["img:blue"], &[], 1);
        exp_rs.template = Some("baseline".into());
        let mut exp_rs2 = rs(&["img:yellow"], &[], 1);
        exp_rs2.template = Some("canary".into());
        let mut stopped = rs(&["img:gone"], &[], 0);
        stopped.template = Some("old".into());
        let exp_images = experiment_images(&[exp_rs, exp_rs2, stopped]);
        let images = rollout_images(&[stable], [exp_images.as_slice()]);
        assert_eq!(
            tags(&images),
            [
                (
                    "img:blue".to_string(),
                    vec!["stable".to_string(), "Σ:baseline".to_string()]
                ),
                ("img:yellow".to_string(), vec!["Σ:canary".to_string()]),
            ]
        );
    }

    #[test]
    fn no_tags_and_duplicates() {
        let mut images = Vec::new();
        merge_image(
            &mut images,
            ImageInfo {
                image: "b".into(),
                tags: vec![],
            },
        );
        merge_image(
            &mut images,
            ImageInfo {
                image: "a".into(),
                tags: vec!["x".into()],
            },
        );
        merge_image(
            &mut images,
            ImageInfo {
                image: "a".into(),
                tags: vec!["x".into()],
            },
        );
        assert_eq!(
            tags(&images),
            [
                ("a".to_string(), vec!["x".to_string()]),
                ("b".to_string(), vec![])
            ]
        );
    }
}
