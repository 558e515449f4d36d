import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { Member } from "./Member.ts";
import { Message } from "./Message.ts";
import { SessionEvent } from "./SessionEvent.ts";
import { InboxMessage } from "./InboxMessage.ts";

export const resolvers = { Query, Mutation, Member, Message, SessionEvent, InboxMessage };
