/**
 * The Node.js/V8 flags the gateway process starts with. V8 sizes its heap before any script runs, so they
 * have to be on node's command line or in NODE_OPTIONS, and every way of starting the gateway passes them:
 * `npm start` and the `iocbus` command on the command line, the container image through NODE_OPTIONS, the
 * benchmark when it spawns main.ts (node-flags.test.ts checks each). main.ts warns when they are missing.
 *
 * --max-semi-space-size=64 (MiB; V8's default is 16): a produce request holds its events' objects for the
 * whole Kafka round trip, so with the default young generation most of them survive two scavenges and
 * are copied into the old generation (fresh pages: page faults, then mark-compact work). With 64 MiB
 * they die young. Measured (the same build with and without it, side by side on one broker, medians of 5
 * rounds): gateway CPU per event 24.5 -> 20.3 µs over HTTP, 39.7 -> 31.3 µs over gRPC. (GC was 14 % of the
 * HTTP profile before this session's changes, flag included, and 5 % after.) The young generation may take up to ~128 MiB more; measured peak RSS did not grow (README).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];

/** The flags of GATEWAY_NODE_FLAGS this process was started without (its command line and NODE_OPTIONS). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)]);
  return GATEWAY_NODE_FLAGS.filter((flag) => !given.has(flag));
}
