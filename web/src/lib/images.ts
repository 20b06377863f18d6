// The images a container's Set image offers (issue #15.11). Pure.

/**
 * The images to offer for a container's Set image: those of the rollout's revisions, newest
 * revision first (revisions are newest first; sorted again here), each once, without the image
 * the container runs now nor those the other containers run. Images of this container's
 * repository come first (the others are usually a sidecar's); each group keeps revision order.
 */
export function imageSuggestions(
  revisions: readonly { revision: number; images: readonly { image: string }[] }[],
  current: string,
  currentOfOthers: readonly string[] = [],
): string[] {
  const skip = new Set([current, ...currentOfOthers]);
  const seen = new Set<string>();
  const all: string[] = [];
  for (const rev of [...revisions].sort((a, b) => b.revision - a.revision)) {
    for (const { image } of rev.images) {
      if (skip.has(image) || seen.has(image)) continue;
      seen.add(image);
      all.push(image);
    }
  }
  const repo = repositoryOf(current);
  return [...all.filter((i) => repositoryOf(i) === repo), ...all.filter((i) => repositoryOf(i) !== repo)];
}

/** `ghcr.io/demo/app` of `ghcr.io/demo/app:1.2` or `…@sha256:…`. */
export function repositoryOf(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}
