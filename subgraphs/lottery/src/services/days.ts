/** Calendar days and months of the shop (Asia/Shanghai), for quotas and sign-ins. */
const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });

/** YYYY-MM-DD in Asia/Shanghai. */
export function dayOf(ms: number): string {
  return fmt.format(new Date(ms));
}

/** YYYY-MM in Asia/Shanghai. */
export function monthOf(ms: number): string {
  return dayOf(ms).slice(0, 7);
}
