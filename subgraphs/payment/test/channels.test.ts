/**
 * Channel adapters with keys generated here: Alipay RSA2 requests and notifications, WeChat Pay v3
 * Authorization header, notification signatures and AES-256-GCM resources. The providers' HTTP
 * endpoints are a local fake provider server; nothing leaves the machine.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlipayAdapter, signAlipayRequest, verifyAlipayParams } from "../src/channels/alipay.ts";
import { alipaySignContent, aesGcmDecrypt, aesGcmEncrypt, rawJsonValue, rsaSha256Sign, rsaSha256Verify } from "../src/channels/crypto.ts";
import type { PaymentRecord } from "../src/channels/types.ts";
import { WechatPayAdapter, jsapiPayParams, parseWechatAuthorization, wechatAuthorization } from "../src/channels/wechat.ts";
import { SignatureError } from "../src/errors.ts";
import type { ChannelConfig } from "../src/generated/prisma/client.ts";

const pair = () =>
  generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
const merchantKeys = pair();
const alipayKeys = pair();
const wxMerchantKeys = pair();
const wxPlatformKeys = pair();
const otherKeys = pair();
const API_V3_KEY = randomBytes(16).toString("hex"); // 32 bytes

const payment: PaymentRecord = {
  id: "pay-1",
  checkoutRef: "MGTEST0001",
  buyerId: "member-1",
  orderNo: "O-1",
  subject: "测试订单",
  amount: "88.50",
  currency: "CNY",
  expiresAt: new Date(Date.now() + 900_000),
};

// ------------------------------------------------------------------ fake provider server
interface Seen {
  path: string;
  method: string;
  body: string;
  authOk?: boolean;
  params?: Record<string, string>;
}
const seen: Seen[] = [];
let fakeUrl = "";
let fake: http.Server;
const trades = new Map<string, { status: string; total: string }>();

function wxSigned(res: http.ServerResponse, status: number, payload: unknown) {
  const body = payload === undefined ? "" : JSON.stringify(payload);
  const ts = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(8).toString("hex");
  res.writeHead(status, {
    "content-type": "application/json",
    "wechatpay-timestamp": ts,
    "wechatpay-nonce": nonce,
    "wechatpay-serial": "PLATFORM-SERIAL",
    "wechatpay-signature": rsaSha256Sign(`${ts}\n${nonce}\n${body}\n`, wxPlatformKeys.privateKey),
  });
  res.end(body);
}

beforeAll(async () => {
  fake = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url!, "http://x");
      if (url.pathname === "/gateway.do") {
        // Fake Alipay: checks the RSA2 request signature with the merchant's public key.
        const params = Object.fromEntries(new URLSearchParams(body));
        const ok =
          verifyAlipayParams(params, merchantKeys.publicKey) ||
          rsaSha256Verify(alipaySignContent(params), params.sign!, merchantKeys.publicKey);
        seen.push({ path: url.pathname, method: req.method!, body, params, authOk: ok });
        const key = `${params.method!.replace(/\./g, "_")}_response`;
        const biz = JSON.parse(params.biz_content ?? "{}");
        let node: Record<string, unknown>;
        if (!ok) node = { code: "40002", msg: "Invalid Arguments", sub_code: "isv.invalid-signature" };
        else if (params.method === "alipay.trade.query") {
          const t = trades.get(biz.out_trade_no);
          node = t
            ? {
                code: "10000",
                msg: "Success",
                trade_status: t.status,
                total_amount: t.total,
                trade_no: "2026112222001",
                out_trade_no: biz.out_trade_no,
                send_pay_date: "2026-11-22 10:00:00",
              }
            : { code: "40004", msg: "Business Failed", sub_code: "ACQ.TRADE_NOT_EXIST" };
        } else if (params.method === "alipay.trade.refund")
          node = { code: "10000", msg: "Success", trade_no: "2026112222001", fund_change: "Y", refund_fee: biz.refund_amount };
        else node = { code: "10000", msg: "Success" };
        const raw = JSON.stringify(node);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(`{"${key}":${raw},"sign":"${rsaSha256Sign(raw, alipayKeys.privateKey)}"}`);
        return;
      }
      // Fake WeChat Pay v3: checks the Authorization header with the merchant's public key.
      const auth = parseWechatAuthorization(String(req.headers.authorization ?? ""));
      const message = auth ? `${req.method}\n${url.pathname}${url.search}\n${auth.timestamp}\n${auth.nonce_str}\n${body}\n` : "";
      const authOk =
        !!auth &&
        auth.mchid === "1900000001" &&
        auth.serial_no === "MERCHANT-SERIAL" &&
        rsaSha256Verify(message, auth.signature!, wxMerchantKeys.publicKey);
      seen.push({ path: url.pathname + url.search, method: req.method!, body, authOk });
      if (!authOk) return wxSigned(res, 401, { code: "SIGN_ERROR", message: "bad signature" });
      if (url.pathname === "/v3/pay/transactions/native") return wxSigned(res, 200, { code_url: "weixin://wxpay/bizpayurl?pr=abc123" });
      if (url.pathname === "/v3/pay/transactions/jsapi") return wxSigned(res, 200, { prepay_id: "wx2026112210000001" });
      if (url.pathname.startsWith("/v3/pay/transactions/out-trade-no/") && req.method === "GET") {
        const no = decodeURIComponent(url.pathname.split("/")[5]!);
        const t = trades.get(no);
        if (!t) return wxSigned(res, 404, { code: "ORDER_NOT_EXIST", message: "not found" });
        return wxSigned(res, 200, {
          trade_state: t.status,
          out_trade_no: no,
          transaction_id: "4200000001",
          amount: { total: Number(t.total), currency: "CNY" },
          success_time: "2026-11-22T10:00:00+08:00",
        });
      }
      if (url.pathname.endsWith("/close")) return wxSigned(res, 204, undefined);
      if (url.pathname === "/v3/refund/domestic/refunds") return wxSigned(res, 200, { refund_id: "50000001", status: "SUCCESS" });
      wxSigned(res, 404, { code: "NOT_FOUND" });
    });
  });
  await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => fake.close(() => r())));

const alipayCfg = (over: Partial<ChannelConfig> = {}) =>
  ({
    id: "c1",
    appId: "app",
    channel: "ALIPAY",
    enabled: true,
    providerAppId: "2021000000000001",
    privateKeyPem: merchantKeys.privateKey,
    providerPublicKey: alipayKeys.publicKey,
    gatewayUrl: `${fakeUrl}/gateway.do`,
    tradeType: null,
    ...over,
  }) as unknown as ChannelConfig;
const wechatCfg = (over: Partial<ChannelConfig> = {}) =>
  ({
    id: "c2",
    appId: "app",
    channel: "WECHAT_PAY",
    enabled: true,
    providerAppId: "wx0000000000000001",
    merchantNo: "1900000001",
    certSerial: "MERCHANT-SERIAL",
    platformSerial: "PLATFORM-SERIAL",
    privateKeyPem: wxMerchantKeys.privateKey,
    providerPublicKey: wxPlatformKeys.publicKey,
    apiV3Key: API_V3_KEY,
    gatewayUrl: fakeUrl,
    tradeType: null,
    ...over,
  }) as unknown as ChannelConfig;

describe("Alipay RSA2", () => {
  it("signs the sorted, &-joined parameters with SHA256withRSA (base64)", () => {
    const params = signAlipayRequest(
      { providerAppId: "2021000000000001", privateKeyPem: merchantKeys.privateKey },
      "alipay.trade.page.pay",
      { out_trade_no: "X1", total_amount: "1.00" },
      { notify_url: "http://n" },
    );
    const content = alipaySignContent(params);
    expect(content.split("&").map((kv) => kv.split("=")[0])).toEqual([
      "app_id",
      "biz_content",
      "charset",
      "format",
      "method",
      "notify_url",
      "sign_type",
      "timestamp",
      "version",
    ]);
    expect(content).toContain('biz_content={"out_trade_no":"X1","total_amount":"1.00"}');
    expect(params.sign_type).toBe("RSA2");
    expect(rsaSha256Verify(content, params.sign!, merchantKeys.publicKey)).toBe(true);
    expect(rsaSha256Verify(content.replace("1.00", "2.00"), params.sign!, merchantKeys.publicKey)).toBe(false);
  });

  it("builds a page.pay request the client opens, and an app.pay order string", async () => {
    const adapter = new AlipayAdapter();
    const page = await adapter.createCheckout(payment, alipayCfg(), "http://127.0.0.1:4005/callbacks/alipay");
    expect(page.payload.kind).toBe("REDIRECT");
    const url = new URL(page.payload.url as string);
    const params = Object.fromEntries(url.searchParams);
    expect(params.method).toBe("alipay.trade.page.pay");
    expect(JSON.parse(params.biz_content!)).toMatchObject({
      out_trade_no: "MGTEST0001",
      total_amount: "88.50",
      product_code: "FAST_INSTANT_TRADE_PAY",
      subject: "测试订单",
    });
    expect(rsaSha256Verify(alipaySignContent(params), params.sign!, merchantKeys.publicKey)).toBe(true);
    const app = await adapter.createCheckout(payment, alipayCfg({ tradeType: "APP" }), "http://n");
    const appParams = Object.fromEntries(new URLSearchParams(app.payload.orderString as string));
    expect(appParams.method).toBe("alipay.trade.app.pay");
    expect(JSON.parse(appParams.biz_content!).product_code).toBe("QUICK_MSECURITY_PAY");
    expect(rsaSha256Verify(alipaySignContent(appParams), appParams.sign!, merchantKeys.publicKey)).toBe(true);
  });

  const notify = (over: Record<string, string> = {}, key = alipayKeys.privateKey) => {
    const p: Record<string, string> = {
      notify_id: "n-1",
      notify_time: "2026-11-22 10:00:01",
      app_id: "2021000000000001",
      out_trade_no: "MGTEST0001",
      trade_no: "2026112222001",
      total_amount: "88.50",
      trade_status: "TRADE_SUCCESS",
      gmt_payment: "2026-11-22 10:00:00",
      ...over,
    };
    p.sign = rsaSha256Sign(alipaySignContent(p, ["sign", "sign_type"]), key);
    p.sign_type = "RSA2";
    return p;
  };
  const lookup = async () => alipayCfg();

  it("verifies an asynchronous notification with Alipay's public key", async () => {
    const n = await new AlipayAdapter().verifyNotification({}, Buffer.from(new URLSearchParams(notify()).toString()), lookup);
    expect(n).toMatchObject({
      notifyId: "n-1",
      outTradeNo: "MGTEST0001",
      amount: "88.50",
      currency: "CNY",
      paid: true,
      providerTradeNo: "2026112222001",
    });
    expect(n.paidAt?.toISOString()).toBe("2026-11-22T02:00:00.000Z");
  });

  it("refuses a tampered body, a foreign key and a missing signature", async () => {
    const a = new AlipayAdapter();
    const tampered = { ...notify(), total_amount: "0.01" };
    await expect(a.verifyNotification({}, Buffer.from(new URLSearchParams(tampered).toString()), lookup)).rejects.toBeInstanceOf(
      SignatureError,
    );
    await expect(
      a.verifyNotification({}, Buffer.from(new URLSearchParams(notify({}, otherKeys.privateKey)).toString()), lookup),
    ).rejects.toBeInstanceOf(SignatureError);
    const { sign: _s, ...unsigned } = notify();
    await expect(a.verifyNotification({}, Buffer.from(new URLSearchParams(unsigned).toString()), lookup)).rejects.toBeInstanceOf(
      SignatureError,
    );
    await expect(a.verifyNotification({}, Buffer.from("garbage"), lookup)).rejects.toBeInstanceOf(SignatureError);
  });

  it("queries, refunds and closes through the fake gateway, verifying its signed answers", async () => {
    const a = new AlipayAdapter();
    expect(await a.queryPayment(payment, alipayCfg())).toEqual({ status: "NOT_FOUND" });
    trades.set("MGTEST0001", { status: "TRADE_SUCCESS", total: "88.50" });
    expect(await a.queryPayment(payment, alipayCfg())).toMatchObject({ status: "PAID", amount: "88.50", providerTradeNo: "2026112222001" });
    expect((await a.refund(payment, { id: "r1", amount: "10.00", reason: "test" }, alipayCfg())).status).toBe("SUCCEEDED");
    expect(seen.filter((s) => s.path === "/gateway.do").every((s) => s.authOk)).toBe(true);
    trades.set("MGTEST0001", { status: "WAIT_BUYER_PAY", total: "88.50" });
    expect((await a.close(payment, alipayCfg())).status).toBe("CLOSED");
    // A response signed with another key is refused.
    await expect(a.queryPayment(payment, alipayCfg({ providerPublicKey: otherKeys.publicKey }))).rejects.toThrow(/signature/);
    trades.clear();
  });

  it("cuts the exact signed text out of a response", () => {
    expect(rawJsonValue('{"a_response":{"x":"}{\\"","y":{"z":1}},"sign":"s"}', "a_response")).toBe('{"x":"}{\\"","y":{"z":1}}');
  });
});

describe("WeChat Pay v3", () => {
  it("signs requests in the Authorization header, which the provider verifies", async () => {
    const h = wechatAuthorization(
      { merchantNo: "1900000001", certSerial: "MERCHANT-SERIAL", privateKeyPem: wxMerchantKeys.privateKey },
      "POST",
      "/v3/pay/transactions/native",
      '{"a":1}',
      1700000000,
      "NONCE",
    );
    const f = parseWechatAuthorization(h)!;
    expect(h.startsWith("WECHATPAY2-SHA256-RSA2048 ")).toBe(true);
    expect(f).toMatchObject({ mchid: "1900000001", nonce_str: "NONCE", timestamp: "1700000000", serial_no: "MERCHANT-SERIAL" });
    expect(rsaSha256Verify('POST\n/v3/pay/transactions/native\n1700000000\nNONCE\n{"a":1}\n', f.signature!, wxMerchantKeys.publicKey)).toBe(
      true,
    );

    const adapter = new WechatPayAdapter();
    const native = await adapter.createCheckout(payment, wechatCfg(), "http://127.0.0.1:4005/callbacks/wechat");
    expect(native.payload).toEqual({ kind: "QR_CODE", codeUrl: "weixin://wxpay/bizpayurl?pr=abc123" });
    const req = seen.find((s) => s.path === "/v3/pay/transactions/native")!;
    expect(req.authOk).toBe(true);
    expect(JSON.parse(req.body)).toMatchObject({
      appid: "wx0000000000000001",
      mchid: "1900000001",
      out_trade_no: "MGTEST0001",
      amount: { total: 8850, currency: "CNY" },
      notify_url: "http://127.0.0.1:4005/callbacks/wechat",
    });

    const jsapi = await adapter.createCheckout(payment, wechatCfg({ tradeType: "JSAPI" }), "http://n");
    expect(jsapi.payload).toMatchObject({
      kind: "JSAPI",
      appId: "wx0000000000000001",
      package: "prepay_id=wx2026112210000001",
      signType: "RSA",
    });
    const p = jsapi.payload as any;
    expect(rsaSha256Verify(`${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`, p.paySign, wxMerchantKeys.publicKey)).toBe(true);
    expect(jsapiPayParams("a", "b", wxMerchantKeys.privateKey).paySign).toBeTruthy();

    // A request signed with a key the provider does not know is refused by it.
    await expect(adapter.createCheckout(payment, wechatCfg({ privateKeyPem: otherKeys.privateKey }), "http://n")).rejects.toThrow();
  });

  function notification(over: { tx?: Record<string, unknown>; key?: string; apiKey?: string; ts?: number; event?: string } = {}) {
    const tx = {
      mchid: "1900000001",
      appid: "wx0000000000000001",
      out_trade_no: "MGTEST0001",
      transaction_id: "4200000001",
      trade_state: "SUCCESS",
      success_time: "2026-11-22T10:00:00+08:00",
      amount: { total: 8850, payer_total: 8850, currency: "CNY", payer_currency: "CNY" },
      ...over.tx,
    };
    const nonce = "nonce1234567";
    const body = JSON.stringify({
      id: "EV-0001",
      create_time: "2026-11-22T10:00:01+08:00",
      resource_type: "encrypt-resource",
      event_type: over.event ?? "TRANSACTION.SUCCESS",
      resource: {
        algorithm: "AEAD_AES_256_GCM",
        original_type: "transaction",
        associated_data: "transaction",
        nonce,
        ciphertext: aesGcmEncrypt(over.apiKey ?? API_V3_KEY, nonce, "transaction", JSON.stringify(tx)),
      },
    });
    const ts = String(over.ts ?? Math.floor(Date.now() / 1000));
    const hn = "HEADERNONCE";
    const headers = {
      "wechatpay-timestamp": ts,
      "wechatpay-nonce": hn,
      "wechatpay-serial": "PLATFORM-SERIAL",
      "wechatpay-signature": rsaSha256Sign(`${ts}\n${hn}\n${body}\n`, over.key ?? wxPlatformKeys.privateKey),
    };
    return { headers, body };
  }
  const lookup = async (hint: { platformSerial?: string }) => (hint.platformSerial === "PLATFORM-SERIAL" ? wechatCfg() : null);

  it("verifies the notification signature and decrypts the AES-256-GCM resource", async () => {
    const { headers, body } = notification();
    const n = await new WechatPayAdapter().verifyNotification(headers, Buffer.from(body), lookup);
    expect(n).toMatchObject({
      notifyId: "EV-0001",
      outTradeNo: "MGTEST0001",
      providerTradeNo: "4200000001",
      amount: "88.50",
      currency: "CNY",
      paid: true,
    });
  });

  it("refuses a tampered body, a bad signature, a stale timestamp, a wrong APIv3 key and an unknown serial", async () => {
    const a = new WechatPayAdapter();
    const ok = notification();
    await expect(a.verifyNotification(ok.headers, Buffer.from(ok.body.replace("EV-0001", "EV-0002")), lookup)).rejects.toBeInstanceOf(
      SignatureError,
    );
    const foreign = notification({ key: otherKeys.privateKey });
    await expect(a.verifyNotification(foreign.headers, Buffer.from(foreign.body), lookup)).rejects.toBeInstanceOf(SignatureError);
    const stale = notification({ ts: Math.floor(Date.now() / 1000) - 3600 });
    await expect(a.verifyNotification(stale.headers, Buffer.from(stale.body), lookup)).rejects.toBeInstanceOf(SignatureError);
    const wrongKey = notification({ apiKey: "x".repeat(32) });
    await expect(a.verifyNotification(wrongKey.headers, Buffer.from(wrongKey.body), lookup)).rejects.toThrow(/decrypt/);
    await expect(a.verifyNotification({ ...ok.headers, "wechatpay-serial": "OTHER" }, Buffer.from(ok.body), lookup)).rejects.toBeInstanceOf(
      SignatureError,
    );
    const otherMch = notification({ tx: { mchid: "1900000999" } });
    await expect(a.verifyNotification(otherMch.headers, Buffer.from(otherMch.body), lookup)).rejects.toThrow(/another merchant/);
  });

  it("AES-256-GCM: decrypts what was encrypted, refuses a flipped bit or other associated data", () => {
    const c = aesGcmEncrypt(API_V3_KEY, "123456789012", "ad", '{"ok":true}');
    expect(aesGcmDecrypt(API_V3_KEY, "123456789012", "ad", c)).toBe('{"ok":true}');
    const bytes = Buffer.from(c, "base64");
    bytes[0] ^= 1;
    expect(() => aesGcmDecrypt(API_V3_KEY, "123456789012", "ad", bytes.toString("base64"))).toThrow();
    expect(() => aesGcmDecrypt(API_V3_KEY, "123456789012", "other", c)).toThrow();
  });

  it("queries, closes and refunds through the fake provider, verifying its signed answers", async () => {
    const a = new WechatPayAdapter();
    expect(await a.queryPayment(payment, wechatCfg())).toEqual({ status: "NOT_FOUND" });
    trades.set("MGTEST0001", { status: "SUCCESS", total: "8850" });
    expect(await a.queryPayment(payment, wechatCfg())).toMatchObject({
      status: "PAID",
      amount: "88.50",
      currency: "CNY",
      providerTradeNo: "4200000001",
    });
    expect(await a.refund(payment, { id: "r1", amount: "8.85", reason: "test" }, wechatCfg())).toEqual({
      status: "SUCCEEDED",
      providerRefundNo: "50000001",
    });
    const refundReq = seen.find((s) => s.path === "/v3/refund/domestic/refunds")!;
    expect(JSON.parse(refundReq.body).amount).toEqual({ refund: 885, total: 8850, currency: "CNY" });
    trades.set("MGTEST0001", { status: "NOTPAY", total: "8850" });
    expect((await a.close(payment, wechatCfg())).status).toBe("CLOSED");
    await expect(a.queryPayment(payment, wechatCfg({ providerPublicKey: otherKeys.publicKey }))).rejects.toThrow(/signature/);
    trades.clear();
  });
});
