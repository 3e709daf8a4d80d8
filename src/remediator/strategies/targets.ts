// Lock keys are paths: `prod` (the whole cluster), `prod/node/rabbit@db-1`, `prod/queue/%2F/orders`,
// `prod/alert/<fingerprint>`. Two keys conflict when one is the other or contains it, so a
// cluster-wide action waits for every queue action in that cluster and the reverse.

export function clusterTarget(cluster: string): string {
  return encodeURIComponent(cluster);
}

export function nodeTarget(cluster: string, node: string): string {
  return `${clusterTarget(cluster)}/node/${encodeURIComponent(node)}`;
}

export function queueTarget(cluster: string, vhost: string, queue: string): string {
  return `${clusterTarget(cluster)}/queue/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`;
}

/** Actions that only talk to humans lock the alert, so the same alert is not notified twice at once. */
export function alertTarget(cluster: string, fingerprint: string): string {
  return `${clusterTarget(cluster)}/alert/${encodeURIComponent(fingerprint)}`;
}

export function targetsConflict(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}
