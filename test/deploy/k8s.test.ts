/**
 * deploy/k8s, offline: every manifest is validated against the Kubernetes JSON schemas compiled into
 * the `kubernetes-models` package (required fields, types, enums, formats), the kustomizations name
 * files that exist, the generated base matches scripts/k8s.ts, and the rules the manifests exist for
 * hold (probes, HPA on CPU, a PodDisruptionBudget per Deployment, Services on the right ports).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { DOMAINS } from "@mallgraph/platform/config";
import { REPO_ROOT } from "@mallgraph/platform/testing";
import { K8S_BASE, PROCESSES, renderBase } from "../../scripts/k8s.ts";

const K8S = path.join(REPO_ROOT, "deploy/k8s");
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "v1/Service": Service,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "batch/v1/Job": Job,
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    return statSync(p).isDirectory() ? yamlFiles(p) : e.endsWith(".yaml") ? [p] : [];
  });
}

const docs = yamlFiles(K8S).flatMap((file) =>
  parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { file: path.relative(K8S, file), obj: d.toJS() as any };
  }),
);
const manifests = docs.filter((d) => !d.obj.apiVersion?.startsWith("kustomize.config.k8s.io"));
const inBase = (kind: string) => manifests.filter((d) => d.file.startsWith("base/") && d.obj.kind === kind).map((d) => d.obj);

describe("Kubernetes manifests (deploy/k8s)", () => {
  it("validates every manifest against the Kubernetes schemas", () => {
    expect(manifests.length).toBeGreaterThan(30);
    for (const { file, obj } of manifests) {
      const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
      expect(Model, `${file}: no schema for ${obj.apiVersion} ${obj.kind}`).toBeDefined();
      expect(() => new Model!(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name ?? obj.metadata?.generateName}`).not.toThrow();
    }
  });

  it("the schema check has teeth: a wrong type or a missing field is refused", () => {
    const dep = structuredClone(inBase("Deployment")[0]);
    dep.spec.template.spec.containers[0].ports[0].containerPort = "4000";
    expect(() => new Deployment(dep).validate()).toThrow(/containerPort must be integer/);
    const hpa = structuredClone(inBase("HorizontalPodAutoscaler")[0]);
    delete hpa.spec.maxReplicas;
    expect(() => new HorizontalPodAutoscaler(hpa).validate()).toThrow(/maxReplicas/);
  });

  it("kustomizations list files that exist, and the base lists every file in it", () => {
    for (const { file, obj } of docs.filter((d) => d.obj.kind === "Kustomization")) {
      for (const r of obj.resources ?? []) expect(existsSync(path.join(K8S, path.dirname(file), r)), `${file}: ${r}`).toBe(true);
    }
    const base = docs.find((d) => d.file === "base/kustomization.yaml")!.obj;
    const files = readdirSync(K8S_BASE).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...base.resources].sort()).toEqual(files.sort());
  });

  it("the base is what scripts/k8s.ts generates (run `npx tsx scripts/k8s.ts` after editing its table)", () => {
    for (const [name, text] of renderBase()) expect(readFileSync(path.join(K8S_BASE, name), "utf8"), name).toBe(text);
  });

  it("runs the gateway, each subgraph and the workers as a Deployment with /ready and /health probes, built JS, config and secrets", () => {
    const deployments = inBase("Deployment");
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(["gateway", ...DOMAINS, "workers"].sort());
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      expect(c.readinessProbe.httpGet, d.metadata.name).toEqual({ path: "/ready", port: "http" });
      expect(c.livenessProbe.httpGet, d.metadata.name).toEqual({ path: "/health", port: "http" });
      expect(c.command[0]).toBe("node");
      expect(existsSync(path.join(REPO_ROOT, c.command[1].replace(/\.js$/, ".ts"))), c.command[1]).toBe(true);
      expect(c.envFrom).toEqual([{ configMapRef: { name: "mallgraph-config" } }, { secretRef: { name: "mallgraph-secrets" } }]);
      expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
      expect(c.resources.requests.cpu, "an HPA on CPU needs a CPU request").toBeDefined();
      expect(d.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
    }
  });

  it("gives each Deployment a Service on its port, an HPA on CPU and a PodDisruptionBudget selecting its pods", () => {
    const services = new Map(inBase("Service").map((s) => [s.metadata.name, s]));
    const hpas = new Map(inBase("HorizontalPodAutoscaler").map((h) => [h.spec.scaleTargetRef.name, h]));
    const pdbs = inBase("PodDisruptionBudget");
    for (const d of inBase("Deployment")) {
      const name = d.metadata.name;
      const port = d.spec.template.spec.containers[0].ports[0].containerPort;
      expect(PROCESSES.find((p) => p.name === name)!.port).toBe(port);
      const svc = services.get(name)!;
      expect(svc.spec.selector, name).toEqual(d.spec.selector.matchLabels);
      expect(svc.spec.ports[0]).toMatchObject({ port, targetPort: "http" });
      const hpa = hpas.get(name)!;
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name });
      expect(hpa.spec.metrics).toContainEqual({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } });
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
      expect(pdbs.filter((p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(d.spec.selector.matchLabels)), name).toHaveLength(1);
    }
  });

  it("points the gateway at each subgraph's Service", () => {
    const cm = inBase("ConfigMap").find((c) => c.metadata.name === "mallgraph-config")!;
    for (const p of PROCESSES.filter((p) => (DOMAINS as readonly string[]).includes(p.name))) {
      expect(cm.data[`${p.name.toUpperCase()}_URL`]).toBe(`http://${p.name}:${p.port}/graphql`);
    }
    expect(cm.data.SERVICE_HOST).toBe("0.0.0.0");
    expect(cm.data.NODE_ENV).toBe("production");
  });
});
