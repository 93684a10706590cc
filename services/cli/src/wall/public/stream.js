// The live connection: an EventSource on the view's SSE endpoint that survives everything a wall screen
// meets in a year — server restarts (HTTP 503 closes an EventSource for good, so it is reopened here),
// silent network failures (a watchdog reopens when not even a heartbeat arrived), and resumes with the
// last event id so a short drop costs a delta, not a snapshot.

const KINDS = ['snapshot', 'delta', 'heartbeat', 'reset'];

/**
 * @param {string} url  stream URL (relative to the page)
 * @param {{ onMessage(kind: string, body: any): void, onState(state: 'connecting'|'live'|'reconnecting', info: {attempt: number, since: number|null}): void, onDrop(): void }} handlers
 * @param {{ staleMs?: number, maxBackoffMs?: number }} options
 */
export function connect(url, handlers, options = {}) {
  const staleMs = options.staleMs ?? 15000;
  const maxBackoffMs = options.maxBackoffMs ?? 10000;
  let source = null;
  let lastId = null;
  let attempt = 0;
  let downSince = null;
  let watchdog = null;
  let reopenTimer = null;
  let live = false;

  const state = (s) => handlers.onState(s, { attempt, since: downSince });

  function arm() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => drop('stale'), staleMs);
  }

  function drop() {
    if (source !== null) source.close();
    source = null;
    clearTimeout(watchdog);
    if (live || downSince === null) downSince = Date.now();
    live = false;
    attempt++;
    handlers.onDrop();
    state('reconnecting');
    clearTimeout(reopenTimer);
    // Quick first retries, then back off so a hundred screens do not hammer a restarting server.
    const delay = Math.min(maxBackoffMs, attempt <= 1 ? 250 : 500 * 2 ** Math.min(attempt - 2, 5));
    reopenTimer = setTimeout(open, delay);
  }

  function open() {
    const u = new URL(url, location.href);
    if (lastId !== null) u.searchParams.set('lastEventId', lastId);
    const es = new EventSource(u);
    source = es;
    arm();
    for (const kind of KINDS) {
      es.addEventListener(kind, (ev) => {
        if (source !== es) return;
        if (ev.lastEventId) lastId = ev.lastEventId;
        arm();
        let body;
        try {
          body = JSON.parse(ev.data);
        } catch {
          return;
        }
        handlers.onMessage(kind, body);
        if (!live && (kind === 'snapshot' || kind === 'delta' || kind === 'heartbeat')) {
          live = true;
          attempt = 0;
          downSince = null;
          state('live');
        }
      });
    }
    es.addEventListener('error', (ev) => {
      if (source !== es) return;
      // A server-side refusal arrives as an "error" event with data; a network failure without.
      // Either way the screen shows it at once instead of waiting for the browser's own retry.
      if (ev.data || es.readyState === EventSource.CLOSED || live) drop();
      else state(attempt === 0 ? 'connecting' : 'reconnecting');
    });
  }

  state('connecting');
  open();
  return {
    close() {
      clearTimeout(watchdog);
      clearTimeout(reopenTimer);
      if (source !== null) source.close();
      source = null;
    },
  };
}
