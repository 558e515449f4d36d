/**
 * A local fake of the Alipay gateway and the WeChat Pay APIv3 host: it verifies the merchant's
 * request signatures, keeps trades in memory, answers signed, and can build the notifications the
 * real providers would send. Nothing leaves the machine.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { alipaySignContent, aesGcmEncrypt, rsaSha256Sign, rsaSha256Verify } from "../src/channels/crypto.ts";
import { parseWechatAuthorization } from "../src/channels/wechat.ts";

export const rsaPair = () =>
  generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });

export interface FakeTrade {
  status: "WAIT" | "PAID" | "CLOSED";
  amount: string;
  refunds: Array<{ no: string; amount: string }>;
}

export async function startFakeProvider() {
  const keys = { alipayMerchant: rsaPair(), alipay: rsaPair(), wxMerchant: rsaPair(), wxPlatform: rsaPair() };
  const wx = {
    mchid: "1900000001",
    appid: "wx0000000000000001",
    serial: "MERCHANT-SERIAL",
    platformSerial: "PLATFORM-SERIAL",
    apiV3Key: randomBytes(16).toString("hex"),
  };
  const alipayAppId = "2021000000000009";
  const trades = new Map<string, FakeTrade>();
  const rejected: string[] = [];
  /** What WeChat Pay answers a refund request with, and each refund's current state. */
  const settings = { wxRefundAnswer: "SUCCESS" as "SUCCESS" | "PROCESSING" };
  const refundStatus = new Map<string, string>();

  const wxAnswer = (res: http.ServerResponse, status: number, payload?: unknown) => {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(8).toString("hex");
    res
      .writeHead(status, {
        "content-type": "application/json",
        "wechatpay-timestamp": ts,
        "wechatpay-nonce": nonce,
        "wechatpay-serial": wx.platformSerial,
        "wechatpay-signature": rsaSha256Sign(`${ts}\n${nonce}\n${body}\n`, keys.wxPlatform.privateKey),
      })
      .end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url!, "http://x");
      if (url.pathname === "/gateway.do") {
        const p = Object.fromEntries(new URLSearchParams(body));
        const key = `${p.method!.replace(/\./g, "_")}_response`;
        let node: Record<string, unknown>;
        if (!rsaSha256Verify(alipaySignContent(p), p.sign!, keys.alipayMerchant.publicKey)) {
          rejected.push(p.method!);
          node = { code: "40002", msg: "Invalid Arguments", sub_code: "isv.invalid-signature" };
        } else {
          const biz = JSON.parse(p.biz_content!);
          const t = trades.get(biz.out_trade_no);
          if (!t) node = { code: "40004", msg: "Business Failed", sub_code: "ACQ.TRADE_NOT_EXIST" };
          else if (p.method === "alipay.trade.query")
            node = {
              code: "10000",
              msg: "Success",
              out_trade_no: biz.out_trade_no,
              trade_no: `ALI${biz.out_trade_no}`,
              total_amount: t.amount,
              trade_status: { WAIT: "WAIT_BUYER_PAY", PAID: "TRADE_SUCCESS", CLOSED: "TRADE_CLOSED" }[t.status],
              send_pay_date: "2026-11-22 10:00:00",
            };
          else if (p.method === "alipay.trade.close") {
            if (t.status === "WAIT") t.status = "CLOSED";
            node =
              t.status === "CLOSED"
                ? { code: "10000", msg: "Success" }
                : { code: "40004", msg: "Business Failed", sub_code: "ACQ.TRADE_STATUS_ERROR" };
          } else if (p.method === "alipay.trade.refund") {
            t.refunds.push({ no: biz.out_request_no, amount: biz.refund_amount });
            node = { code: "10000", msg: "Success", trade_no: `ALI${biz.out_trade_no}`, fund_change: "Y", refund_fee: biz.refund_amount };
          } else node = { code: "40004", msg: "Business Failed", sub_code: "ACQ.UNKNOWN" };
        }
        const raw = JSON.stringify(node);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(`{"${key}":${raw},"sign":"${rsaSha256Sign(raw, keys.alipay.privateKey)}"}`);
        return;
      }
      const a = parseWechatAuthorization(String(req.headers.authorization ?? ""));
      const ok =
        !!a &&
        a.mchid === wx.mchid &&
        a.serial_no === wx.serial &&
        rsaSha256Verify(
          `${req.method}\n${url.pathname}${url.search}\n${a.timestamp}\n${a.nonce_str}\n${body}\n`,
          a.signature!,
          keys.wxMerchant.publicKey,
        );
      if (!ok) {
        rejected.push(url.pathname);
        return wxAnswer(res, 401, { code: "SIGN_ERROR", message: "signature verification failed" });
      }
      const json = body ? JSON.parse(body) : {};
      if (url.pathname === "/v3/pay/transactions/native") {
        trades.set(json.out_trade_no, { status: "WAIT", amount: String(json.amount.total), refunds: [] });
        return wxAnswer(res, 200, { code_url: `weixin://wxpay/bizpayurl?pr=${json.out_trade_no}` });
      }
      const m = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)(\/close)?$/.exec(url.pathname);
      if (m) {
        const t = trades.get(decodeURIComponent(m[1]!));
        if (!t) return wxAnswer(res, 404, { code: "ORDER_NOT_EXIST", message: "order not exist" });
        if (m[2]) {
          if (t.status === "WAIT") t.status = "CLOSED";
          return wxAnswer(res, 204);
        }
        return wxAnswer(res, 200, {
          out_trade_no: m[1],
          transaction_id: `WX${m[1]}`,
          trade_state: { WAIT: "NOTPAY", PAID: "SUCCESS", CLOSED: "CLOSED" }[t.status],
          amount: { total: Number(t.amount), currency: "CNY" },
          success_time: new Date().toISOString(),
        });
      }
      if (url.pathname === "/v3/refund/domestic/refunds") {
        const t = trades.get(json.out_trade_no);
        if (!t) return wxAnswer(res, 404, { code: "RESOURCE_NOT_EXISTS", message: "no trade" });
        t.refunds.push({ no: json.out_refund_no, amount: String(json.amount.refund) });
        refundStatus.set(json.out_refund_no, settings.wxRefundAnswer);
        return wxAnswer(res, 200, {
          refund_id: `RF${json.out_refund_no}`,
          out_refund_no: json.out_refund_no,
          status: settings.wxRefundAnswer,
        });
      }
      const rq = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(url.pathname);
      if (rq && req.method === "GET") {
        const no = decodeURIComponent(rq[1]!);
        const st = refundStatus.get(no);
        if (!st) return wxAnswer(res, 404, { code: "RESOURCE_NOT_EXISTS", message: "no refund" });
        return wxAnswer(res, 200, { refund_id: `RF${no}`, out_refund_no: no, status: st });
      }
      wxAnswer(res, 404, { code: "NOT_FOUND" });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    keys,
    wx,
    alipayAppId,
    trades,
    rejected,
    settings,
    refundStatus,
    /** Alipay's asynchronous notification for a paid trade (form parameters, RSA2-signed by "Alipay"). */
    alipayNotification(outTradeNo: string, amount: string, over: Record<string, string> = {}) {
      const p: Record<string, string> = {
        notify_id: `ali-${outTradeNo}`,
        notify_type: "trade_status_sync",
        notify_time: "2026-11-22 10:00:01",
        app_id: alipayAppId,
        out_trade_no: outTradeNo,
        trade_no: `ALI${outTradeNo}`,
        total_amount: amount,
        trade_status: "TRADE_SUCCESS",
        gmt_payment: "2026-11-22 10:00:00",
        charset: "utf-8",
        version: "1.0",
        ...over,
      };
      p.sign = rsaSha256Sign(alipaySignContent(p, ["sign", "sign_type"]), keys.alipay.privateKey);
      p.sign_type = "RSA2";
      return new URLSearchParams(p).toString();
    },
    /** WeChat Pay's notification: signed headers + AES-256-GCM encrypted transaction resource. */
    wechatNotification(outTradeNo: string, totalFen: number, id = `wx-${outTradeNo}`) {
      const tx = {
        mchid: wx.mchid,
        appid: wx.appid,
        out_trade_no: outTradeNo,
        transaction_id: `WX${outTradeNo}`,
        trade_type: "NATIVE",
        trade_state: "SUCCESS",
        success_time: new Date().toISOString(),
        amount: { total: totalFen, payer_total: totalFen, currency: "CNY", payer_currency: "CNY" },
      };
      const nonce = randomBytes(6).toString("hex");
      const body = JSON.stringify({
        id,
        create_time: new Date().toISOString(),
        resource_type: "encrypt-resource",
        event_type: "TRANSACTION.SUCCESS",
        summary: "支付成功",
        resource: {
          original_type: "transaction",
          algorithm: "AEAD_AES_256_GCM",
          ciphertext: aesGcmEncrypt(wx.apiV3Key, nonce, "transaction", JSON.stringify(tx)),
          associated_data: "transaction",
          nonce,
        },
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const hn = randomBytes(8).toString("hex");
      return {
        body,
        headers: {
          "content-type": "application/json",
          "wechatpay-timestamp": ts,
          "wechatpay-nonce": hn,
          "wechatpay-serial": wx.platformSerial,
          "wechatpay-signature": rsaSha256Sign(`${ts}\n${hn}\n${body}\n`, keys.wxPlatform.privateKey),
        },
      };
    },
    /** Verifies a merchant request (requests sign every parameter but `sign`, sign_type included). */
    verifyAlipay: (params: Record<string, string>) =>
      rsaSha256Verify(alipaySignContent(params), params.sign!, keys.alipayMerchant.publicKey),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
