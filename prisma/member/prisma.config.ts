import { domainPrismaConfig } from "../config.ts";
export default domainPrismaConfig("member");
