/** Message templates: name → body with `{param}` placeholders. Pure. */
export const TEMPLATES: Record<string, { subject?: string; body: string }> = {
  "sms-code": { subject: "Verification code", body: "【mallgraph】Your verification code is {code}. It expires in 5 minutes." },
  welcome: { subject: "Welcome to mallgraph", body: "【mallgraph】Welcome, {name}! Your account is ready." },
  "order-paid": { subject: "Order paid", body: "【mallgraph】Order {orderNo} is paid ({amount} {currency}). Thank you!" },
  "order-shipped": { subject: "Order shipped", body: "【mallgraph】Order {orderNo} has shipped with {carrier}, tracking number {trackingNo}." },
  "order-cancelled": { subject: "Order cancelled", body: "【mallgraph】Order {orderNo} was cancelled." },
  "coupon-issued": { subject: "New coupon", body: "【mallgraph】You received a coupon: {title}." },
  "award-won": { subject: "You won", body: "【mallgraph】Congratulations! You won {award}." },
};

export function renderTemplate(template: string, params: Record<string, unknown> = {}): { subject: string; body: string } {
  const t = TEMPLATES[template];
  const fill = (s: string) => s.replace(/\{(\w+)\}/g, (_, k: string) => (params[k] === undefined || params[k] === null ? "" : String(params[k])));
  if (!t) {
    // Unknown template (another domain's new one): still deliver something readable.
    const pairs = Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(", ");
    return { subject: template, body: `【mallgraph】${template}${pairs ? `: ${pairs}` : ""}` };
  }
  return { subject: fill(t.subject ?? template), body: fill(t.body) };
}
