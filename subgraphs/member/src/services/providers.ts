/**
 * Message providers behind one interface. The message center (default) only records and logs —
 * the message row is what it delivers to; SMTP sends e-mail through nodemailer when SMTP_URL is set.
 */
import type { Logger } from "@mallgraph/platform/log";
import { createTransport } from "nodemailer";

export interface OutgoingMessage {
  channel: "SMS" | "EMAIL" | "PUSH" | "IN_APP";
  recipient: string;
  subject: string;
  body: string;
}

export interface MessageProvider {
  readonly name: string;
  send(msg: OutgoingMessage): Promise<void>;
}

export function messageCenterProvider(log: Logger): MessageProvider {
  return {
    name: "message-center",
    async send(msg) {
      // The body of an SMS code is the code itself: log only that a message went out.
      log.info({ channel: msg.channel, recipient: msg.recipient }, "message stored in the message center");
    },
  };
}

export function smtpProvider(smtpUrl: string, from: string): MessageProvider {
  const transport = createTransport(smtpUrl);
  return {
    name: "smtp",
    async send(msg) {
      await transport.sendMail({ from, to: msg.recipient, subject: msg.subject, text: msg.body });
    },
  };
}

/** SMS (and push/in-app) always go to the message center here; e-mail through SMTP when configured. */
export function pickProvider(
  channel: OutgoingMessage["channel"],
  providers: { center: MessageProvider; email?: MessageProvider },
): MessageProvider {
  return channel === "EMAIL" && providers.email ? providers.email : providers.center;
}
