/**
 * The SMTP provider end to end: the worker, configured with SMTP_URL, sends an EMAIL job through
 * nodemailer to a minimal SMTP server on 127.0.0.1 (nothing leaves the machine).
 */
import net from "node:net";
import { loadConfig } from "@mallgraph/platform/config";
import { createQueue, QueueName } from "@mallgraph/platform/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkers } from "../src/worker.ts";
import { createHarness, waitFor, type Harness } from "./helpers.ts";

function fakeSmtp(): Promise<{ port: number; mails: string[]; close: () => Promise<void> }> {
  const mails: string[] = [];
  const server = net.createServer((sock) => {
    let data = false;
    let buf = "";
    sock.write("220 fake ESMTP\r\n");
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      for (;;) {
        if (data) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          mails.push(buf.slice(0, end));
          buf = buf.slice(end + 5);
          data = false;
          sock.write("250 queued\r\n");
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl).toUpperCase();
        buf = buf.slice(nl + 2);
        if (line.startsWith("EHLO") || line.startsWith("HELO")) sock.write("250 fake\r\n");
        else if (line.startsWith("DATA")) {
          data = true;
          sock.write("354 go on\r\n");
        } else if (line.startsWith("QUIT")) sock.end("221 bye\r\n");
        else sock.write("250 ok\r\n");
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ port: (server.address() as net.AddressInfo).port, mails, close: () => new Promise<void>((r) => server.close(() => r())) }),
    ),
  );
}

describe("SMTP provider", () => {
  let h: Harness;
  let smtp: Awaited<ReturnType<typeof fakeSmtp>>;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    h = await createHarness({ workers: false });
    smtp = await fakeSmtp();
    const config = loadConfig({ ...h.config, SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, MAIL_FROM: "shop <shop@mallgraph.test>" } as any);
    stop = await startWorkers(config);
  });
  afterAll(async () => {
    await stop?.();
    await smtp?.close();
    await h?.close();
  });

  it("sends EMAIL through SMTP when SMTP_URL is set; SMS still goes to the message center", async () => {
    const q = createQueue({ redisUrl: h.config.REDIS_URL, redisPrefix: h.config.REDIS_PREFIX }, QueueName.messages);
    await q.add("send", {
      channel: "EMAIL",
      recipient: "wang@example.test",
      template: "order-paid",
      params: { orderNo: "MG001", amount: "12.50", currency: "CNY" },
    });
    await q.add("send", { channel: "SMS", recipient: "13600000000", template: "sms-code", params: { code: "654321" } });
    const mail = await waitFor(async () => smtp.mails[0], "the e-mail at the SMTP server");
    expect(mail).toContain("To: wang@example.test");
    expect(mail).toContain("shop@mallgraph.test");
    expect(mail).toContain("Order MG001 is paid (12.50 CNY)");
    const rows = await waitFor(async () => {
      const r = await h.sg.services.prisma.message.findMany({
        where: { recipient: { in: ["wang@example.test", "13600000000"] }, status: "SENT" },
        orderBy: { channel: "asc" },
      });
      return r.length === 2 ? r : null;
    }, "both messages stored as SENT");
    expect(rows.map((r) => [r.channel, r.provider])).toEqual([
      ["SMS", "message-center"],
      ["EMAIL", "smtp"],
    ]);
    expect(smtp.mails).toHaveLength(1);
    await q.close();
  });
});
