import { InboxMessage } from "./InboxMessage.ts";
import { Member } from "./Member.ts";
import { Message } from "./Message.ts";
import { Mutation } from "./Mutation.ts";
import { Query } from "./Query.ts";
import { SessionEvent } from "./SessionEvent.ts";

export const resolvers = { Query, Mutation, Member, Message, SessionEvent, InboxMessage };
