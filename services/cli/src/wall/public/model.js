// The screen's copy of the indicator values: a snapshot (possibly in chunks), then deltas and removals,
// exactly as the view's stream sends them (SSE events snapshot / delta / heartbeat / reset).

export const keyOf = (v) => `${v.indicator}|${v.window.kind}:${v.window.label}|${v.scope.kind}:${v.scope.code}`;

export class Store {
  constructor() {
    /** @type {Map<string, any>} */
    this.values = new Map();
    this.pending = null;
    this.watermarkMs = null;
    this.serverTimeMs = null;
    /** Wall time (browser) of the last message: freshness of the connection itself. */
    this.lastMessageAt = null;
    this.revision = 0;
    this.ready = false;
  }

  /** Applies one stream message; true when values changed. */
  apply(kind, body) {
    this.lastMessageAt = Date.now();
    if (body.watermark !== undefined) this.watermarkMs = body.watermark === null ? null : Date.parse(body.watermark);
    if (body.serverTime !== undefined) this.serverTimeMs = Date.parse(body.serverTime);
    switch (kind) {
      case 'snapshot': {
        this.pending ??= new Map();
        for (const v of body.values) this.pending.set(keyOf(v), v);
        if (body.more === true) return false;
        this.values = this.pending;
        this.pending = null;
        this.ready = true;
        this.revision++;
        return true;
      }
      case 'delta': {
        for (const v of body.values) this.values.set(keyOf(v), v);
        for (const r of body.removed ?? []) this.values.delete(keyOf(r));
        this.revision++;
        return true;
      }
      case 'reset':
        // A fresh snapshot follows on the same stream; keep showing the old values until it is complete.
        this.pending = null;
        return false;
      default:
        return false;
    }
  }

  /** A connection was dropped mid-snapshot: its chunks are worthless. */
  abandonPartial() {
    this.pending = null;
  }

  /** The current value of one indicator in one window kind and scope, or undefined. */
  get(indicator, windowKind, scopeKind, code = '') {
    for (const v of this.values.values()) {
      if (v.indicator === indicator && v.window.kind === windowKind && v.window.current && v.scope.kind === scopeKind && (code === '' || v.scope.code === code)) return v;
    }
    return undefined;
  }

  /** Every current value of one indicator in one window kind over scopes of a kind. */
  list(indicator, windowKind, scopeKind) {
    const out = [];
    for (const v of this.values.values()) {
      if (v.indicator === indicator && v.window.kind === windowKind && v.window.current && v.scope.kind === scopeKind) out.push(v);
    }
    return out;
  }
}
