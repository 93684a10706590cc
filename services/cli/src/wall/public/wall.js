// The IOC wall screen: subscribes to the view's SSE stream and renders province KPIs, the Decision 766
// score, a unit ranking, the last hour's trend and data freshness. Every number on the page carries a
// data-k="indicator|window|scope|field" attribute naming the value it shows (the browser test relies on it).

import { formatAge, formatField, formatVnDate, formatVnTime } from './format.js';
import { QD766_PARTS, STREAM_QUERY, UNITS, shortUnitName, text } from './labels.js';
import { Store } from './model.js';
import { drawBars } from './sparkline.js';
import { connect } from './stream.js';

const params = new URLSearchParams(location.search);
const SILENT_MINUTES = Number(params.get('silent') ?? 30);
const MIN_RESOLVED_FOR_RANKING = Number(params.get('minResolved') ?? 5);
const RANK_ROWS = 6;

const store = new Store();
let lang = params.get('lang') === 'en' || localStorage.getItem('iocbus.lang') === 'en' ? 'en' : 'vi';
if (params.get('lang') === 'vi') lang = 'vi';
let connection = { state: 'connecting', attempt: 0, since: null };
let sources = null;
let minutes = null;
let scheduled = false;

const $ = (id) => document.getElementById(id);

/** Parses data-k="indicator|window|scope|field"; scope is "province" or "unit:H21.17". */
function parseK(k) {
  const [indicator, windowKind, scope, field] = k.split('|');
  const colon = scope.indexOf(':');
  return { indicator, windowKind, scopeKind: colon < 0 ? scope : scope.slice(0, colon), code: colon < 0 ? '' : scope.slice(colon + 1), field };
}

function valueFor(k) {
  const p = parseK(k);
  const v = store.get(p.indicator, p.windowKind, p.scopeKind, p.code);
  return { p, v, raw: v === undefined ? null : (v[p.field] ?? null) };
}

function renderNumbers(root = document) {
  for (const el of root.querySelectorAll('[data-k]')) {
    const { p, v, raw } = valueFor(el.dataset.k);
    const shown = v === undefined && !store.ready ? '…' : formatField(UNITS[p.indicator] ?? 'count', p.field, raw, lang);
    if (el.textContent !== shown) el.textContent = shown;
    el.classList.toggle('na', shown === 'N/A');
  }
}

function renderTexts() {
  document.documentElement.lang = lang;
  document.body.dataset.lang = lang;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = text(lang, el.dataset.t);
  $('lang').textContent = text(lang, 'language');
}

function tone() {
  const rate = store.get('on_time_rate', 'day', 'province')?.value;
  const rateTile = document.querySelector('[data-rate-of]');
  rateTile.dataset.level = rate === null || rate === undefined ? 'none' : rate >= 0.95 ? 'good' : rate >= 0.85 ? 'warn' : 'bad';
  const overdue = store.get('in_process_overdue', 'now', 'province')?.value ?? 0;
  document.querySelector('[data-alert-of]').dataset.level = overdue > 0 ? 'bad' : 'good';
}

function renderScore() {
  const score = store.get('qd766.score', 'month', 'province');
  const ratio = score && score.value !== null && score.denominator ? score.value / score.denominator : 0;
  $('score-fill').style.width = `${(Math.max(0, Math.min(1, ratio)) * 100).toFixed(1)}%`;
  const list = $('parts');
  const rows = QD766_PARTS.map((part) => {
    const v = store.get(part.id, 'month', 'province');
    const target = v?.target ?? 1;
    const reach = v && v.value !== null ? Math.max(0, Math.min(1, v.value / target)) : 0;
    const k = (field) => `${part.id}|month|province|${field}`;
    const hasPoints = v !== undefined && v.maxPoints !== undefined;
    return `<li data-level="${v === undefined || v.value === null ? 'none' : reach >= 0.95 ? 'good' : reach >= 0.8 ? 'warn' : 'bad'}">
      <span class="no">${part.no}</span>
      <span class="name">${part[lang]}</span>
      <span class="bar"><span style="width:${(reach * 100).toFixed(1)}%"></span>${target < 1 ? `<i style="left:${(target * 100).toFixed(0)}%"></i>` : ''}</span>
      <span class="pct" data-k="${k('value')}"></span>
      <span class="pts">${hasPoints ? `<b data-k="${k('points')}"></b>/<span data-k="${k('maxPoints')}"></span>` : '—'}</span>
    </li>`;
  });
  const html = rows.join('');
  if (list.dataset.html !== html) {
    list.innerHTML = html;
    list.dataset.html = html;
  }
}

function rankingRows(values, field, suffix, empty = 'noData') {
  if (values.length === 0) return `<li class="empty">${text(lang, store.ready ? empty : 'noData')}</li>`;
  return values
    .map((v, i) => {
      const name = shortUnitName(v.scope.name, v.scope.code);
      const base = `${v.indicator}|${v.window.kind}|unit:${v.scope.code}`;
      return `<li><span class="pos">${i + 1}</span><span class="unit" title="${v.scope.code}">${escapeHtml(name)}</span><span class="val" data-k="${base}|${field}"></span>${suffix(base)}</li>`;
    })
    .join('');
}

function renderRanking() {
  const onTime = store
    .list('on_time_rate', 'month', 'unit')
    .filter((v) => v.value !== null && (v.denominator ?? 0) >= MIN_RESOLVED_FOR_RANKING)
    .sort((a, b) => a.value - b.value || (b.denominator ?? 0) - (a.denominator ?? 0) || a.scope.code.localeCompare(b.scope.code))
    .slice(0, RANK_ROWS);
  const overdue = store
    .list('in_process_overdue', 'now', 'unit')
    .filter((v) => (v.value ?? 0) > 0)
    .sort((a, b) => b.value - a.value || a.scope.code.localeCompare(b.scope.code))
    .slice(0, RANK_ROWS);
  const a = rankingRows(onTime, 'value', (base) => `<span class="of"><span data-k="${base}|numerator"></span>/<span data-k="${base}|denominator"></span></span>`);
  const b = rankingRows(overdue, 'value', (base) => {
    const code = base.split('|')[2];
    return `<span class="of"><span data-k="in_process|now|${code}|value"></span> ${text(lang, 'inProcess')}</span>`;
  }, 'noOverdue');
  for (const [id, html] of [['rank-ontime', a], ['rank-overdue', b]]) {
    const el = $(id);
    if (el.dataset.html !== html) {
      el.innerHTML = html;
      el.dataset.html = html;
    }
  }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Server clock minus browser clock, from the last message or poll that carried the server's time. */
let clockOffset = null;
function calibrate(serverIso) {
  const t = Date.parse(serverIso);
  if (Number.isFinite(t)) clockOffset = t - Date.now();
}

function serverNow() {
  // The server's clock (the simulated one in a demo), which is what "now" means for the data shown.
  return Date.now() + (clockOffset ?? 0);
}

function renderTrend() {
  const received = minutes?.received ?? [];
  const resolved = minutes?.resolved ?? [];
  const max = Math.max(1, ...received, ...resolved);
  drawBars($('spark-received'), received, max);
  drawBars($('spark-resolved'), resolved, max);
  $('spark-end').textContent = minutes === null ? '' : formatVnTime(Date.parse(minutes.end) + 60000, false);
  $('spark-start').textContent = minutes === null ? '' : formatVnTime(Date.parse(minutes.end) - 59 * 60000, false);
}

function renderStatus() {
  const s = connection.state;
  document.body.dataset.connection = s;
  $('conn-text').textContent = text(lang, s === 'live' ? 'live' : s === 'connecting' ? 'connecting' : 'offline');
  const banner = $('banner');
  banner.hidden = s !== 'reconnecting';
  if (s === 'reconnecting') {
    const since = connection.since === null ? '' : ` · ${formatAge(Date.now() - connection.since, lang)}`;
    $('banner-title').textContent = text(lang, 'reconnecting');
    $('banner-detail').textContent = `${text(lang, 'reconnectingDetail')} (${text(lang, 'attempt')} ${Math.max(1, connection.attempt)}${since})`;
  }
  const w = store.watermarkMs;
  $('asof').textContent = w === null ? '—' : `${formatVnTime(w)} ${formatVnDate(w, lang)}`;
  $('clock').textContent = formatVnTime(serverNow(), false);
}

function renderFreshness() {
  const list = $('fresh-list');
  const summary = $('fresh-summary');
  if (sources === null) {
    summary.textContent = '';
    list.innerHTML = '';
    return;
  }
  const now = Date.parse(sources.serverTime);
  const limit = SILENT_MINUTES * 60000;
  const all = sources.sources.map((s) => ({ ...s, silentMs: now - Date.parse(s.lastSeen), upTo: Date.parse(s.lastEvent) }));
  const silent = all.filter((s) => s.silentMs > limit).sort((a, b) => b.silentMs - a.silentMs);
  summary.textContent = silent.length === 0 ? text(lang, 'allSourcesFresh', { n: all.length, m: SILENT_MINUTES }) : `${text(lang, 'silentSources', { m: SILENT_MINUTES })}:`;
  summary.dataset.level = silent.length === 0 ? 'good' : 'bad';
  const html = silent
    .slice(0, 4)
    .map((s) => `<li><code>${escapeHtml(s.source)}</code> ${text(lang, 'silentFor')} <b>${formatAge(s.silentMs, lang)}</b> · ${text(lang, 'dataUpTo')} ${formatVnTime(s.upTo, false)}</li>`)
    .join('');
  if (list.dataset.html !== html) {
    list.innerHTML = html;
    list.dataset.html = html;
  }
}

function render() {
  scheduled = false;
  renderScore();
  renderRanking();
  renderNumbers();
  tone();
  renderTrend();
  renderStatus();
  renderFreshness();
  document.body.dataset.revision = String(store.revision);
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

async function pollSources() {
  try {
    const r = await fetch('/wall/sources.json', { cache: 'no-store' });
    sources = r.ok ? await r.json() : sources;
    if (r.ok) calibrate(sources.serverTime);
  } catch {
    // The stream's state already tells the room the server is unreachable.
  }
  schedule();
}

async function pollMinutes() {
  try {
    const r = await fetch('/wall/minutes.json', { cache: 'no-store' });
    if (r.ok) {
      minutes = await r.json();
      calibrate(minutes.serverTime);
    }
  } catch {
    // Shown as stale by the connection state.
  }
  schedule();
}

async function loadConfig() {
  try {
    const r = await fetch('/wall/config.json', { cache: 'no-store' });
    if (!r.ok) return;
    const c = await r.json();
    $('province').textContent = c.provinceName ? `· ${c.provinceName}` : '';
    $('simulated').hidden = c.simulated !== true;
  } catch {
    // Cosmetic only.
  }
}

$('lang').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem('iocbus.lang', lang);
  renderTexts();
  for (const el of document.querySelectorAll('[data-html]')) delete el.dataset.html;
  render();
});

renderTexts();
render();
void loadConfig();
void pollSources();
void pollMinutes();
setInterval(pollSources, 10000);
setInterval(pollMinutes, 5000);
setInterval(schedule, 1000);
connect(`/v1/indicators:stream?${STREAM_QUERY}`, {
  onMessage(kind, body) {
    if (kind === 'heartbeat') calibrate(body.serverTime);
    if (store.apply(kind, body) || kind === 'heartbeat') schedule();
  },
  onState(state, info) {
    connection = { state, ...info };
    if (state === 'live') {
      void pollSources();
      void pollMinutes();
    }
    schedule();
  },
  onDrop() {
    store.abandonPartial();
  },
});
