/** Message templates: name → body with `{param}` placeholders. Pure. */
export const TEMPLATES: Record<string, { subject?: string; body: string }> = {
  "sms-code": { subject: "Verification code", body: "【mallgraph】Your verification code is {code}. It expires in 5 minutes." },
  welcome: { subject: "Welcome to mallgraph", body: "【mallgraph】Welcome, {name}! Your account is ready." },
  "order-paid": { subject: "Order paid", body: "【mallgraph】Order {orderNo} is paid ({amount} {currency}). Thank you!" },
  "order-shipped": {
    subject: "Order shipped",
    body: "【mallgraph】Order {orderNo} has shipped with {carrier}, tracking number {trackingNo}.",
  },
  "order-cancelled": { subject: "Order cancelled", body: "【mallgraph】Order {orderNo} was cancelled." },
  "coupon-issued": { subject: "New coupon", body: "【mallgraph】You received a coupon: {title}." },
  "award-won": { subject: "You won", body: "【mallgraph】Congratulations! You won {award}." },
  "after-sale-decided": {
    subject: "After-sale request {decision}",
    body: "【mallgraph】Your after-sale request for order {orderNo} ({amount} {currency}) was {decision}. {note}",
  },
  "coupon-expiring": {
    subject: "Coupon expiring soon",
    body: "【mallgraph】Your coupon {title} expires on {expiresAt}. Use it before then!",
  },
  "prize-delivered": { subject: "Prize delivered", body: "【mallgraph】Your prize {award} has been delivered." },
  "red-envelope-received": {
    subject: "Red envelope received",
    body: "【mallgraph】You grabbed a red envelope of {amount} {currency}; it is in your wallet.",
  },
};

/** The kinds of inbox message (myMessages): the template of each, and whether it also goes out by SMS. */
export const INBOX_KINDS = {
  ORDER_PAID: { template: "order-paid", sms: false },
  ORDER_SHIPPED: { template: "order-shipped", sms: true },
  AFTER_SALE_DECIDED: { template: "after-sale-decided", sms: false },
  COUPON_EXPIRING: { template: "coupon-expiring", sms: true },
  PRIZE_DELIVERED: { template: "prize-delivered", sms: false },
  RED_ENVELOPE_RECEIVED: { template: "red-envelope-received", sms: false },
} as const satisfies Record<string, { template: keyof typeof TEMPLATES; sms: boolean }>;
export type InboxKind = keyof typeof INBOX_KINDS;

/** An inbox message of `kind`: the template's subject as title, its body without the SMS signature. */
export function renderInbox(kind: InboxKind, params: Record<string, unknown> = {}): { title: string; body: string } {
  const { subject, body } = renderTemplate(INBOX_KINDS[kind].template, params);
  return { title: subject, body: body.replace(/^【mallgraph】/, "").trim() };
}

export function renderTemplate(template: string, params: Record<string, unknown> = {}): { subject: string; body: string } {
  const t = TEMPLATES[template];
  const fill = (s: string) =>
    s.replace(/\{(\w+)\}/g, (_, k: string) => (params[k] === undefined || params[k] === null ? "" : String(params[k])));
  if (!t) {
    // Unknown template (another domain's new one): still deliver something readable.
    const pairs = Object.entries(params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    return { subject: template, body: `【mallgraph】${template}${pairs ? `: ${pairs}` : ""}` };
  }
  return { subject: fill(t.subject ?? template), body: fill(t.body) };
}
