/**
 * The forwarded path's subgraph call alone, CPU µs per call in the calling process (decision 0047):
 * undici's Agent with a dispatch handler (src/datasource.ts's `post`, the normal pipeline's) against the gateway's own
 * keep-alive HTTP/1.1 client (src/http1-client.ts), both against one Node HTTP server in another
 * process that answers a `seckillBuy`-sized JSON body; 50 calls in flight, as the bench's connections.
 *
 *   npx tsx bench/gateway-parts/subgraph-client.ts [calls per run] [rounds]
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { post } from "../../gateway/src/datasource.ts";
import { Http1Client } from "../../gateway/src/http1-client.ts";
import { freePort } from "../../scripts/stack.ts";

const N = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
const port = await freePort();
const serverFile = path.join(os.tmpdir(), `mg-subgraph-client-server-${process.pid}.mjs`);
writeFileSync(
  serverFile,
  `import http from "node:http";
const body = '{"data":{"seckillBuy":{"code":"SOLD_OUT","reservationId":null}}}';
const s = http.createServer((req, res) => { req.resume(); req.on("end", () => res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(body)); });
s.keepAliveTimeout = 65000;
s.listen(${port}, "127.0.0.1", () => process.send("up"));`,
);
const server = fork(serverFile);
await new Promise((r) => server.once("message", r));

const origin = `http://127.0.0.1:${port}`;
const request = JSON.stringify({
  query:
    "mutation SeckillBuy($sessionId: ID!, $skuId: ID!, $quantity: Int!, $idempotencyKey: String!) { seckillBuy(sessionId: $sessionId, skuId: $skuId, quantity: $quantity, idempotencyKey: $idempotencyKey) { code reservationId } }",
  operationName: "SeckillBuy",
  variables: {
    sessionId: "9d7f0c6e-2f7a-4f57-9a43-0d1f4b1c2e3a",
    skuId: "5b1e3c8a-0f0e-4a6b-8d1c-7e2f3a4b5c6d",
    quantity: 1,
    idempotencyKey: "0f8fad5b-d9cb-469f-a165-70867728950e",
  },
});
const identity = `gateway.${"e".repeat(140)}.${"r".repeat(48)}.1764543000000.${"n".repeat(16)}.${"s".repeat(43)}`;

const target = { url: `${origin}/graphql`, origin, path: "/graphql" };
const viaUndici = () =>
  post(
    target,
    { "content-type": "application/json", "x-mg-identity": identity, "x-request-id": "0f8fad5b-d9cb-469f-a165-70867728950e" },
    request,
    10_000,
  ).then((a) => a.body);
const http1 = new Http1Client(origin);
const viaHttp1 = () =>
  http1
    .post(
      "/graphql",
      `content-type: application/json\r\nx-mg-identity: ${identity}\r\nx-request-id: 0f8fad5b-d9cb-469f-a165-70867728950e\r\n`,
      request,
      10_000,
    )
    .then((a) => a.body);

async function run(call: () => Promise<string>): Promise<number> {
  let left = N;
  const t0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (left-- > 0) if (!(await call()).startsWith('{"data"')) throw new Error("bad answer");
    }),
  );
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / N;
}

console.log(`| round | undici dispatch, CPU µs per call | own HTTP/1.1 client, CPU µs per call |\n|---|---|---|`);
await run(viaUndici);
await run(viaHttp1);
for (let r = 0; r < rounds; r++) {
  const [a, b] = r % 2 ? [await run(viaHttp1), await run(viaUndici)].reverse() : [await run(viaUndici), await run(viaHttp1)];
  console.log(`| ${r + 1} | ${a!.toFixed(1)} | ${b!.toFixed(1)} |`);
}
http1.close();
server.kill();
process.exit(0);
