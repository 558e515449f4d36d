/**
 * Writes the Kubernetes manifests of deploy/k8s/base from one table (one file per process:
 * Deployment + Service + HorizontalPodAutoscaler + PodDisruptionBudget), so that the nine processes
 * cannot drift apart. `--check` fails when the checked-in files differ (npm test runs the check
 * through test/deploy/k8s.test.ts). Edit this file, then `npx tsx scripts/k8s.ts`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { DOMAINS } from "../packages/platform/src/config.ts";

const root = path.resolve(import.meta.dirname, "..");
export const K8S_BASE = path.join(root, "deploy/k8s/base");

export interface Process {
  name: string;
  port: number;
  /** The built entry file (dist layout), run with `node`. */
  entry: string;
  replicas: { min: number; max: number };
  cpu: { request: string };
  memory: { request: string; limit: string };
}

export const PROCESSES: Process[] = [
  {
    name: "gateway",
    port: 4000,
    entry: "gateway/src/index.js",
    replicas: { min: 2, max: 10 },
    cpu: { request: "500m" },
    memory: { request: "384Mi", limit: "768Mi" },
  },
  ...DOMAINS.map((d, i) => ({
    name: d,
    port: 4001 + i,
    entry: `subgraphs/${d}/src/index.js`,
    replicas: { min: 2, max: 6 },
    cpu: { request: "250m" },
    memory: { request: "256Mi", limit: "512Mi" },
  })),
  {
    name: "workers",
    port: 4008,
    entry: "scripts/workers.js",
    replicas: { min: 1, max: 4 },
    cpu: { request: "250m" },
    memory: { request: "384Mi", limit: "768Mi" },
  },
];

const labels = (name: string) => ({ "app.kubernetes.io/name": "mallgraph", "app.kubernetes.io/component": name });

function manifests(p: Process): object[] {
  const meta = { name: p.name, labels: labels(p.name) };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        replicas: p.replicas.min,
        revisionHistoryLimit: 5,
        selector: { matchLabels: labels(p.name) },
        // Rolling upgrades never drop below the wanted count (see docs/operations-runbook.md).
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: {
            labels: labels(p.name),
            annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(p.port), "prometheus.io/path": "/metrics" },
          },
          spec: {
            terminationGracePeriodSeconds: 30,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              runAsGroup: 1000,
              fsGroup: 1000,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: p.name,
                image: "mallgraph",
                command: ["node", p.entry],
                ports: [{ name: "http", containerPort: p.port, protocol: "TCP" }],
                envFrom: [{ configMapRef: { name: "mallgraph-config" } }, { secretRef: { name: "mallgraph-secrets" } }],
                env: [{ name: "OTEL_SERVICE_NAME", value: `mallgraph-${p.name}` }],
                readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                livenessProbe: {
                  httpGet: { path: "/health", port: "http" },
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 3,
                },
                startupProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 2, failureThreshold: 30 },
                // Taken out of the Service before SIGTERM: in-flight requests finish, new ones go elsewhere.
                lifecycle: { preStop: { exec: { command: ["sleep", "5"] } } },
                resources: { requests: { cpu: p.cpu.request, memory: p.memory.request }, limits: { memory: p.memory.limit } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              },
            ],
            volumes: [{ name: "tmp", emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta,
      spec: { type: "ClusterIP", selector: labels(p.name), ports: [{ name: "http", port: p.port, targetPort: "http", protocol: "TCP" }] },
    },
    {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: meta,
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: p.name },
        minReplicas: p.replicas.min,
        maxReplicas: p.replicas.max,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: meta,
      spec: { maxUnavailable: 1, selector: { matchLabels: labels(p.name) } },
    },
  ];
}

export function renderBase(): Map<string, string> {
  const files = new Map<string, string>();
  const header = "# Generated by scripts/k8s.ts: edit the table there, then `npx tsx scripts/k8s.ts`.\n";
  for (const p of PROCESSES)
    files.set(
      `${p.name}.yaml`,
      header +
        manifests(p)
          .map((m) => stringify(m, { lineWidth: 0 }))
          .join("---\n"),
    );
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  mkdirSync(K8S_BASE, { recursive: true });
  for (const [name, text] of renderBase()) {
    const file = path.join(K8S_BASE, name);
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {
      /* new */
    }
    if (current === text) continue;
    if (check) stale.push(name);
    else writeFileSync(file, text);
  }
  if (stale.length) {
    console.error(`deploy/k8s/base is stale (${stale.join(", ")}): run npx tsx scripts/k8s.ts`);
    process.exit(1);
  }
}
