/**
 * The previous release's code, taken from git, for the rolling-upgrade test (issue 14,
 * docs/scaling.md "Rolling upgrades"): which commit it is, and a runnable copy of it.
 *
 * **The previous release of a domain** is
 *   1. the newest tag `release-*` that HEAD contains and that does not point at HEAD itself (the same
 *      commit for every domain), when there is one;
 *   2. otherwise the parent of the commit that added the domain's newest migration: the newest code
 *      that ran on the schema before that migration. A migration from before the expand/contract rule
 *      (`BEFORE_THE_RULE`) was released together with the code that needed it, so no older code ever
 *      ran on it: the previous release is then that commit itself.
 * Without git history (a tarball of the repository, a shallow clone lacking the commit) there is none:
 * `previousRelease` says why, and the test skips saying so.
 *
 * **A runnable copy** (`extractRelease`): `git archive <commit>` into a temporary directory, a
 * `node_modules` of links to this checkout's packages (the same versions; only the workspace's own
 * packages, `@mallgraph/*`, point into the copy), and its Prisma clients generated offline from the
 * copy's own schema (the WASM engine, decision 0002).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { migrations, REPO_ROOT } from "../../packages/platform/src/testing.ts";
import { BEFORE_THE_RULE } from "../../scripts/expand-contract.ts";

const run = promisify(execFile);

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export type Release = { commit: string; why: string; skip?: undefined } | { commit?: undefined; why?: undefined; skip: string };

/** Whether this checkout has the git history the test needs; the reason when not. */
export function gitHistoryProblem(): string | undefined {
  try {
    if (git("rev-parse", "--is-inside-work-tree") !== "true") return "not a git work tree";
  } catch {
    return "no git repository (a copy without history, e.g. a tarball): the previous release's code cannot be taken from git";
  }
  return undefined;
}

/** The previous release of `domain` (see the header), or why there is none here. */
export function previousRelease(domain: string): Release {
  const problem = gitHistoryProblem();
  if (problem) return { skip: problem };
  const head = git("rev-parse", "HEAD");
  const tags = git("tag", "--merged", "HEAD", "--list", "release-*", "--sort=-creatordate")
    .split("\n")
    .filter(Boolean)
    .filter((t) => git("rev-parse", `${t}^{commit}`) !== head);
  if (tags[0]) return { commit: git("rev-parse", `${tags[0]}^{commit}`), why: `tag ${tags[0]}` };
  const newest = migrations(domain).at(-1);
  if (!newest) return { skip: `${domain} has no migrations` };
  const added = git("log", "-1", "--diff-filter=A", "--format=%H", "--", `prisma/${domain}/migrations/${newest.name}/migration.sql`);
  if (!added) return { skip: `git history does not show when ${domain}/${newest.name} was added (a shallow clone?)` };
  if (BEFORE_THE_RULE[`${domain}/${newest.name}`])
    return { commit: added, why: `${domain}/${newest.name} (from before the rule) was released with its code in ${added.slice(0, 7)}` };
  try {
    return { commit: git("rev-parse", `${added}^`), why: `the parent of ${added.slice(0, 7)}, which added ${domain}/${newest.name}` };
  } catch {
    return { skip: `the parent of ${added.slice(0, 7)} is not in this clone (shallow?)` };
  }
}

export interface ExtractedRelease {
  commit: string;
  root: string;
  remove: () => void;
}

/** Links `from`'s entries into `to` (a new directory), but `@mallgraph` → the copy's own workspaces. */
function linkNodeModules(from: string, to: string, copyRoot: string): void {
  mkdirSync(to);
  for (const entry of readdirSync(from)) {
    if (entry === "@mallgraph") {
      mkdirSync(path.join(to, entry));
      for (const pkg of readdirSync(path.join(from, entry))) {
        const here = [path.join(copyRoot, "packages", pkg), path.join(copyRoot, "subgraphs", pkg), path.join(copyRoot, pkg)].find((p) =>
          existsSync(path.join(p, "package.json")),
        );
        if (here) symlinkSync(here, path.join(to, entry, pkg));
      }
    } else symlinkSync(path.join(from, entry), path.join(to, entry));
  }
}

/**
 * A runnable copy of `commit` in a temporary directory, with the Prisma clients of `domains`
 * generated from the copy's schema. `remove()` deletes it.
 */
export async function extractRelease(commit: string, domains: readonly string[]): Promise<ExtractedRelease> {
  const root = mkdtempSync(path.join(os.tmpdir(), `mallgraph-${commit.slice(0, 7)}-`));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    await run("sh", ["-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", commit, root], { cwd: REPO_ROOT });
    linkNodeModules(path.join(REPO_ROOT, "node_modules"), path.join(root, "node_modules"), root);
    // workspaces' own node_modules (versions that differ from the root's)
    for (const ws of ["packages", "subgraphs"])
      for (const name of readdirSync(path.join(REPO_ROOT, ws))) {
        const nm = path.join(REPO_ROOT, ws, name, "node_modules");
        if (existsSync(nm) && existsSync(path.join(root, ws, name))) symlinkSync(nm, path.join(root, ws, name, "node_modules"));
      }
    const prisma = path.join(REPO_ROOT, "node_modules/.bin/prisma");
    await Promise.all(
      domains.map((d) =>
        run(prisma, ["generate", "--config", `prisma/${d}/prisma.config.ts`], {
          cwd: root,
          env: { ...process.env, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
        }),
      ),
    );
    return { commit, root, remove };
  } catch (e) {
    remove();
    throw e;
  }
}
