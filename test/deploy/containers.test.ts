/**
 * Docker does not run on the CI machines, so the Dockerfile and docker-compose.yml are parsed
 * (dockerfile-ast, yaml) and held to the rules they exist for.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DOMAINS } from "@mallgraph/platform/config";
import { REPO_ROOT } from "@mallgraph/platform/testing";

const dockerfile = DockerfileParser.parse(readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8"));
const compose = parse(readFileSync(path.join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, any>; volumes: Record<string, unknown> };

/** Instructions of each stage, by stage name. */
function stages(): Map<string, { from: string; steps: Instruction[] }> {
  const args = new Map<string, string>();
  const out = new Map<string, { from: string; steps: Instruction[] }>();
  let current: Instruction[] | undefined;
  for (const i of dockerfile.getInstructions()) {
    const kw = i.getKeyword();
    const text = i.getArgumentsContent() ?? "";
    if (kw === "ARG" && !current) {
      const [k, v] = text.split("=");
      args.set(k!, v ?? "");
    } else if (kw === "FROM") {
      const [image, , name] = text.split(/\s+/);
      current = [];
      out.set(name ?? `stage${out.size}`, { from: image!.replace(/\$\{(\w+)\}/g, (_, a) => args.get(a) ?? ""), steps: current });
    } else current?.push(i);
  }
  return out;
}
/** `KEYWORD --flag=value … arguments` of one instruction. */
const text = (i: Instruction) => {
  const flags = ((i as any).getFlags?.() ?? []).map((f: any) => `--${f.getName()}=${f.getValue()} `).join("");
  return `${i.getKeyword()} ${flags}${i.getArgumentsContent() ?? ""}`;
};

describe("Dockerfile", () => {
  const s = stages();
  const build = s.get("build")!;
  const runtime = [...s.values()].at(-1)!;

  it("builds in a stage with dev dependencies: npm ci without --omit=dev and without NODE_ENV=production before it, then npm run build", () => {
    expect(build).toBeDefined();
    const steps = build.steps.map(text);
    const ci = steps.findIndex((t) => /^RUN .*npm ci\b/.test(t));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(steps[ci]).not.toMatch(/--omit=dev|--production/);
    expect(steps.slice(0, ci).some((t) => /^ENV .*NODE_ENV=production/.test(t))).toBe(false);
    expect(steps.slice(ci).some((t) => /npm run build/.test(t))).toBe(true);
  });

  it("runs the compiled files with node as user node on a slim image with production dependencies only, and no tsx", () => {
    expect(runtime.from).toMatch(/^node:20[\w.-]*-slim$/);
    const steps = runtime.steps.map(text);
    expect(steps.some((t) => /^COPY --from=build \S*dist\/? /.test(t))).toBe(true);
    expect(steps.some((t) => /^RUN .*npm ci --omit=dev/.test(t))).toBe(true);
    expect(steps.some((t) => /^ENV .*NODE_ENV=production/.test(t))).toBe(true);
    const user = steps.filter((t) => t.startsWith("USER ")).at(-1);
    expect(user).toBe("USER node");
    const cmd = JSON.parse(steps.filter((t) => t.startsWith("CMD ")).at(-1)!.slice(4)) as string[];
    expect(cmd[0]).toBe("node");
    expect(cmd[1]).toMatch(/\.js$/);
    expect(steps.join("\n")).not.toMatch(/\btsx\b/);
    // The tracing preload, compiled, is loaded by every node process of the image.
    expect(steps).toContain('ENV NODE_OPTIONS="--import=/app/packages/platform/src/tracing/preload.js"');
  });
});

describe("docker-compose.yml", () => {
  const services = compose.services;
  const apps = Object.entries(services).filter(([, s]) => s.build?.target === "runtime");
  const env = (s: any) => s.environment as Record<string, string>;

  it("runs every subgraph, the workers and the gateway from the built image with `node <file>.js`, each file produced by the build", () => {
    expect(apps.map(([n]) => n).sort()).toEqual([...DOMAINS, "gateway", "workers"].sort());
    for (const [name, s] of apps) {
      expect(s.command[0], name).toBe("node");
      expect(s.command).not.toContain("tsx");
      const source = s.command[1].replace(/\.js$/, ".ts");
      expect(existsSync(path.join(REPO_ROOT, source)), `${name}: ${source}`).toBe(true);
    }
  });

  it("checks each app's health on its /ready, on its own port", () => {
    for (const [name, s] of apps) {
      const port = name === "gateway" ? 4000 : name === "workers" ? 4008 : 4001 + DOMAINS.indexOf(name as (typeof DOMAINS)[number]);
      const test = (s.healthcheck?.test ?? []).join(" ");
      expect(test, name).toContain(`http://127.0.0.1:${port}/ready`);
      expect(s.healthcheck.interval, name).toBeDefined();
      expect(s.healthcheck.retries, name).toBeGreaterThan(0);
    }
    for (const infra of ["postgres", "redis", "elasticsearch"]) expect(services[infra].healthcheck?.test, infra).toBeDefined();
  });

  it("starts things in order: setup after healthy PostgreSQL and Redis, apps after setup, the gateway after healthy subgraphs", () => {
    expect(services.setup.depends_on).toEqual({ postgres: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    for (const [name, s] of apps) expect(s.depends_on.setup, name).toEqual({ condition: "service_completed_successfully" });
    for (const d of DOMAINS) expect(services.gateway.depends_on[d], d).toEqual({ condition: "service_healthy" });
  });

  it("uses the PostgreSQL password in every DATABASE_URL, and Redis's address in every REDIS_URL", () => {
    const password = env(services.postgres).POSTGRES_PASSWORD;
    expect(password).toMatch(/\S/);
    for (const [name, s] of [...apps, ["setup", services.setup] as const]) {
      const url = env(s).DATABASE_URL;
      expect(url, name).toBe(`postgresql://${env(services.postgres).POSTGRES_USER}:${password}@postgres:5432/${env(services.postgres).POSTGRES_DB}`);
      expect(env(s).REDIS_URL, name).toBe("redis://redis:6379");
    }
  });

  it("keeps Elasticsearch behind a profile, data in volumes, and Redis with AOF fsynced every second", () => {
    expect(services.elasticsearch.profiles).toEqual(["search"]);
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(dep, `${name} must not depend on a profiled service`).not.toBe("elasticsearch");
    }
    const mounts = (s: any) => (s.volumes ?? []).map((v: string) => v.split(":")) as string[][];
    expect(mounts(services.postgres)).toContainEqual(["pgdata", "/var/lib/postgresql/data"]);
    expect(mounts(services.redis)).toContainEqual(["redisdata", "/data"]);
    expect(mounts(services.elasticsearch)).toContainEqual(["esdata", "/usr/share/elasticsearch/data"]);
    for (const v of ["pgdata", "redisdata", "esdata"]) expect(Object.keys(compose.volumes)).toContain(v);
    const cmd = (services.redis.command as string[]).join(" ");
    expect(cmd).toContain("--appendonly yes");
    expect(cmd).toContain("--appendfsync everysec");
  });
});
