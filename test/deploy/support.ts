/**
 * What the deploy tests share: the files under deploy/, running the real tools (promtool, docker-compose,
 * kubectl), each role's configuration as its own schema reads it from an environment, and the PromQL the
 * dashboards and rules use.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYamlText } from 'yaml';
import * as aggregatorConfig from '../../services/aggregator/src/config.js';
import * as gatewayConfig from '../../services/gateway/src/config.js';
import * as viewConfig from '../../services/view/src/config.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEPLOY = join(ROOT, 'deploy');

export function deployPath(...parts: string[]): string {
  return join(DEPLOY, ...parts);
}

export function readDeploy(...parts: string[]): string {
  return readFileSync(deployPath(...parts), 'utf8');
}

/** YAML with merge keys (`<<: *anchor`), as compose files use them. */
export function parseYaml<T = unknown>(text: string): T {
  return parseYamlText(text, { merge: true }) as T;
}

export function parseYamlDocuments<T = unknown>(text: string): T[] {
  return parseAllDocuments(text, { merge: true })
    .map((d) => d.toJS() as T)
    .filter((d) => d !== null && d !== undefined);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion (bounded), never throwing on a non-zero exit: tests assert on the code. */
export function run(file: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
      },
    );
  });
}

export type Role = 'gateway' | 'aggregator' | 'view';
export const ROLES: readonly Role[] = ['gateway', 'aggregator', 'view'];

export interface RolePorts {
  http: number;
  grpc?: number;
}

export interface RoleConfig {
  problems: string[];
  ports?: RolePorts;
  /** gateway only: where it reads API keys from. */
  keysFile?: string;
  brokers?: string[];
}

/**
 * A role's configuration from an environment, read by the role's own code (its env reader and zod schema),
 * so a renamed setting or a wrong value shows up as a problem here exactly as it would at start-up.
 */
export function roleConfig(role: Role, env: Record<string, string>): RoleConfig {
  const problems: string[] = [];
  const noFile = (file: string): string => {
    throw new Error(`unexpected config file ${file}`);
  };
  if (role === 'gateway') {
    const input = gatewayConfig.configInputFromEnv(env, noFile, problems);
    const parsed = gatewayConfig.gatewayConfigSchema.safeParse(input);
    if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    if (!parsed.success) return { problems };
    const c = parsed.data;
    return { problems, ports: { http: c.http.port, grpc: c.grpc.port }, keysFile: c.auth.keysFile, brokers: c.kafka.brokers };
  }
  if (role === 'aggregator') {
    const input = aggregatorConfig.configInputFromEnv(env, noFile, problems);
    try {
      const c = aggregatorConfig.parseConfig(input, problems);
      return { problems, ports: { http: c.http.port }, brokers: c.kafka.brokers };
    } catch (err) {
      return { problems: (err as aggregatorConfig.ConfigError).problems?.slice() ?? [String(err)] };
    }
  }
  const input = viewConfig.configInputFromEnv(env, noFile, problems);
  try {
    const c = viewConfig.resolveConfig(input, problems);
    return { problems, ports: { http: c.http.port, grpc: c.grpc.port }, brokers: c.kafka.brokers ?? [] };
  } catch (err) {
    return { problems: (err as viewConfig.ConfigError).problems?.slice() ?? [String(err)] };
  }
}

// ---- PromQL in the rules and dashboards --------------------------------------------------------------------

export interface RuleDef {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
}

export function ruleFiles(): string[] {
  return ['prometheus/rules/iocbus.yml'];
}

export function loadRules(): RuleDef[] {
  const rules: RuleDef[] = [];
  for (const file of ruleFiles()) {
    const doc = parseYaml<{ groups: { rules: RuleDef[] }[] }>(readDeploy(file));
    for (const g of doc.groups) rules.push(...g.rules);
  }
  return rules;
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: TemplateVar[] };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
  panels?: Panel[];
  gridPos: { x: number; y: number; w: number; h: number };
}

export interface TemplateVar {
  name: string;
  type: string;
  query: string | { query: string };
  options?: { value: string }[];
  allValue?: string;
  datasource?: { type: string; uid: string };
}

export const DASHBOARD_FILES = ['iocbus-operations.json', 'iocbus-ioc.json'];

export function loadDashboards(): Dashboard[] {
  return DASHBOARD_FILES.map((f) => JSON.parse(readDeploy('grafana', 'dashboards', f)) as Dashboard);
}

export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(d: Dashboard): DashboardQuery[] {
  return allPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.uid, panel: p.title, expr: t.expr })));
}

/** `label_values(<selector>, <label>)` of a query variable, split into its parts. */
export function labelValuesQuery(v: TemplateVar): { selector: string; label: string } | undefined {
  const q = typeof v.query === 'string' ? v.query : v.query.query;
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(q.trim());
  return m === null ? undefined : { selector: m[1] as string, label: m[2] as string };
}

/**
 * Every concrete query Grafana would send for an expression: custom variables take each of their options,
 * query variables with "All" take their allValue, and $__rate_interval a fixed window.
 */
export function expandVariables(expr: string, vars: readonly TemplateVar[], rateInterval = '1m'): string[] {
  let out = [expr.replaceAll('$__rate_interval', rateInterval)];
  for (const v of vars) {
    const token = `$${v.name}`;
    if (!out.some((e) => e.includes(token))) continue;
    const values = v.type === 'custom' ? (v.options ?? []).map((o) => o.value) : [v.allValue ?? '.*'];
    out = out.flatMap((e) => values.map((value) => e.replaceAll(token, value)));
  }
  return out;
}

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * Metric names an expression reads: identifiers that are not functions, keywords, label names or durations.
 * Recording-rule names (with a colon) are included; callers resolve them.
 */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{?[A-Za-z_]\w*\}?/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const before = s[m.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // 1e3, 1h
    if (s.slice(m.index + m[0].length).trimStart().startsWith('(')) continue; // a function
    if (NOT_METRICS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** Sample names of a Prometheus text exposition (histograms give their _bucket, _sum and _count). */
export function exposedSampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line);
    if (m !== null) names.add(m[0]);
  }
  return names;
}
